package dev.pier.instances;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.auth.Principal;
import dev.pier.runtime.DockerRuntime;
import dev.pier.support.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A reconcile pass takes seconds over many instances; a user acting on an instance while the pass works
 * on another must not be undone by the pass's stale view of it.
 */
class ReconcilerRaceTest {
    static final AtomicReference<HookedRuntime> runtime = new AtomicReference<>();
    static InstanceFixture pier;

    @BeforeAll
    static void start() {
        pier = InstanceFixture.start(() -> TestServer.startWithRuntimes(endpoint -> {
            HookedRuntime r = new HookedRuntime(DockerRuntime.connect(endpoint));
            runtime.set(r);
            return r;
        }));
    }

    @AfterAll
    static void stop() {
        if (pier != null) {
            pier.close();
        }
    }

    @Test
    void a_stop_made_while_a_pass_is_running_is_not_undone_by_that_pass() {
        JsonNode a = pier.deployQuiet("race-a");
        JsonNode b = pier.deployQuiet("race-b");
        // only the pass below reconciles from here on: no events, no timers
        pier.server.core().reconciler.close();
        // both died behind Pier's back; both are desired running
        pier.docker.killContainerCmd(a.path("container_id").asText()).exec();
        pier.docker.killContainerCmd(b.path("container_id").asText()).exec();
        // a kill returns once the signal is sent: wait until the engine reports both dead, as the pass will see them
        await().atMost(Duration.ofSeconds(10)).until(() -> !pier.running(a.path("container_id").asText())
                && !pier.running(b.path("container_id").asText()));

        // when the pass has restarted the first of them, the user stops the other
        AtomicReference<UUID> stoppedByUser = new AtomicReference<>();
        runtime.get().onceAfterStart(cid -> {
            JsonNode other = cid.equals(a.path("container_id").asText()) ? b : a;
            UUID id = UUID.fromString(other.path("id").asText());
            pier.server.core().instances.act(Principal.system(), id, InstanceService.Action.STOP);
            stoppedByUser.set(id);
        });
        pier.server.core().reconciler.passAll();

        assertThat(stoppedByUser.get()).isNotNull();
        Instance stopped = pier.server.core().instances.require(stoppedByUser.get());
        assertThat(stopped.desiredState()).isEqualTo("stopped");
        assertThat(pier.running(stopped.containerId().orElseThrow()))
                .as("the container the user stopped during the pass").isFalse();
        assertThat(stopped.observedState()).isEqualTo("stopped");
    }
}
