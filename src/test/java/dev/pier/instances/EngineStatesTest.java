package dev.pier.instances;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.Container;
import dev.pier.runtime.DockerRuntime;
import dev.pier.runtime.FaultInjectingRuntime;
import dev.pier.runtime.FaultInjectingRuntime.Fault;
import dev.pier.runtime.FaultInjectingRuntime.Operation;
import dev.pier.runtime.FaultInjectingRuntime.When;
import dev.pier.runtime.RuntimeOperationException;
import dev.pier.support.Http;
import dev.pier.support.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;

import static dev.pier.instances.InstanceFixture.bearer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Engine states that used to stick: a container the engine keeps refusing to start (as after a kill -9
 * of the engine: "task already exists") is removed and created again; a container paused behind Pier's
 * back is reported paused, not failed, and unpaused; a user's action on a paused container works. What
 * happened is read from the engine itself.
 */
class EngineStatesTest {
    static final AtomicReference<FaultInjectingRuntime> runtime = new AtomicReference<>();
    static InstanceFixture pier;

    @BeforeAll
    static void start() {
        pier = InstanceFixture.start(() -> TestServer.startWithRuntimes(endpoint -> {
            FaultInjectingRuntime r = new FaultInjectingRuntime(DockerRuntime.connect(endpoint));
            runtime.set(r);
            return r;
        }));
    }

    @AfterEach
    void cleanup() {
        runtime.get().disarm();
        pier.cleanup();
    }

    @AfterAll
    static void stop() {
        if (pier != null) {
            pier.close();
        }
    }

    private static FaultInjectingRuntime engine() {
        pier.server.core().nodes.runtime(pier.server.core().nodes.require(pier.localNode));
        return runtime.get();
    }

    private static JsonNode instance(String id) {
        Http.Response r = pier.http().get("/api/v1/instances/" + id, bearer(pier.viewer));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json();
    }

    private static boolean paused(String containerId) {
        return TestEngine.inspect(pier.docker, containerId)
                .map(c -> Boolean.TRUE.equals(c.getState().getPaused()))
                .orElse(false);
    }

    @Test
    void a_start_the_engine_keeps_refusing_escalates_to_a_new_container() {
        JsonNode i = pier.deployQuiet("stuck");
        String id = i.path("id").asText();
        String stuck = i.path("container_id").asText();
        FaultInjectingRuntime engine = engine();
        int startsBefore = engine.calls(Operation.START);
        // what a hard-killed engine answered for the containers it had been running
        engine.arm(
                Operation.START,
                When.BEFORE,
                Fault.throwing(() -> new RuntimeOperationException(
                                "start " + stuck + " failed: task " + stuck + ": already exists"))
                        .times(Backoff.RECREATE_AFTER));

        pier.docker.killContainerCmd(stuck).exec();

        // no pass is run here: the die event and the back-off's own wake-ups do it
        await().atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(200))
                .untilAsserted(() -> {
                    List<Container> cs = pier.containersOf(id);
                    assertThat(cs).hasSize(1);
                    assertThat(cs.getFirst().getId()).isNotEqualTo(stuck);
                    assertThat(cs.getFirst().getState()).isEqualTo("running");
                });
        assertThat(TestEngine.inspect(pier.docker, stuck))
                .as("the stuck container")
                .isEmpty();
        String fresh = pier.containersOf(id).getFirst().getId();
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            JsonNode now = instance(id);
            assertThat(now.path("container_id").asText()).isEqualTo(fresh);
            assertThat(now.path("observed_state").asText()).isEqualTo("running");
        });
        assertThat(engine.calls(Operation.START) - startsBefore).isEqualTo(Backoff.RECREATE_AFTER + 1);
        assertThat(pier.events(UUID.fromString(id))).contains("start_failed", "recreating", "recreated");
        // recreated from the record, as the deploy made it
        InspectContainerResponse c = pier.inspectInstance(id);
        assertThat(c.getHostConfig().getMemory()).isEqualTo(32L * 1024 * 1024);
    }

    @Test
    void a_container_paused_behind_pier_s_back_is_reported_paused_and_unpaused() {
        JsonNode i = pier.deployQuiet("frozen");
        String id = i.path("id").asText();
        String cid = i.path("container_id").asText();
        FaultInjectingRuntime engine = engine();
        engine.arm(
                Operation.UNPAUSE,
                When.BEFORE,
                Fault.throwing(() -> new RuntimeOperationException("injected: " + "the engine will not unpause"))
                        .times(Integer.MAX_VALUE));

        pier.docker.pauseContainerCmd(cid).exec();
        assertThat(paused(cid)).isTrue();

        // while the engine will not unpause it, it is shown as what it is
        pier.awaitConverged(
                () -> assertThat(instance(id).path("observed_state").asText()).isEqualTo("paused"));
        JsonNode droplet =
                pier.http().get("/api/v1/droplet/list", bearer(pier.viewer)).json();
        assertThat(droplet.findValuesAsText("status")).contains("paused");
        assertThat(paused(cid)).isTrue();

        engine.disarm();
        pier.awaitConverged(() -> {
            assertThat(paused(cid)).isFalse();
            assertThat(pier.running(cid)).isTrue();
            assertThat(instance(id).path("observed_state").asText()).isEqualTo("running");
        });
        assertThat(pier.events(UUID.fromString(id))).contains("unpause_failed", "unpaused");
        assertThat(pier.containersOf(id)).extracting(Container::getId).containsExactly(cid);
    }

    @Test
    void a_user_s_start_stop_and_restart_work_on_a_paused_container() {
        JsonNode i = pier.deployQuiet("user-frozen");
        String id = i.path("id").asText();
        String cid = i.path("container_id").asText();

        pier.docker.pauseContainerCmd(cid).exec();
        Http.Response start = pier.action(pier.manager, id, "start");
        assertThat(start.status()).as(start.body()).isEqualTo(200);
        assertThat(start.json().path("observed_state").asText()).isEqualTo("running");
        assertThat(paused(cid)).isFalse();
        assertThat(pier.running(cid)).isTrue();

        pier.docker.pauseContainerCmd(cid).exec();
        Http.Response restart = pier.action(pier.manager, id, "restart");
        assertThat(restart.status()).as(restart.body()).isEqualTo(200);
        assertThat(paused(cid)).isFalse();
        assertThat(pier.running(cid)).isTrue();

        pier.docker.pauseContainerCmd(cid).exec();
        Http.Response stop = pier.action(pier.manager, id, "stop");
        assertThat(stop.status()).as(stop.body()).isEqualTo(200);
        assertThat(stop.json().path("observed_state").asText()).isEqualTo("stopped");
        assertThat(pier.running(cid)).isFalse();
        assertThat(paused(cid)).isFalse();
    }
}
