package dev.pier.nodes;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import dev.pier.instances.InstanceFixture;
import dev.pier.instances.TestEngine;
import dev.pier.support.DatabaseFree;
import dev.pier.support.Http;
import dev.pier.support.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static dev.pier.instances.InstanceFixture.bearer;
import static dev.pier.instances.InstanceFixture.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A second dockerd, registered as a node with an instance on it, frozen with SIGSTOP: its unix socket still
 * accepts connections and nothing answers. The node is offline within 10 s with the reason; a deploy and a
 * stop sent while Pier still believed it online answer 503 by their deadlines (the deploy within seconds);
 * a later action is refused because the node is offline, not because the stop still holds the instance;
 * the failed deploy never turns into an instance; after SIGCONT the node is back and the instance is as
 * desired.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DatabaseFree
class FrozenEngineTest {
    private InstanceFixture pier;
    private SecondEngine engine;
    private String instanceId;

    @BeforeAll
    void start() throws Exception {
        String why = SecondEngine.cannotRun();
        Assumptions.assumeTrue(why == null, () -> "skipped: " + why);
        engine = SecondEngine.start();
        pier = InstanceFixture.start(() ->
                TestServer.start(c -> c.with(b -> b.dockerSockets = List.of(engine.socket()))));
        engine.load(pier.docker, TestEngine.SLEEPER);
        Http.Response r = pier.http()
                .postJson(
                        "/api/v1/nodes",
                        json("name", "frozen", "address", engine.address(), "ram_mib", 512, "disk_mib", 4096),
                        bearer(pier.admin));
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        assertThat(r.json().path("status").asText()).isEqualTo("online");
        JsonNode i = pier.deploy(
                pier.manager,
                "name",
                InstanceFixture.name("ice"),
                "node",
                "frozen",
                "image",
                InstanceFixture.QUIET_IMAGE,
                "memory_mib",
                32);
        instanceId = i.path("id").asText();
        assertThat(i.path("observed_state").asText()).isEqualTo("running");
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

    private JsonNode node(String name) {
        for (JsonNode n :
                pier.http().get("/api/v1/nodes", bearer(pier.viewer)).json().path("items")) {
            if (n.path("name").asText().equals(name)) {
                return n;
            }
        }
        throw new AssertionError("no node " + name);
    }

    private List<Container> onEngine() {
        try (DockerClient c = engine.client()) {
            return TestEngine.containers(c, pier.installation);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private record Timed(Http.Response response, Duration took) {}

    private static Timed timed(Supplier<Http.Response> call) {
        long t0 = System.nanoTime();
        Http.Response r = call.get();
        return new Timed(r, Duration.ofNanos(System.nanoTime() - t0));
    }

    @Test
    void a_frozen_engine_goes_offline_calls_end_by_their_deadlines_and_it_converges_when_thawed() throws Exception {
        String lateName = InstanceFixture.name("late");
        ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor();
        engine.freeze();
        long t0 = System.nanoTime();
        // sent while Pier still believes the node online (its check has not run into the deadline yet)
        Future<Timed> deploy = clients.submit(() -> timed(() -> pier.http()
                .postJson(
                        "/api/v1/instances",
                        json(
                                "name",
                                lateName,
                                "node",
                                "frozen",
                                "image",
                                InstanceFixture.QUIET_IMAGE,
                                "memory_mib",
                                32),
                        bearer(pier.manager))));
        Future<Timed> stop = clients.submit(() -> timed(() -> pier.action(pier.manager, instanceId, "stop")));

        await().atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> node("frozen").path("status").asText().equals("offline"));
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
        assertThat(node("frozen").path("status_reason").asText())
                .contains("unreachable")
                .contains("answer");
        assertThat(node("local").path("status").asText()).isEqualTo("online");

        Timed d = deploy.get(30, TimeUnit.SECONDS);
        assertThat(d.response().status()).as(d.response().body()).isEqualTo(503);
        assertThat(d.took()).as("deploy answer time").isLessThan(Duration.ofSeconds(8));
        Timed s = stop.get(40, TimeUnit.SECONDS);
        assertThat(s.response().status()).as(s.response().body()).isEqualTo(503);
        // cut short when the node went offline, long before its own deadline (grace 10 s plus 15 s)
        assertThat(s.took()).as("stop answer time").isLessThan(Duration.ofSeconds(10));
        System.out.printf(
                "frozen engine: deploy answered %d in %d ms, stop answered %d in %d ms%n",
                d.response().status(),
                d.took().toMillis(),
                s.response().status(),
                s.took().toMillis());

        // the stop is over: a later action is refused because the node is offline, not as "in progress"
        Http.Response later = pier.action(pier.manager, instanceId, "start");
        assertThat(later.status()).as(later.body()).isEqualTo(503);
        assertThat(later.json().path("detail").asText()).contains("offline").doesNotContain("in progress");

        // the failed deploy is no instance: at most a record on its way out, never one that will be created
        for (JsonNode i : pier.http()
                .get("/api/v1/instances?limit=100", bearer(pier.viewer))
                .json()
                .path("items")) {
            if (i.path("name").asText().equals(lateName)) {
                assertThat(i.path("desired_state").asText()).isEqualTo("deleted");
            }
        }

        engine.thaw();
        await().atMost(Duration.ofSeconds(20))
                .until(() -> node("frozen").path("status").asText().equals("online"));
        assertThat(node("frozen").path("status_reason").isNull()).isTrue();
        pier.awaitConverged(() -> {
            JsonNode inst = pier.http()
                    .get("/api/v1/instances/" + instanceId, bearer(pier.viewer))
                    .json();
            boolean wantRunning = inst.path("desired_state").asText().equals("running");
            List<Container> mine = onEngine().stream()
                    .filter(c -> instanceId.equals(c.getLabels().get("dev.pier.instance")))
                    .toList();
            assertThat(mine).hasSize(1);
            assertThat(mine.getFirst().getState().equals("running")).isEqualTo(wantRunning);
            assertThat(pier.http()
                            .get("/api/v1/instances?limit=100", bearer(pier.viewer))
                            .json()
                            .path("items")
                            .findValuesAsText("name"))
                    .doesNotContain(lateName);
            assertThat(onEngine()).noneMatch(c -> c.getNames()[0].contains(lateName));
        });
        // and it takes actions again
        Http.Response restart = pier.action(pier.manager, instanceId, "restart");
        assertThat(restart.status()).as(restart.body()).isEqualTo(200);
        clients.shutdownNow();
    }
}
