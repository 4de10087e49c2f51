package dev.pier.nodes;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import dev.pier.instances.InstanceFixture;
import dev.pier.instances.TestEngine;
import dev.pier.support.Http;
import dev.pier.support.Matrix;
import dev.pier.support.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;

import static dev.pier.instances.InstanceFixture.bearer;
import static dev.pier.instances.InstanceFixture.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A second Docker engine registered as node "second" by its unix socket: deploys land on it; when its
 * daemon stops, Pier marks the node offline within seconds, actions on its instance fail fast with 503,
 * the instance keeps its record, and only a forced delete removes it. When the engine is back, the
 * container of the force-deleted instance is removed as an orphan.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OfflineNodeTest {
    private InstanceFixture pier;
    private SecondEngine engine;
    private String nodeId;
    private String instanceId;
    private String instanceName;

    @BeforeAll
    void start() throws Exception {
        String why = SecondEngine.cannotRun();
        Assumptions.assumeTrue(why == null, () -> "skipped: " + why);
        engine = SecondEngine.start();
        // a node's unix socket must be one the configuration lists
        pier = InstanceFixture.start(() ->
                TestServer.start(c -> c.with(b -> b.dockerSockets = List.of(engine.socket()))));
        engine.load(pier.docker, TestEngine.SLEEPER);
    }

    @AfterAll
    void stop() throws Exception {
        try {
            if (pier != null) {
                pier.close();
            }
        } finally {
            if (engine != null) {
                engine.close();
            }
        }
    }

    private Http http() {
        return pier.http();
    }

    private JsonNode node(String name) {
        for (JsonNode n :
                http().get("/api/v1/nodes", bearer(pier.viewer)).json().path("items")) {
            if (n.path("name").asText().equals(name)) {
                return n;
            }
        }
        throw new AssertionError("no node " + name);
    }

    private List<Container> onSecond() {
        try (DockerClient c = engine.client()) {
            return TestEngine.containers(c, pier.installation);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Runs a call and asserts it answered within {@code limit}. */
    private static Http.Response timed(Duration limit, Supplier<Http.Response> call) {
        long t0 = System.nanoTime();
        Http.Response r = call.get();
        assertThat(Duration.ofNanos(System.nanoTime() - t0))
                .as("answer time of %s", r.body())
                .isLessThan(limit);
        return r;
    }

    @Test
    @Order(1)
    void a_node_registered_by_its_unix_socket_takes_deploys() {
        Http.Response r = http().postJson(
                        "/api/v1/nodes",
                        json(
                                "name",
                                "second",
                                "address",
                                engine.address(),
                                "ram_mib",
                                512,
                                "disk_mib",
                                4096,
                                "tags",
                                "test",
                                "processor",
                                "shared"),
                        bearer(pier.admin));
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        nodeId = r.json().path("id").asText();
        assertThat(r.json().path("status").asText()).isEqualTo("online");
        assertThat(r.json().path("endpoint").asText()).isEqualTo(engine.address());

        instanceName = InstanceFixture.name("far");
        JsonNode i = pier.deploy(
                pier.manager,
                "name",
                instanceName,
                "node",
                "second",
                "image",
                InstanceFixture.QUIET_IMAGE,
                "memory_mib",
                32);
        instanceId = i.path("id").asText();
        assertThat(i.path("node").asText()).isEqualTo("second");
        assertThat(i.path("observed_state").asText()).isEqualTo("running");

        // on the second engine, not on the first
        assertThat(onSecond())
                .extracting(c -> c.getLabels().get("dev.pier.instance"))
                .containsExactly(instanceId);
        assertThat(pier.containersOf(instanceId)).isEmpty();

        assertThat(pier.action(pier.manager, instanceId, "restart").status()).isEqualTo(200);
        assertThat(onSecond().getFirst().getState()).isEqualTo("running");
        // the node holds an instance: it cannot be removed
        assertThat(http().delete("/api/v1/nodes/" + nodeId, bearer(pier.admin)).status())
                .isEqualTo(409);
    }

    @Test
    @Order(2)
    void when_its_engine_stops_the_node_is_offline_and_actions_fail_fast_with_503() throws Exception {
        Assumptions.assumeTrue(instanceId != null, "needs the deploy of the first test");
        engine.stopDockerd();

        await().atMost(Duration.ofSeconds(5))
                .until(() -> node("second").path("status").asText().equals("offline"));
        assertThat(node("local").path("status").asText()).isEqualTo("online");
        assertThat(http().get("/api/v1/nodes/" + nodeId, bearer(pier.viewer))
                        .json()
                        .path("status")
                        .asText())
                .isEqualTo("offline");
        assertThat(http().get("/api/nodes", "x-api-key", adminKey()).json().findValuesAsText("status"))
                .contains("offline", "online");

        Duration fast = Duration.ofSeconds(2);
        for (String type : List.of("start", "stop", "restart", "kill")) {
            Http.Response r = timed(fast, () -> pier.action(pier.manager, instanceId, type));
            assertThat(r.status()).as(r.body()).isEqualTo(503);
            assertThat(r.header("Content-Type")).startsWith("application/problem+json");
            assertThat(r.json().path("detail").asText()).contains("second").contains("offline");
        }
        Http.Response suspend = timed(fast, () -> pier.action(pier.admin, instanceId, "suspend"));
        assertThat(suspend.status()).as(suspend.body()).isEqualTo(503);
        Matrix.assertError(
                timed(
                        fast,
                        () -> http().send(
                                        "PATCH",
                                        "/api/v1/droplet/stop/" + instanceName,
                                        null,
                                        null,
                                        bearer(pier.manager))),
                503,
                503);
        Http.Response panel = timed(
                fast, () -> http().postJson("/api/instances/suspend/" + instanceId, "{}", "x-api-key", adminKey()));
        assertThat(panel.status()).as(panel.body()).isEqualTo(503);
        assertThat(panel.json().path("error").asText()).contains("offline");
        assertThat(timed(fast, () -> http().get("/api/v1/instances/" + instanceId + "/logs", bearer(pier.viewer)))
                        .status())
                .isEqualTo(503);

        // the record is kept, unchanged by the failed calls
        Http.Response kept = http().get("/api/v1/instances/" + instanceId, bearer(pier.viewer));
        assertThat(kept.status()).isEqualTo(200);
        assertThat(kept.json().path("suspended").asBoolean()).isFalse();
        assertThat(kept.json().path("desired_state").asText()).isEqualTo("running");
        assertThat(http().get("/api/v1/droplet/list", bearer(pier.viewer))
                        .json()
                        .findValuesAsText("name"))
                .contains(instanceName);

        // no new deploy onto it, and nothing recorded
        int records = pier.records();
        Http.Response deploy = timed(
                fast,
                () -> http().postJson(
                                "/api/v1/instances",
                                json(
                                        "name",
                                        InstanceFixture.name("no"),
                                        "node",
                                        "second",
                                        "image",
                                        InstanceFixture.QUIET_IMAGE,
                                        "memory_mib",
                                        32),
                                bearer(pier.manager)));
        assertThat(deploy.status()).as(deploy.body()).isEqualTo(503);
        assertThat(pier.records()).isEqualTo(records);

        // delete: refused unless forced
        Http.Response plain = timed(fast, () -> http().delete("/api/v1/instances/" + instanceId, bearer(pier.manager)));
        assertThat(plain.status()).as(plain.body()).isEqualTo(503);
        assertThat(plain.json().path("detail").asText()).contains("force");
        Matrix.assertError(http().delete("/api/v1/droplet/delete/" + instanceName, bearer(pier.manager)), 503, 503);
        assertThat(http().get("/api/v1/instances/" + instanceId, bearer(pier.viewer))
                        .status())
                .isEqualTo(200);

        Http.Response forced = timed(
                fast, () -> http().delete("/api/v1/instances/" + instanceId + "?force=true", bearer(pier.manager)));
        assertThat(forced.status()).as(forced.body()).isEqualTo(204);
        assertThat(http().get("/api/v1/instances/" + instanceId, bearer(pier.viewer))
                        .status())
                .isEqualTo(404);
        assertThat(pier.records()).isEqualTo(records - 1);
    }

    @Test
    @Order(3)
    void when_the_engine_is_back_the_node_is_online_and_the_orphan_is_removed() throws Exception {
        Assumptions.assumeTrue(instanceId != null, "needs the deploy of the first test");
        engine.startDockerd();

        await().atMost(Duration.ofSeconds(10))
                .until(() -> node("second").path("status").asText().equals("online"));
        // the force-deleted instance's container is still on the engine, with no record: the reconciler removes it
        await().atMost(Duration.ofSeconds(15)).until(() -> onSecond().isEmpty());

        assertThat(http().delete("/api/v1/nodes/" + nodeId, bearer(pier.admin)).status())
                .isEqualTo(204);
        assertThat(http().get("/api/v1/nodes/" + nodeId, bearer(pier.viewer)).status())
                .isEqualTo(404);
    }

    private String adminKey;

    private String adminKey() {
        if (adminKey == null) {
            adminKey = http().postJson("/api/v1/api_tokens", json("description", "offline"), bearer(pier.admin))
                    .json()
                    .path("key")
                    .asText();
        }
        return adminKey;
    }
}
