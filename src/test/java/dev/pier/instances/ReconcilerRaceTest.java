package dev.pier.instances;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.runtime.DockerRuntime;
import dev.pier.security.Principal;
import dev.pier.support.Http;
import dev.pier.support.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
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

    @AfterEach
    void cleanup() {
        runtime.get().onceAfterStart(id -> {});
        pier.cleanup();
    }

    @AfterAll
    static void stop() {
        if (pier != null) {
            pier.close();
        }
    }

    @Test
    void a_user_action_waits_for_the_reconciler_instead_of_failing() throws Exception {
        JsonNode i = pier.deployQuiet("patient");
        String id = i.path("id").asText();
        String cid = i.path("container_id").asText();
        pier.server.core().reconciler.stopBackground();
        pier.docker.killContainerCmd(cid).exec();
        await().atMost(Duration.ofSeconds(10)).until(() -> !pier.running(cid));

        // the pass restarts it and is held right there, with the instance's lock
        CountDownLatch inConverge = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        runtime.get().onceAfterStart(started -> {
            inConverge.countDown();
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<?> pass = pool.submit(() -> pier.server.core().reconciler.passAll());
            assertThat(inConverge.await(30, TimeUnit.SECONDS)).isTrue();

            Future<Http.Response> stop = pool.submit(() -> pier.action(pier.manager, id, "stop"));
            // not refused: it waits while the reconciler holds the instance
            await().during(Duration.ofMillis(700)).atMost(Duration.ofSeconds(2)).until(() -> !stop.isDone());
            release.countDown();

            Http.Response r = stop.get(30, TimeUnit.SECONDS);
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            pass.get(30, TimeUnit.SECONDS);
        } finally {
            release.countDown();
        }
        assertThat(pier.running(cid)).isFalse();
        assertThat(pier.server.core().instances.require(UUID.fromString(id)).desiredState())
                .isEqualTo(DesiredState.STOPPED);
    }

    @Test
    void a_stop_made_while_a_pass_is_running_is_not_undone_by_that_pass() {
        JsonNode a = pier.deployQuiet("race-a");
        JsonNode b = pier.deployQuiet("race-b");
        // only the pass below reconciles from here on: no events, no timers
        pier.server.core().reconciler.stopBackground();
        // both died behind Pier's back; both are desired running
        pier.docker.killContainerCmd(a.path("container_id").asText()).exec();
        pier.docker.killContainerCmd(b.path("container_id").asText()).exec();
        // a kill returns once the signal is sent: wait until the engine reports both dead, as the pass will see them
        await().atMost(Duration.ofSeconds(10))
                .until(() -> !pier.running(a.path("container_id").asText())
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
        assertThat(stopped.desiredState()).isEqualTo(DesiredState.STOPPED);
        assertThat(pier.running(stopped.containerId().orElseThrow()))
                .as("the container the user stopped during the pass")
                .isFalse();
        assertThat(stopped.observedState()).isEqualTo(ObservedState.STOPPED);
    }
}
