package dev.pier.panel;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.Ports;
import dev.pier.instances.InstanceFixture;
import dev.pier.instances.TestEngine;
import dev.pier.support.Http;
import dev.pier.support.Matrix;
import dev.pier.support.Shared;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.UUID;

import static dev.pier.instances.InstanceFixture.bearer;
import static dev.pier.instances.InstanceFixture.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Panel API's instances, images and nodes (seeds/panel-api-reference.txt) with an admin's API key
 * in x-api-key, on the real engine.
 */
class PanelInstancesApiTest {
    @Shared
    static InstanceFixture pier;

    static String adminKey;
    static String managerKey;

    @BeforeAll
    static void start() {
        adminKey = key(pier.admin);
        managerKey = key(pier.manager);
    }

    /** An API key made through the API tokens family with the user's session. */
    private static String key(String session) {
        Http.Response r =
                pier.http().postJson("/api/v1/api_tokens", json("description", "panel tests"), bearer(session));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json().path("key").asText();
    }

    private static Http http() {
        return pier.http();
    }

    private static String[] admin() {
        return new String[] {"x-api-key", adminKey};
    }

    /** A Panel error: exactly {"error": message}. */
    private static String assertError(Http.Response r, int status) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        JsonNode b = r.json();
        assertThat(b.size()).as(r.body()).isEqualTo(1);
        assertThat(b.path("error").asText()).as(r.body()).isNotBlank();
        return b.path("error").asText();
    }

    private static Http.Response deleteWithBody(String path, String body, String... headers) {
        return http().send("DELETE", path, "application/json", body, headers);
    }

    /** A Panel deploy body with every documented field; {@code extra} pairs override. */
    private static String deployBody(String name, Object... extra) {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("image", InstanceFixture.QUIET_IMAGE);
        m.put("memory", "48");
        m.put("cpu", "0.5");
        m.put("ports", "");
        m.put("nodeId", pier.localNode.toString());
        m.put("name", name);
        m.put("user", pier.managerUser.user().id().toString());
        for (int i = 0; i + 1 < extra.length; i += 2) {
            m.put((String) extra[i], extra[i + 1]);
        }
        List<Object> pairs = new java.util.ArrayList<>();
        m.forEach((k, v) -> {
            pairs.add(k);
            pairs.add(v);
        });
        return json(pairs.toArray());
    }

    private static String deploy(String name, Object... extra) {
        Http.Response r = http().postJson("/api/instances/deploy", deployBody(name, extra), admin());
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        return r.json().path("Id").asText();
    }

    @Test
    void deploy_answers_201_and_publishes_tcp_and_udp_ports_with_the_variables() {
        String name = InstanceFixture.name("panel");
        int tcp = TestEngine.freeTcpPort();
        int udp = TestEngine.freeUdpPort();
        Http.Response r = http().postJson(
                        "/api/instances/deploy",
                        deployBody(
                                name,
                                "ports",
                                "80:" + tcp + ",53:" + udp + "/udp",
                                "primary",
                                "80",
                                "variables",
                                Map.of("GREETING", "hi", "COUNT", 3)),
                        admin());
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        JsonNode body = r.json();
        assertThat(body.properties()).extracting(Map.Entry::getKey).containsExactly("message", "Id", "state");
        assertThat(body.path("message").asText()).isNotBlank();
        String id = body.path("Id").asText();
        UUID.fromString(id);
        assertThat(body.path("state").asText()).isEqualTo("READY");

        InspectContainerResponse c = pier.inspectInstance(id);
        assertThat(c.getState().getRunning()).isTrue();
        assertThat(c.getHostConfig().getMemory()).isEqualTo(48L * 1024 * 1024);
        assertThat(c.getHostConfig().getNanoCPUs()).isEqualTo(500_000_000L);
        Map<ExposedPort, Ports.Binding[]> b =
                c.getHostConfig().getPortBindings().getBindings();
        assertThat(b.get(ExposedPort.tcp(80))[0].getHostPortSpec()).isEqualTo(Integer.toString(tcp));
        assertThat(b.get(ExposedPort.udp(53))[0].getHostPortSpec()).isEqualTo(Integer.toString(udp));
        assertThat(c.getConfig().getEnv()).contains("GREETING=hi", "COUNT=3");
        assertThat(c.getConfig().getLabels()).containsEntry("dev.pier.instance", id);

        // variables as a JSON string, numbers as strings or numbers
        String other =
                deploy(InstanceFixture.name("panel-str"), "memory", 32, "cpu", 1, "variables", "{\"MODE\":\"string\"}");
        assertThat(pier.inspectInstance(other).getConfig().getEnv()).contains("MODE=string");

        Http.Response got = http().postJson("/api/getInstance", json("id", id), admin());
        assertThat(got.status()).as(got.body()).isEqualTo(200);
        JsonNode i = got.json();
        assertThat(i.path("Id").asText()).isEqualTo(id);
        assertThat(i.path("Name").asText()).isEqualTo(name);
        assertThat(i.path("Node").asText()).isEqualTo(pier.localNode.toString());
        assertThat(i.path("User").asText())
                .isEqualTo(pier.managerUser.user().id().toString());
        assertThat(i.path("InternalState").asText()).isEqualTo("READY");
        assertThat(i.path("ContainerId").asText()).isEqualTo(c.getId());
        // the document's VolumeId: the data volume every family's deploy makes, mounted in the container
        assertThat(i.path("VolumeId").asText()).isEqualTo("pier-data-" + id);
        assertThat(c.getMounts())
                .anySatisfy(m -> assertThat(
                                m.getName() + " at " + m.getDestination().getPath())
                        .isEqualTo("pier-data-" + id + " at /data"));
        assertThat(i.path("Memory").asInt()).isEqualTo(48);
        assertThat(i.path("Cpu").asDouble()).isEqualTo(0.5);
        assertThat(i.path("Ports").asText()).isEqualTo("80:" + tcp + ",53:" + udp + "/udp");
        assertThat(i.path("Primary").asInt()).isEqualTo(80);
        assertThat(i.path("Image").asText()).isEqualTo(TestEngine.SLEEPER);
        assertThat(i.path("Suspended").asBoolean()).isFalse();
    }

    @Test
    void deploy_takes_a_display_name_keeps_it_and_names_the_container_dns_safe() {
        java.util.Set<String> names = new java.util.HashSet<>();
        for (String display : List.of(
                "MyServer", "Minecraft 1.21", "Minecraft 1.21", "  Übung: Straße #2 ☕ ", "!!!", "x".repeat(64))) {
            String id = deploy(display);
            String kept = display.strip();

            JsonNode panel =
                    http().postJson("/api/getInstance", json("id", id), admin()).json();
            assertThat(panel.path("Name").asText()).isEqualTo(kept);
            assertThat(http().get("/api/instances", admin()).json().findValuesAsText("Name"))
                    .contains(kept);

            JsonNode nat =
                    http().get("/api/v1/instances/" + id, bearer(pier.viewer)).json();
            String name = nat.path("name").asText();
            assertThat(nat.path("display_name").asText()).isEqualTo(kept);
            assertThat(name).matches("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?").endsWith(id.substring(0, 8));
            assertThat(names.add(name)).as("unique: %s", name).isTrue();
            // the container is named by it, so the engine's name is DNS-safe as well
            String container = pier.inspectInstance(id).getName().replaceFirst("^/", "");
            assertThat(container).matches("[a-z0-9][a-z0-9-]*").startsWith(name);
        }
        assertThat(names)
                .anySatisfy(n -> assertThat(n).startsWith("minecraft-1-21-"))
                .anySatisfy(n -> assertThat(n).startsWith("ubung-strasse-2-"))
                .anySatisfy(n -> assertThat(n).startsWith("instance-"));
        // the Matrix family keeps showing the name
        assertThat(http().get("/api/v1/droplet/list", bearer(pier.viewer))
                        .json()
                        .findValuesAsText("name"))
                .containsExactlyInAnyOrderElementsOf(names);

        int records = pier.records();
        for (Object bad :
                List.of("", "   ", "x".repeat(65), "bell\u0007", "zero\u200bwidth", "line\nbreak", 42, List.of("a"))) {
            Http.Response r = http().postJson("/api/instances/deploy", deployBody("ignored", "name", bad), admin());
            assertThat(assertError(r, 400)).as("name %s", bad).containsIgnoringCase("name");
        }
        assertThat(pier.records()).isEqualTo(records);
    }

    @Test
    void instances_lists_everything_and_getuserinstance_a_user_s_instances() {
        String mine = deploy(
                InstanceFixture.name("pa"), "user", pier.viewerUser.user().id().toString());
        String theirs = deploy(InstanceFixture.name("pb"));

        Http.Response all = http().get("/api/instances", admin());
        assertThat(all.status()).isEqualTo(200);
        assertThat(all.json().findValuesAsText("Id")).containsExactlyInAnyOrder(mine, theirs);

        Http.Response byUser = http().postJson(
                        "/api/getUserInstance",
                        json("userId", pier.viewerUser.user().id().toString()),
                        admin());
        assertThat(byUser.status()).as(byUser.body()).isEqualTo(200);
        assertThat(byUser.json().findValuesAsText("Id")).containsExactly(mine);
        Http.Response none = http().postJson(
                        "/api/getUserInstance",
                        json("userId", pier.ownerUser.user().id().toString()),
                        admin());
        assertThat(none.status()).isEqualTo(200);
        assertThat(none.json()).isEmpty();

        assertError(http().postJson("/api/getUserInstance", "{}", admin()), 400);
        assertError(
                http().postJson(
                                "/api/getUserInstance",
                                json("userId", UUID.randomUUID().toString()),
                                admin()),
                400);
        assertError(http().postJson("/api/getUserInstance", json("userId", "nobody"), admin()), 400);
        assertError(http().postJson("/api/getInstance", "{}", admin()), 400);
        assertError(
                http().postJson("/api/getInstance", json("id", UUID.randomUUID().toString()), admin()), 400);
        assertError(http().postJson("/api/getInstance", json("id", "not-an-id"), admin()), 400);
    }

    @Test
    void a_user_created_with_the_clients_own_id_is_shown_by_that_id_on_its_instances() {
        String clientId = "crm-" + UUID.randomUUID();
        Http.Response created = http().postJson(
                        "/api/auth/create-user",
                        json(
                                "userId",
                                clientId,
                                "username",
                                InstanceFixture.name("client"),
                                "email",
                                clientId + "@example.com",
                                "password",
                                "correct horse battery staple"),
                        admin());
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        String id = deploy(InstanceFixture.name("pc"), "user", clientId);

        Http.Response got = http().postJson("/api/getInstance", json("id", id), admin());
        assertThat(got.json().path("User").asText()).isEqualTo(clientId);
        Http.Response all = http().get("/api/instances", admin());
        for (JsonNode i : all.json()) {
            if (i.path("Id").asText().equals(id)) {
                assertThat(i.path("User").asText()).isEqualTo(clientId);
            }
        }
        Http.Response byUser = http().postJson("/api/getUserInstance", json("userId", clientId), admin());
        assertThat(byUser.json().findValuesAsText("User")).containsExactly(clientId);
    }

    @Test
    void suspend_stops_the_container_forbids_start_and_unsuspend_runs_it_again() {
        String name = InstanceFixture.name("ps");
        String id = deploy(name);
        String cid = pier.containersOf(id).getFirst().getId();

        Http.Response s = http().postJson("/api/instances/suspend/" + id, "{}", admin());
        assertThat(s.status()).as(s.body()).isEqualTo(201);
        assertThat(s.json().properties()).extracting(Map.Entry::getKey).containsExactly("success");
        assertThat(pier.running(cid)).isFalse();
        assertThat(http().postJson("/api/getInstance", json("id", id), admin())
                        .json()
                        .path("Suspended")
                        .asBoolean())
                .isTrue();

        // start while suspended: refused in every family, the container stays stopped
        Http.Response nativeStart = pier.action(pier.manager, id, "start");
        assertThat(nativeStart.status()).as(nativeStart.body()).isEqualTo(409);
        // the Panel's name is a display name: the Matrix family knows the instance by the name derived from it
        String dnsName = http().get("/api/v1/instances/" + id, bearer(pier.viewer))
                .json()
                .path("name")
                .asText();
        assertThat(dnsName).startsWith(name + "-");
        Matrix.assertError(
                http().send("PATCH", "/api/v1/droplet/start/" + dnsName, null, null, bearer(pier.manager)), 409, 409);
        Matrix.assertError(
                http().send("PATCH", "/api/v1/droplet/restart/" + id, null, null, bearer(pier.owner)), 409, 409);
        assertThat(pier.running(cid)).isFalse();

        Http.Response u = http().postJson("/api/instances/unsuspend/" + id, "{}", admin());
        assertThat(u.status()).as(u.body()).isEqualTo(201);
        assertThat(u.json().path("success").asText()).isNotBlank();
        assertThat(pier.running(cid)).isTrue();
        assertThat(http().postJson("/api/getInstance", json("id", id), admin())
                        .json()
                        .path("Suspended")
                        .asBoolean())
                .isFalse();

        assertError(http().postJson("/api/instances/suspend/" + UUID.randomUUID(), "{}", admin()), 400);
        assertError(http().postJson("/api/instances/unsuspend/nope", "{}", admin()), 400);
    }

    @Test
    void delete_answers_201_and_the_container_is_gone() {
        String id = deploy(InstanceFixture.name("pd"));
        String cid = pier.containersOf(id).getFirst().getId();

        Http.Response r = deleteWithBody("/api/instance/delete", json("id", id), admin());
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        assertThat(r.json().path("message").asText()).isNotBlank();
        assertThat(TestEngine.inspect(pier.docker, cid)).isEmpty();
        assertThat(pier.records()).isZero();

        assertError(deleteWithBody("/api/instance/delete", json("id", id), admin()), 400);
        assertError(deleteWithBody("/api/instance/delete", "{}", admin()), 400);
        assertError(deleteWithBody("/api/instance/delete", json("id", "x"), admin()), 400);
    }

    @Test
    void deploy_with_missing_parameters_is_a_400_and_creates_nothing() {
        Map<String, Object> full = Map.of(
                "image",
                InstanceFixture.QUIET_IMAGE,
                "memory",
                "32",
                "cpu",
                "1",
                "nodeId",
                pier.localNode.toString(),
                "name",
                "missing",
                "user",
                pier.managerUser.user().id().toString());
        for (String field : full.keySet()) {
            List<Object> pairs = new java.util.ArrayList<>();
            full.forEach((k, v) -> {
                if (!k.equals(field)) {
                    pairs.add(k);
                    pairs.add(v);
                }
            });
            Http.Response r = http().postJson("/api/instances/deploy", json(pairs.toArray()), admin());
            assertError(r, 400);
        }
        assertError(http().postJson("/api/instances/deploy", "{}", admin()), 400);
        assertError(http().postJson("/api/instances/deploy", "{oops", admin()), 400);
        // unknown user and unknown node
        assertError(
                http().postJson(
                                "/api/instances/deploy",
                                deployBody("nouser", "user", UUID.randomUUID().toString()),
                                admin()),
                400);
        assertError(
                http().postJson(
                                "/api/instances/deploy",
                                deployBody("nonode", "nodeId", UUID.randomUUID().toString()),
                                admin()),
                400);
        assertError(http().postJson("/api/instances/deploy", deployBody("badmem", "memory", "lots"), admin()), 400);
        assertThat(pier.records()).isZero();
        assertThat(pier.containers()).isEmpty();
    }

    @Test
    void only_admin_keys_are_accepted() {
        String id = deploy(InstanceFixture.name("pk"));
        String[] manager = {"x-api-key", managerKey};
        assertError(http().get("/api/instances", manager), 403);
        assertError(http().postJson("/api/instances/deploy", deployBody(InstanceFixture.name("pm")), manager), 403);
        assertError(http().postJson("/api/getInstance", json("id", id), manager), 403);
        assertError(http().postJson("/api/instances/suspend/" + id, "{}", manager), 403);
        assertError(deleteWithBody("/api/instance/delete", json("id", id), manager), 403);
        assertError(http().get("/api/nodes", manager), 403);
        assertError(http().get("/api/images", manager), 403);
        assertThat(assertError(http().get("/api/instances"), 401)).isEqualTo("API key is required");
        assertThat(assertError(http().get("/api/instances", "x-api-key", "pier_nonsense"), 401))
                .isEqualTo("API Key Invalid");
        assertThat(pier.records()).isEqualTo(1);
        assertThat(pier.running(pier.containersOf(id).getFirst().getId())).isTrue();
    }

    @Test
    void images_and_nodes_are_listed_in_the_panel_shapes() {
        Http.Response images = http().get("/api/images", admin());
        assertThat(images.status()).isEqualTo(200);
        JsonNode sleeper = null;
        for (JsonNode i : images.json()) {
            assertThat(i.has("Id")).isTrue();
            assertThat(i.has("Name")).isTrue();
            assertThat(i.has("Image")).isTrue();
            if (i.path("Name").asText().equals(InstanceFixture.DEFAULT_IMAGE)) {
                sleeper = i;
            }
        }
        assertThat(sleeper).isNotNull();
        assertThat(sleeper.path("Image").asText()).isEqualTo(TestEngine.SLEEPER);
        assertThat(sleeper.path("Stdin").isBoolean()).isTrue();
        assertThat(sleeper.path("Stdin").asBoolean()).isFalse();

        Http.Response nodes = http().get("/api/nodes", admin());
        assertThat(nodes.status()).isEqualTo(200);
        assertThat(nodes.json()).hasSize(1);
        JsonNode local = nodes.json().get(0);
        assertThat(local.properties())
                .extracting(Map.Entry::getKey)
                .contains("id", "name", "tags", "ram", "disk", "processor", "address", "port", "status");
        assertThat(local.path("id").asText()).isEqualTo(pier.localNode.toString());
        assertThat(local.path("name").asText()).isEqualTo("local");
        assertThat(local.path("status").asText()).isEqualTo("online");
        assertThat(local.path("ram").asLong()).isPositive();
        assertThat(nodes.body()).doesNotContainIgnoringCase("tls_key").doesNotContain("PRIVATE KEY");
    }

    @Test
    void nodes_create_and_delete_and_a_node_with_instances_is_not_deleted() {
        Http.Response created = http().postJson(
                        "/api/nodes/create",
                        json(
                                "name",
                                "edge",
                                "tags",
                                "eu,test",
                                "ram",
                                "2048",
                                "disk",
                                "10240",
                                "processor",
                                "test cpu",
                                "address",
                                "127.0.0.1",
                                "port",
                                "1"),
                        admin());
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        JsonNode n = created.json();
        assertThat(n.path("name").asText()).isEqualTo("edge");
        assertThat(n.path("tags").asText()).isEqualTo("eu,test");
        assertThat(n.path("ram").asLong()).isEqualTo(2048);
        assertThat(n.path("disk").asLong()).isEqualTo(10240);
        assertThat(n.path("address").asText()).isEqualTo("127.0.0.1");
        assertThat(n.path("port").asInt()).isEqualTo(1);
        // nothing listens on 127.0.0.1:1
        assertThat(n.path("status").asText()).isEqualTo("offline");
        assertThat(http().get("/api/nodes", admin()).json().findValuesAsText("name"))
                .contains("local", "edge");

        assertError(
                http().postJson(
                                "/api/nodes/create",
                                json("name", "edge", "ram", "1", "disk", "1", "address", "127.0.0.1", "port", "2"),
                                admin()),
                409);
        assertError(http().postJson("/api/nodes/create", json("name", "half"), admin()), 400);
        assertError(
                http().postJson(
                                "/api/nodes/create",
                                json(
                                        "name",
                                        "badport",
                                        "ram",
                                        "1",
                                        "disk",
                                        "1",
                                        "address",
                                        "127.0.0.1",
                                        "port",
                                        "70000"),
                                admin()),
                400);
        assertError(
                http().postJson(
                                "/api/nodes/create",
                                json("name", "badram", "ram", "lots", "disk", "1", "address", "127.0.0.1", "port", "2"),
                                admin()),
                400);

        Http.Response deleted =
                deleteWithBody("/api/nodes/delete", json("nodeId", n.path("id").asText()), admin());
        assertThat(deleted.status()).as(deleted.body()).isEqualTo(201);
        assertThat(http().get("/api/nodes", admin()).json().findValuesAsText("name"))
                .doesNotContain("edge");
        assertError(
                deleteWithBody("/api/nodes/delete", json("nodeId", n.path("id").asText()), admin()), 400);
        assertError(deleteWithBody("/api/nodes/delete", "{}", admin()), 400);

        // the local node holds an instance: refused, with a message that says why
        String id = deploy(InstanceFixture.name("anchor"));
        String why = assertError(
                deleteWithBody("/api/nodes/delete", json("nodeId", pier.localNode.toString()), admin()), 409);
        assertThat(why).contains("local").contains("1 instance");
        assertThat(http().get("/api/nodes", admin()).json().findValuesAsText("name"))
                .contains("local");
        assertThat(pier.running(pier.containersOf(id).getFirst().getId())).isTrue();
    }
}
