package dev.pier.droplets;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.Ports;
import dev.pier.instances.InstanceFixture;
import dev.pier.instances.TestEngine;
import dev.pier.support.Http;
import dev.pier.support.Matrix;
import dev.pier.support.Shared;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static dev.pier.instances.InstanceFixture.bearer;
import static dev.pier.instances.InstanceFixture.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The Matrix API's droplets on the real Docker engine: the document's shapes, checked against Docker's own view. */
class DropletsApiTest {
    @Shared
    static InstanceFixture pier;

    private static Http http() {
        return pier.http();
    }

    private static JsonNode find(JsonNode list, String name) {
        for (JsonNode d : list) {
            if (d.path("name").asText().equals(name)) {
                return d;
            }
        }
        throw new AssertionError("droplet " + name + " not in " + list);
    }

    private static JsonNode listOk(Http.Response r) {
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.json().isArray()).as(r.body()).isTrue();
        return r.json();
    }

    @Test
    void add_without_a_body_deploys_the_default_image_under_a_generated_dns_safe_name() {
        JsonNode list = listOk(http().send("POST", "/api/v1/droplet/add", null, null, bearer(pier.manager)));

        assertThat(list).hasSize(1);
        JsonNode d = list.get(0);
        String name = d.path("name").asText();
        assertThat(name).matches("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
        UUID id = UUID.fromString(d.path("id").asText());
        assertThat(d.path("status").asText()).isEqualTo("running");
        assertThat(d.path("image").asText()).isEqualTo(TestEngine.SLEEPER);
        assertThat(d.path("created").asText()).isNotBlank();
        // the default image publishes 80 on a host port Pier picked
        JsonNode p80 = d.path("ports").path("80");
        assertThat(p80.path("type").asText()).isEqualTo("tcp");
        assertThat(p80.path("from").path("ip").asText()).isEqualTo("0.0.0.0");
        int host = p80.path("from").path("port").asInt();
        assertThat(host).isBetween(1, 65535);

        InspectContainerResponse c = pier.inspectInstance(id.toString());
        assertThat(c.getState().getRunning()).isTrue();
        assertThat(c.getConfig().getImage()).isEqualTo(TestEngine.SLEEPER);
        Ports.Binding[] b = c.getHostConfig().getPortBindings().getBindings().get(ExposedPort.tcp(80));
        assertThat(b).hasSize(1);
        assertThat(b[0].getHostPortSpec()).isEqualTo(Integer.toString(host));

        // a JSON body of {} and an empty form are "no body" too
        listOk(http().postJson("/api/v1/droplet/add", "{}", bearer(pier.manager)));
        listOk(http().postForm("/api/v1/droplet/add", "", bearer(pier.manager)));
        JsonNode all = listOk(http().get("/api/v1/droplet/list", bearer(pier.viewer)));
        assertThat(all).hasSize(3);
        assertThat(all.findValuesAsText("name")).doesNotHaveDuplicates();
        assertThat(pier.containers()).hasSize(3);
    }

    @Test
    void add_with_every_field_creates_a_hardened_container_with_limits_ports_and_variables() {
        String name = InstanceFixture.name("full");
        int tcp = TestEngine.freeTcpPort();
        int udp = TestEngine.freeUdpPort();
        JsonNode list = listOk(http().postJson(
                        "/api/v1/droplet/add",
                        json(
                                "name",
                                name,
                                "image",
                                InstanceFixture.QUIET_IMAGE,
                                "memory",
                                48,
                                "cpu",
                                0.5,
                                "ports",
                                "80:" + tcp + ",53:" + udp + "/udp",
                                "variables",
                                Map.of("GREETING", "hello world", "EMPTY", "", "N", "42")),
                        bearer(pier.manager)));

        JsonNode d = find(list, name);
        assertThat(d.path("status").asText()).isEqualTo("running");
        assertThat(d.path("memory").asInt()).isEqualTo(48);
        assertThat(d.path("cpu").asDouble()).isEqualTo(0.5);
        assertThat(d.path("ports").path("80"))
                .isEqualTo(pierTree("{\"type\":\"tcp\",\"from\":{\"ip\":\"0.0.0.0\",\"port\":" + tcp + "}}"));
        assertThat(d.path("ports").path("53/udp").path("type").asText()).isEqualTo("udp");
        assertThat(d.path("ports").path("53/udp").path("from").path("port").asInt())
                .isEqualTo(udp);

        InspectContainerResponse c = pier.inspectInstance(d.path("id").asText());
        Map<String, String> labels = c.getConfig().getLabels();
        assertThat(labels)
                .containsEntry("dev.pier.managed", "true")
                .containsEntry("dev.pier.instance", d.path("id").asText())
                .containsEntry(TestEngine.INSTALLATION_LABEL, pier.installation.toString());
        HostConfig h = c.getHostConfig();
        assertThat(h.getMemory()).isEqualTo(48L * 1024 * 1024);
        assertThat(h.getNanoCPUs()).isEqualTo(500_000_000L);
        assertThat(h.getPidsLimit()).isNotNull().isPositive();
        assertThat(h.getInit()).isTrue();
        assertThat(h.getSecurityOpts()).contains("no-new-privileges");
        assertThat(h.getCapDrop()).extracting(Enum::name).containsExactly("ALL");
        assertThat(h.getCapAdd()).isNullOrEmpty();
        assertThat(h.getPrivileged()).isFalse();
        assertThat(h.getBinds()).isNullOrEmpty();
        // one mount: the instance's own data volume, read-write at the image's data path; nothing of the host's
        String volume = "pier-data-" + d.path("id").asText();
        assertThat(h.getMounts()).hasSize(1);
        assertThat(h.getMounts().getFirst().getType().name()).isEqualTo("VOLUME");
        assertThat(h.getMounts().getFirst().getSource()).isEqualTo(volume);
        assertThat(c.getMounts()).hasSize(1);
        assertThat(c.getMounts().getFirst().getName()).isEqualTo(volume);
        assertThat(c.getMounts().getFirst().getDestination().getPath()).isEqualTo("/data");
        assertThat(h.getNetworkMode()).isNotEqualTo("host").doesNotStartWith("container:");
        assertThat(h.getPidMode()).isNullOrEmpty();
        assertThat(h.getIpcMode()).isNotEqualTo("host");
        assertThat(h.getDevices()).isNullOrEmpty();
        Map<ExposedPort, Ports.Binding[]> bindings = h.getPortBindings().getBindings();
        assertThat(bindings.get(ExposedPort.tcp(80))[0].getHostPortSpec()).isEqualTo(Integer.toString(tcp));
        assertThat(bindings.get(ExposedPort.udp(53))[0].getHostPortSpec()).isEqualTo(Integer.toString(udp));
        assertThat(c.getConfig().getEnv()).contains("GREETING=hello world", "EMPTY=", "N=42");
        assertThat(c.getState().getRunning()).isTrue();
        assertThat(c.getName()).contains(name);
    }

    private static JsonNode pierTree(String s) {
        try {
            return dev.pier.http.Json.MAPPER.readTree(s);
        } catch (Exception e) {
            throw new IllegalArgumentException(e);
        }
    }

    @Test
    void stop_start_restart_and_delete_by_name_and_by_id_each_answer_with_the_list() {
        String a = InstanceFixture.name("life-a");
        String b = InstanceFixture.name("life-b");
        listOk(http().postJson(
                        "/api/v1/droplet/add",
                        json("name", a, "image", InstanceFixture.QUIET_IMAGE),
                        bearer(pier.manager)));
        JsonNode list = listOk(http().postJson(
                        "/api/v1/droplet/add",
                        json("name", b, "image", InstanceFixture.QUIET_IMAGE),
                        bearer(pier.manager)));
        String idB = find(list, b).path("id").asText();
        String idA = find(list, a).path("id").asText();
        String cidA = pier.containersOf(idA).getFirst().getId();
        String cidB = pier.containersOf(idB).getFirst().getId();

        // by name
        list = listOk(http().send("PATCH", "/api/v1/droplet/stop/" + a, null, null, bearer(pier.manager)));
        assertThat(find(list, a).path("status").asText()).isEqualTo("stopped");
        assertThat(find(list, b).path("status").asText()).isEqualTo("running");
        assertThat(pier.running(cidA)).isFalse();
        assertThat(pier.running(cidB)).isTrue();

        list = listOk(http().send("PATCH", "/api/v1/droplet/start/" + a, null, null, bearer(pier.manager)));
        assertThat(find(list, a).path("status").asText()).isEqualTo("running");
        assertThat(pier.running(cidA)).isTrue();

        String startedBefore =
                pier.docker.inspectContainerCmd(cidA).exec().getState().getStartedAt();
        list = listOk(http().send("PATCH", "/api/v1/droplet/restart/" + a, null, null, bearer(pier.manager)));
        assertThat(find(list, a).path("status").asText()).isEqualTo("running");
        InspectContainerResponse restarted =
                pier.docker.inspectContainerCmd(cidA).exec();
        assertThat(restarted.getState().getRunning()).isTrue();
        assertThat(restarted.getState().getStartedAt()).isNotEqualTo(startedBefore);

        // by id
        list = listOk(http().send("PATCH", "/api/v1/droplet/stop/" + idB, null, null, bearer(pier.manager)));
        assertThat(find(list, b).path("status").asText()).isEqualTo("stopped");
        assertThat(pier.running(cidB)).isFalse();
        list = listOk(http().send("PATCH", "/api/v1/droplet/start/" + idB, null, null, bearer(pier.manager)));
        assertThat(find(list, b).path("status").asText()).isEqualTo("running");
        assertThat(pier.running(cidB)).isTrue();
        listOk(http().send("PATCH", "/api/v1/droplet/restart/" + idB, null, null, bearer(pier.manager)));
        assertThat(pier.running(cidB)).isTrue();

        list = listOk(http().delete("/api/v1/droplet/delete/" + a, bearer(pier.manager)));
        assertThat(list.findValuesAsText("name")).containsExactly(b);
        assertThat(TestEngine.inspect(pier.docker, cidA))
                .as("container of %s after delete", a)
                .isEmpty();

        list = listOk(http().delete("/api/v1/droplet/delete/" + idB, bearer(pier.manager)));
        assertThat(list).isEmpty();
        assertThat(TestEngine.inspect(pier.docker, cidB)).isEmpty();
        assertThat(pier.containers()).isEmpty();
        assertThat(pier.records()).isZero();
    }

    @Test
    void a_viewer_lists_droplets_but_may_not_add_or_act_on_them() {
        String name = InstanceFixture.name("seen");
        listOk(http().postJson(
                        "/api/v1/droplet/add",
                        json("name", name, "image", InstanceFixture.QUIET_IMAGE),
                        bearer(pier.manager)));

        JsonNode list = listOk(http().get("/api/v1/droplet/list", bearer(pier.viewer)));
        assertThat(list.findValuesAsText("name")).containsExactly(name);

        int before = pier.containers().size();
        Matrix.assertError(http().send("POST", "/api/v1/droplet/add", null, null, bearer(pier.viewer)), 403, 912);
        Matrix.assertError(
                http().postJson("/api/v1/droplet/add", json("name", InstanceFixture.name("nope")), bearer(pier.viewer)),
                403,
                912);
        Matrix.assertError(
                http().send("PATCH", "/api/v1/droplet/stop/" + name, null, null, bearer(pier.viewer)), 403, 912);
        Matrix.assertError(http().delete("/api/v1/droplet/delete/" + name, bearer(pier.viewer)), 403, 912);
        assertThat(pier.containers()).hasSize(before);
        assertThat(pier.records()).isEqualTo(1);
        String cid =
                pier.containersOf(list.get(0).path("id").asText()).getFirst().getId();
        assertThat(pier.running(cid)).isTrue();

        // no credential at all
        assertThat(http().get("/api/v1/droplet/list").status()).isEqualTo(401);
    }

    @Test
    void an_unknown_droplet_is_a_404_in_the_matrix_shape() {
        for (String path : List.of("/api/v1/droplet/stop/", "/api/v1/droplet/start/", "/api/v1/droplet/restart/")) {
            Matrix.assertError(
                    http().send("PATCH", path + "no-such-droplet", null, null, bearer(pier.manager)), 404, 404);
            Matrix.assertError(
                    http().send("PATCH", path + UUID.randomUUID(), null, null, bearer(pier.manager)), 404, 404);
        }
        Matrix.assertError(http().delete("/api/v1/droplet/delete/no-such-droplet", bearer(pier.manager)), 404, 404);
        Matrix.assertError(
                http().delete("/api/v1/droplet/delete/" + UUID.randomUUID(), bearer(pier.manager)), 404, 404);
    }

    @Test
    void bad_input_to_add_is_a_400_in_the_matrix_shape_and_creates_nothing() {
        for (String body : List.of(
                json("name", "Upper"),
                json("memory", "lots"),
                json("cpu", 0),
                json("ports", "abc"),
                json("variables", List.of("A=1")),
                json("image", "no-such-image"),
                "{not json",
                "[1,2]")) {
            Http.Response r = http().postJson("/api/v1/droplet/add", body, bearer(pier.manager));
            Matrix.assertError(r, 400, 400);
        }
        assertThat(pier.records()).isZero();
        assertThat(pier.containers()).isEmpty();
    }

    @Test
    void a_droplet_killed_behind_pier_s_back_shows_running_again_in_the_list() {
        String name = InstanceFixture.name("phoenix");
        JsonNode list = listOk(http().postJson(
                        "/api/v1/droplet/add",
                        json("name", name, "image", InstanceFixture.QUIET_IMAGE),
                        bearer(pier.manager)));
        String cid = pier.containersOf(find(list, name).path("id").asText())
                .getFirst()
                .getId();
        String startedAt =
                pier.docker.inspectContainerCmd(cid).exec().getState().getStartedAt();

        pier.docker.killContainerCmd(cid).exec();

        await().atMost(Duration.ofSeconds(10))
                .until(() -> pier.running(cid)
                        && !pier.docker
                                .inspectContainerCmd(cid)
                                .exec()
                                .getState()
                                .getStartedAt()
                                .equals(startedAt));
        await().atMost(Duration.ofSeconds(5))
                .until(() -> find(listOk(http().get("/api/v1/droplet/list", bearer(pier.viewer))), name)
                        .path("status")
                        .asText()
                        .equals("running"));
    }
}
