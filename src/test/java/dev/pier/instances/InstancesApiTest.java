package dev.pier.instances;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.command.InspectContainerResponse;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static dev.pier.instances.InstanceFixture.bearer;
import static dev.pier.instances.InstanceFixture.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The native instances API under /api/v1/instances on the real engine: resources, paging, actions, logs. */
class InstancesApiTest {
    @Shared
    static InstanceFixture pier;

    private static Http http() {
        return pier.http();
    }

    static String assertProblem(Http.Response r, int status) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.header("Content-Type")).startsWith("application/problem+json");
        assertThat(r.json().path("status").asInt()).isEqualTo(status);
        assertThat(r.json().path("detail").asText()).isNotBlank();
        return r.json().path("detail").asText();
    }

    private static JsonNode list(String query) {
        Http.Response r = http().get("/api/v1/instances" + query, bearer(pier.viewer));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json();
    }

    @Test
    void create_answers_201_with_the_instance_and_get_reads_it_back() {
        String name = InstanceFixture.name("native");
        int port = TestEngine.freeTcpPort();
        Http.Response r = http().postJson(
                        "/api/v1/instances",
                        json(
                                "name",
                                name,
                                "image",
                                InstanceFixture.QUIET_IMAGE,
                                "memory_mib",
                                40,
                                "cpu",
                                0.25,
                                "ports",
                                "80:" + port,
                                "primary_port",
                                80,
                                "variables",
                                Map.of("COLOR", "blue"),
                                "owner_id",
                                pier.viewerUser.user().id().toString()),
                        bearer(pier.manager));
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        JsonNode i = r.json();
        String id = i.path("id").asText();
        assertThat(i.path("name").asText()).isEqualTo(name);
        assertThat(i.path("node").asText()).isEqualTo("local");
        assertThat(i.path("node_id").asText()).isEqualTo(pier.localNode.toString());
        assertThat(i.path("owner_id").asText())
                .isEqualTo(pier.viewerUser.user().id().toString());
        assertThat(i.path("image").asText()).isEqualTo(TestEngine.SLEEPER);
        assertThat(i.path("memory_mib").asInt()).isEqualTo(40);
        assertThat(i.path("cpu").asDouble()).isEqualTo(0.25);
        assertThat(i.path("ports")).hasSize(1);
        assertThat(i.path("ports").get(0).path("container_port").asInt()).isEqualTo(80);
        assertThat(i.path("ports").get(0).path("host_port").asInt()).isEqualTo(port);
        assertThat(i.path("ports").get(0).path("protocol").asText()).isEqualTo("tcp");
        assertThat(i.path("primary_port").asInt()).isEqualTo(80);
        assertThat(i.path("variables").path("COLOR").asText()).isEqualTo("blue");
        assertThat(i.path("desired_state").asText()).isEqualTo("running");
        assertThat(i.path("observed_state").asText()).isEqualTo("running");
        assertThat(i.path("suspended").asBoolean()).isFalse();
        String cid = i.path("container_id").asText();
        assertThat(cid).isNotBlank();

        InspectContainerResponse c = pier.docker.inspectContainerCmd(cid).exec();
        assertThat(c.getState().getRunning()).isTrue();
        assertThat(c.getConfig().getLabels()).containsEntry("dev.pier.instance", id);
        assertThat(c.getHostConfig().getMemory()).isEqualTo(40L * 1024 * 1024);
        assertThat(c.getHostConfig().getNanoCPUs()).isEqualTo(250_000_000L);
        assertThat(c.getConfig().getEnv()).contains("COLOR=blue");

        Http.Response got = http().get("/api/v1/instances/" + id, bearer(pier.viewer));
        assertThat(got.status()).isEqualTo(200);
        assertThat(got.json().path("id").asText()).isEqualTo(id);
        assertThat(got.json().path("container_id").asText()).isEqualTo(cid);

        assertProblem(http().get("/api/v1/instances/" + UUID.randomUUID(), bearer(pier.viewer)), 404);
        assertProblem(http().get("/api/v1/instances/not-a-uuid", bearer(pier.viewer)), 404);
        assertProblem(
                http().postJson("/api/v1/instances", json("name", InstanceFixture.name("v")), bearer(pier.viewer)),
                403);
        assertThat(http().get("/api/v1/instances").status()).isEqualTo(401);
    }

    @Test
    void stdin_comes_from_the_image_or_the_request_and_opens_the_containers_stdin() {
        String image = InstanceFixture.name("console");
        Http.Response img = http().postJson(
                        "/api/v1/images",
                        json("name", image, "reference", TestEngine.SLEEPER, "stdin", true),
                        bearer(pier.admin));
        assertThat(img.status()).as(img.body()).isEqualTo(201);

        JsonNode fromImage =
                pier.deploy(pier.manager, "name", InstanceFixture.name("stdin"), "image", image, "memory_mib", 32);
        assertThat(fromImage.path("stdin").asBoolean()).isTrue();
        InspectContainerResponse open =
                pier.inspectInstance(fromImage.path("id").asText());
        assertThat(open.getConfig().getStdinOpen()).isTrue();
        assertThat(open.getConfig().getStdInOnce()).isFalse();
        assertThat(open.getConfig().getTty()).isFalse();

        JsonNode plain = pier.deployQuiet("nostdin");
        assertThat(plain.path("stdin").isBoolean()).isTrue();
        assertThat(plain.path("stdin").asBoolean()).isFalse();
        assertThat(pier.inspectInstance(plain.path("id").asText()).getConfig().getStdinOpen())
                .isFalse();

        // the request's field wins over the image's
        JsonNode closed = pier.deploy(
                pier.manager, "name", InstanceFixture.name("closed"), "image", image, "memory_mib", 32, "stdin", false);
        assertThat(closed.path("stdin").asBoolean()).isFalse();
        assertThat(pier.inspectInstance(closed.path("id").asText()).getConfig().getStdinOpen())
                .isFalse();
        JsonNode opened = pier.deploy(
                pier.manager,
                "name",
                InstanceFixture.name("opened"),
                "image",
                InstanceFixture.QUIET_IMAGE,
                "memory_mib",
                32,
                "stdin",
                true);
        assertThat(opened.path("stdin").asBoolean()).isTrue();
        assertThat(pier.inspectInstance(opened.path("id").asText()).getConfig().getStdinOpen())
                .isTrue();

        // fixed at deploy: the image's later change or removal does not touch it, nor does a recreated container
        String imageId = img.json().path("id").asText();
        assertThat(http().delete("/api/v1/images/" + imageId, bearer(pier.admin))
                        .status())
                .isEqualTo(204);
        String id = fromImage.path("id").asText();
        assertThat(http().get("/api/v1/instances/" + id, bearer(pier.viewer))
                        .json()
                        .path("stdin")
                        .asBoolean())
                .isTrue();
        pier.docker
                .removeContainerCmd(fromImage.path("container_id").asText())
                .withForce(true)
                .exec();
        pier.awaitConverged(() -> {
            List<com.github.dockerjava.api.model.Container> cs = pier.containersOf(id);
            assertThat(cs).hasSize(1);
            assertThat(cs.getFirst().getState()).isEqualTo("running");
        });
        assertThat(pier.inspectInstance(id).getConfig().getStdinOpen()).isTrue();

        // only the native API shows it: the Matrix droplets keep their shape
        Http.Response droplets = http().get("/api/v1/droplet/list", bearer(pier.viewer));
        assertThat(droplets.status()).as(droplets.body()).isEqualTo(200);
        assertThat(droplets.json()).isNotEmpty();
        for (JsonNode d : droplets.json()) {
            assertThat(d.has("stdin")).as(d.toString()).isFalse();
        }
    }

    @Test
    void the_list_pages_with_limit_and_offset_and_filters_by_node_owner_and_state() {
        String viewerId = pier.viewerUser.user().id().toString();
        JsonNode a = pier.deploy(
                pier.manager,
                "name",
                InstanceFixture.name("la"),
                "image",
                InstanceFixture.QUIET_IMAGE,
                "memory_mib",
                32,
                "owner_id",
                viewerId);
        JsonNode b = pier.deploy(
                pier.manager,
                "name",
                InstanceFixture.name("lb"),
                "image",
                InstanceFixture.QUIET_IMAGE,
                "memory_mib",
                32);
        JsonNode c = pier.deploy(
                pier.manager,
                "name",
                InstanceFixture.name("lc"),
                "image",
                InstanceFixture.QUIET_IMAGE,
                "memory_mib",
                32,
                "owner_id",
                viewerId);
        assertThat(pier.action(pier.manager, c.path("id").asText(), "stop").status())
                .isEqualTo(200);

        JsonNode all = list("");
        assertThat(all.path("total").asInt()).isEqualTo(3);
        assertThat(all.path("limit").asInt()).isEqualTo(50);
        assertThat(all.path("offset").asInt()).isEqualTo(0);
        List<String> ids = all.path("items").findValuesAsText("id");
        assertThat(ids)
                .containsExactly(
                        a.path("id").asText(),
                        b.path("id").asText(),
                        c.path("id").asText());

        JsonNode first = list("?limit=2&offset=0");
        assertThat(first.path("items")).hasSize(2);
        assertThat(first.path("total").asInt()).isEqualTo(3);
        JsonNode second = list("?limit=2&offset=2");
        assertThat(second.path("items")).hasSize(1);
        assertThat(second.path("items").get(0).path("id").asText()).isEqualTo(ids.get(2));
        assertThat(list("?offset=3").path("items")).isEmpty();

        assertThat(list("?owner=" + viewerId).path("items").findValuesAsText("id"))
                .containsExactly(a.path("id").asText(), c.path("id").asText());
        assertThat(list("?owner=" + pier.managerUser.user().id()).path("items").findValuesAsText("id"))
                .containsExactly(b.path("id").asText());
        assertThat(list("?state=stopped").path("items").findValuesAsText("id"))
                .containsExactly(c.path("id").asText());
        assertThat(list("?state=running&limit=1").path("total").asInt()).isEqualTo(2);
        assertThat(list("?node=local").path("total").asInt()).isEqualTo(3);
        assertThat(list("?node=" + pier.localNode).path("total").asInt()).isEqualTo(3);
        assertThat(list("?node=local&owner=" + viewerId + "&state=running")
                        .path("items")
                        .findValuesAsText("id"))
                .containsExactly(a.path("id").asText());

        assertProblem(http().get("/api/v1/instances?limit=0", bearer(pier.viewer)), 400);
        assertProblem(http().get("/api/v1/instances?limit=501", bearer(pier.viewer)), 400);
        assertProblem(http().get("/api/v1/instances?limit=ten", bearer(pier.viewer)), 400);
        assertProblem(http().get("/api/v1/instances?offset=-1", bearer(pier.viewer)), 400);
        assertProblem(http().get("/api/v1/instances?node=nowhere", bearer(pier.viewer)), 404);
        assertProblem(http().get("/api/v1/instances?owner=nobody", bearer(pier.viewer)), 404);
    }

    @Test
    void actions_start_stop_restart_and_kill_drive_the_container() {
        JsonNode i = pier.deployQuiet("act");
        String id = i.path("id").asText();
        String cid = i.path("container_id").asText();

        Http.Response stop = pier.action(pier.manager, id, "stop");
        assertThat(stop.status()).as(stop.body()).isEqualTo(200);
        assertThat(stop.json().path("desired_state").asText()).isEqualTo("stopped");
        assertThat(stop.json().path("observed_state").asText()).isEqualTo("stopped");
        assertThat(pier.running(cid)).isFalse();
        // SIGTERM reached the process through the container's init: no 10 s wait for the kill
        assertThat(pier.docker.inspectContainerCmd(cid).exec().getState().getExitCodeLong())
                .isEqualTo(143L);

        Http.Response start = pier.action(pier.manager, id, "START");
        assertThat(start.status()).as(start.body()).isEqualTo(200);
        assertThat(start.json().path("observed_state").asText()).isEqualTo("running");
        assertThat(pier.running(cid)).isTrue();

        String startedAt =
                pier.docker.inspectContainerCmd(cid).exec().getState().getStartedAt();
        Http.Response restart = pier.action(pier.manager, id, "restart");
        assertThat(restart.status()).as(restart.body()).isEqualTo(200);
        assertThat(pier.running(cid)).isTrue();
        assertThat(pier.docker.inspectContainerCmd(cid).exec().getState().getStartedAt())
                .isNotEqualTo(startedAt);

        Http.Response kill = pier.action(pier.manager, id, "kill");
        assertThat(kill.status()).as(kill.body()).isEqualTo(200);
        assertThat(kill.json().path("desired_state").asText()).isEqualTo("stopped");
        // the engine answers a kill once the signal is sent; the process dies just after
        await().atMost(Duration.ofSeconds(5)).until(() -> !pier.running(cid));
        assertThat(pier.docker.inspectContainerCmd(cid).exec().getState().getExitCodeLong())
                .isEqualTo(137L);
        // desired stopped: neither a pass nor the die event brings a killed container back
        pier.server.core().reconciler.passAll();
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> !pier.running(cid));

        // stopping a stopped instance is fine
        assertThat(pier.action(pier.manager, id, "stop").status()).isEqualTo(200);
        assertThat(pier.containersOf(id)).hasSize(1);

        assertProblem(pier.action(pier.manager, id, "explode"), 400);
        assertProblem(http().postJson("/api/v1/instances/" + id + "/actions", "{}", bearer(pier.manager)), 400);
        assertProblem(
                http().postJson("/api/v1/instances/" + id + "/actions", json("type", 3), bearer(pier.manager)), 400);
        assertProblem(pier.action(pier.manager, UUID.randomUUID().toString(), "start"), 404);
        assertProblem(pier.action(pier.viewer, id, "start"), 403);
        assertThat(pier.running(cid)).isFalse();
    }

    @Test
    void suspend_needs_an_admin_stops_the_container_and_blocks_start_until_unsuspended() {
        JsonNode i = pier.deployQuiet("susp");
        String id = i.path("id").asText();
        String cid = i.path("container_id").asText();

        assertProblem(pier.action(pier.manager, id, "suspend"), 403);
        assertThat(pier.running(cid)).isTrue();

        Http.Response s = pier.action(pier.admin, id, "suspend");
        assertThat(s.status()).as(s.body()).isEqualTo(200);
        assertThat(s.json().path("suspended").asBoolean()).isTrue();
        assertThat(pier.running(cid)).isFalse();

        String detail = assertProblem(pier.action(pier.manager, id, "start"), 409);
        assertThat(detail).contains("suspended");
        assertProblem(pier.action(pier.owner, id, "restart"), 409);
        assertThat(pier.running(cid)).isFalse();
        // the reconciler does not bring a suspended instance back either
        pier.server.core().reconciler.passAll();
        assertThat(pier.running(cid)).isFalse();
        assertThat(list("?state=suspended").path("items").findValuesAsText("id"))
                .containsExactly(id);

        assertProblem(pier.action(pier.manager, id, "unsuspend"), 403);
        Http.Response u = pier.action(pier.admin, id, "unsuspend");
        assertThat(u.status()).as(u.body()).isEqualTo(200);
        assertThat(u.json().path("suspended").asBoolean()).isFalse();
        assertThat(u.json().path("observed_state").asText()).isEqualTo("running");
        assertThat(pier.running(cid)).isTrue();
    }

    @Test
    void logs_return_the_container_output_tail() {
        JsonNode i = pier.deploy(
                pier.manager,
                "name",
                InstanceFixture.name("talk"),
                "image",
                InstanceFixture.ECHO_IMAGE,
                "memory_mib",
                32);
        String id = i.path("id").asText();

        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            // plain text for a client that asks for it
            Http.Response r = http().get(
                            "/api/v1/instances/" + id + "/logs?tail=5",
                            bearer(pier.viewer)[0],
                            bearer(pier.viewer)[1],
                            "Accept",
                            "text/plain");
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            assertThat(r.header("Content-Type")).startsWith("text/plain");
            assertThat(r.body()).contains("hello-pier\n");
        });
        // NDJSON otherwise
        Http.Response nd = http().get("/api/v1/instances/" + id + "/logs", bearer(pier.viewer));
        assertThat(nd.header("Content-Type")).startsWith("application/x-ndjson");
        assertThat(Http.parse(nd.body().lines().findFirst().orElseThrow())
                        .path("line")
                        .asText())
                .isEqualTo("hello-pier");
        // tail=0: nothing (what a follower that wants only new lines asks for)
        Http.Response none = http().get("/api/v1/instances/" + id + "/logs?tail=0", bearer(pier.viewer));
        assertThat(none.status()).isEqualTo(200);
        assertThat(none.body()).isEmpty();

        assertProblem(http().get("/api/v1/instances/" + id + "/logs?tail=-1", bearer(pier.viewer)), 400);
        assertProblem(http().get("/api/v1/instances/" + id + "/logs?tail=100001", bearer(pier.viewer)), 400);
        assertProblem(http().get("/api/v1/instances/" + id + "/logs?tail=many", bearer(pier.viewer)), 400);
        assertProblem(http().get("/api/v1/instances/" + UUID.randomUUID() + "/logs", bearer(pier.viewer)), 404);
    }

    @Test
    void delete_answers_204_and_removes_container_and_record() {
        JsonNode i = pier.deployQuiet("gone");
        String id = i.path("id").asText();
        String cid = i.path("container_id").asText();

        assertProblem(http().delete("/api/v1/instances/" + id, bearer(pier.viewer)), 403);
        assertThat(pier.running(cid)).isTrue();

        Http.Response r = http().delete("/api/v1/instances/" + id, bearer(pier.manager));
        assertThat(r.status()).as(r.body()).isEqualTo(204);
        assertThat(TestEngine.inspect(pier.docker, cid)).isEmpty();
        assertThat(pier.containersOf(id)).isEmpty();
        assertProblem(http().get("/api/v1/instances/" + id, bearer(pier.viewer)), 404);
        assertProblem(http().delete("/api/v1/instances/" + id, bearer(pier.manager)), 404);
        assertThat(pier.records()).isZero();

        // the name and the host ports are free again
        JsonNode again = pier.deploy(
                pier.manager, "name", i.path("name").asText(), "image", InstanceFixture.QUIET_IMAGE, "memory_mib", 32);
        assertThat(again.path("id").asText()).isNotEqualTo(id);
    }

    @Test
    void a_host_port_pier_picks_is_skipped_when_something_outside_pier_holds_it() throws IOException {
        // Pier picks the first free port from 20000 on for this fresh node; hold it (or find it already held)
        int first = Placement.AUTO_PORT_MIN;
        ServerSocket held = new ServerSocket();
        try {
            try {
                held.bind(new InetSocketAddress("0.0.0.0", first));
            } catch (IOException alreadyTaken) {
                // something else holds it: just as good
            }
            JsonNode i = pier.deploy(
                    pier.manager,
                    "name",
                    InstanceFixture.name("auto"),
                    "image",
                    InstanceFixture.DEFAULT_IMAGE,
                    "memory_mib",
                    32);
            int host = i.path("ports").get(0).path("host_port").asInt();
            assertThat(host).isNotEqualTo(first).isBetween(Placement.AUTO_PORT_MIN, Placement.AUTO_PORT_MAX);
            assertThat(i.path("observed_state").asText()).isEqualTo("running");
            InspectContainerResponse c = pier.inspectInstance(i.path("id").asText());
            assertThat(c.getHostConfig()
                            .getPortBindings()
                            .getBindings()
                            .get(com.github.dockerjava.api.model.ExposedPort.tcp(80))[0]
                            .getHostPortSpec())
                    .isEqualTo(Integer.toString(host));
            assertThat(pier.containers()).hasSize(1);
            assertThat(pier.records()).isEqualTo(1);
        } finally {
            held.close();
        }
    }

    @Test
    void a_port_the_caller_chose_that_something_outside_pier_holds_is_a_409_leaving_nothing() throws IOException {
        try (ServerSocket held = new ServerSocket(0)) {
            int port = held.getLocalPort();
            Http.Response r = http().postJson(
                            "/api/v1/instances",
                            json(
                                    "name",
                                    InstanceFixture.name("mine"),
                                    "image",
                                    InstanceFixture.QUIET_IMAGE,
                                    "memory_mib",
                                    32,
                                    "ports",
                                    "80:" + port),
                            bearer(pier.manager));
            assertThat(r.status()).as(r.body()).isEqualTo(409);
            assertThat(r.json().path("detail").asText()).contains(Integer.toString(port));
            assertThat(pier.records()).isZero();
            assertThat(pier.containers()).isEmpty();
        }
    }
}
