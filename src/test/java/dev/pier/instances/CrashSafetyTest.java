package dev.pier.instances;

import com.github.dockerjava.api.model.Container;
import dev.pier.runtime.DockerRuntime;
import dev.pier.runtime.FaultInjectingRuntime;
import dev.pier.runtime.FaultInjectingRuntime.Operation;
import dev.pier.security.Principal;
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
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Pier "dies" (an {@link Error} thrown at a chosen point between Pier and Docker, with the background
 * work stopped as a dead process's would be) in the middle of a deploy or a delete; after a restart on
 * the same database and a reconcile pass there is exactly one running container per instance, no
 * orphan, and no half-deleted instance.
 */
class CrashSafetyTest {
    /** The runtime of the current server process; a restart makes a fresh (unarmed) one. */
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
        FaultInjectingRuntime r = runtime.get();
        if (r != null) {
            r.disarm();
        }
        pier.cleanup();
    }

    @AfterAll
    static void stop() {
        if (pier != null) {
            pier.close();
        }
    }

    /** The local node's runtime of the running server (opened on first use). */
    private static FaultInjectingRuntime local() {
        pier.server.core().nodes.runtime(pier.server.core().nodes.require(pier.localNode));
        return runtime.get();
    }

    /** What a crash does to the background: events and timers stop with the process. */
    private static Runnable die() {
        return () -> pier.server.core().reconciler.close();
    }

    private static InstanceService.DeployRequest request(String name) {
        return new InstanceService.DeployRequest(
                name,
                null,
                InstanceFixture.QUIET_IMAGE,
                null,
                null,
                32L,
                0.25,
                null,
                "80:" + TestEngine.freeTcpPort(),
                null,
                null,
                null);
    }

    private static UUID recordedId(String name) {
        return pier.server.core().instances.list().stream()
                .filter(i -> i.name().equals(name))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no record of " + name))
                .id();
    }

    /** Restarts the server on the same database (its first node check runs a pass at once). */
    private static void restart() {
        pier.server.restart();
    }

    private static void assertOneRunningContainer(UUID id) {
        pier.awaitConverged(() -> {
            List<Container> cs = pier.containersOf(id);
            assertThat(cs).as("containers of %s", id).hasSize(1);
            assertThat(cs.getFirst().getState()).isEqualTo("running");
        });
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            Http.Response r = pier.http().get("/api/v1/instances/" + id, bearer(pier.viewer));
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.json().path("observed_state").asText()).isEqualTo("running");
            assertThat(r.json().path("container_id").asText())
                    .isEqualTo(pier.containersOf(id).getFirst().getId());
        });
        // and nothing else of this installation lies around
        assertThat(pier.containers())
                .extracting(c -> c.getLabels().get("dev.pier.instance"))
                .containsOnlyOnce(id.toString());
    }

    private static void assertGone(UUID id) {
        pier.awaitConverged(() -> {
            assertThat(pier.containersOf(id)).isEmpty();
            assertThat(pier.server.core().instances.find(id)).isEmpty();
        });
        assertThat(pier.http()
                        .get("/api/v1/instances/" + id, bearer(pier.viewer))
                        .status())
                .isEqualTo(404);
    }

    @Test
    void a_crash_after_the_record_is_written_and_before_the_container_exists_loses_nothing() {
        String name = InstanceFixture.name("crash-rec");
        local().haltBefore(Operation.CREATE, die());

        assertThatThrownBy(() -> pier.server.core().instances.deploy(Principal.system(), request(name)))
                .isInstanceOf(FaultInjectingRuntime.Halted.class);
        UUID id = recordedId(name);
        assertThat(pier.containersOf(id)).isEmpty();

        restart();

        assertOneRunningContainer(id);
        assertThat(pier.events(id)).contains("created");
    }

    @Test
    void a_crash_after_create_and_before_start_leaves_one_running_container_after_restart() {
        String name = InstanceFixture.name("crash-made");
        local().haltAfter(Operation.CREATE, die());

        assertThatThrownBy(() -> pier.server.core().instances.deploy(Principal.system(), request(name)))
                .isInstanceOf(FaultInjectingRuntime.Halted.class);
        UUID id = recordedId(name);
        // the engine made it, Pier never heard of it
        assertThat(pier.containersOf(id)).hasSize(1);
        assertThat(pier.server.core().instances.require(id).containerId()).isEmpty();

        restart();

        assertOneRunningContainer(id);
    }

    @Test
    void a_crash_after_start_and_before_the_state_is_recorded_leaves_one_running_container() {
        String name = InstanceFixture.name("crash-run");
        local().haltAfter(Operation.START, die());

        assertThatThrownBy(() -> pier.server.core().instances.deploy(Principal.system(), request(name)))
                .isInstanceOf(FaultInjectingRuntime.Halted.class);
        UUID id = recordedId(name);

        restart();

        assertOneRunningContainer(id);
    }

    @Test
    void a_crash_in_a_deploy_over_http_is_finished_after_restart() {
        String name = InstanceFixture.name("crash-http");
        local().haltAfter(Operation.CREATE, die());

        // the request thread dies: the client sees the server fail, whatever it sends
        Http.Response r = null;
        try {
            r = pier.http()
                    .postJson(
                            "/api/v1/instances",
                            InstanceFixture.json("name", name, "image", InstanceFixture.QUIET_IMAGE, "memory_mib", 32),
                            bearer(pier.manager));
        } catch (AssertionError connectionDropped) {
            // Jetty may close the connection instead of answering: just as good
        }
        if (r != null) {
            assertThat(r.status()).as(r.body()).isGreaterThanOrEqualTo(500);
        }
        UUID id = recordedId(name);

        restart();

        assertOneRunningContainer(id);
    }

    @Test
    void a_crash_in_delete_after_marking_and_before_removing_finishes_the_delete_after_restart() {
        var i = pier.server.core().instances.deploy(Principal.system(), request(InstanceFixture.name("del-a")));
        local().haltBefore(Operation.REMOVE, die());

        assertThatThrownBy(() -> pier.server.core().instances.delete(Principal.system(), i.id(), false))
                .isInstanceOf(FaultInjectingRuntime.Halted.class);
        assertThat(pier.containersOf(i.id())).hasSize(1);
        assertThat(pier.server.core().instances.require(i.id()).desiredState()).isEqualTo(DesiredState.DELETED);
        // while it is being deleted, nobody may start it again
        assertThat(pier.action(pier.manager, i.id().toString(), "start").status())
                .isEqualTo(409);

        restart();

        assertGone(i.id());
        assertThat(pier.events(i.id())).contains("delete_finished");
    }

    @Test
    void a_crash_in_delete_after_removing_and_before_dropping_the_record_finishes_the_delete_after_restart() {
        var i = pier.server.core().instances.deploy(Principal.system(), request(InstanceFixture.name("del-b")));
        local().haltAfter(Operation.REMOVE, die());

        assertThatThrownBy(() -> pier.server.core().instances.delete(Principal.system(), i.id(), false))
                .isInstanceOf(FaultInjectingRuntime.Halted.class);
        assertThat(pier.containersOf(i.id())).isEmpty();
        // a reconcile task already running when the process "died" (the container's destroy event) must not
        // finish the delete in the dead process either: run one now, as such a task would
        pier.server
                .core()
                .reconciler
                .reconcile(
                        pier.server.core().nodes.require(pier.localNode),
                        i.id(),
                        i.containerId().orElseThrow());
        assertThat(pier.server.core().instances.find(i.id())).isPresent();

        restart();

        assertGone(i.id());
        // its host port is free again
        pier.deploy(
                pier.manager,
                "name",
                InstanceFixture.name("reuse"),
                "image",
                InstanceFixture.QUIET_IMAGE,
                "memory_mib",
                32,
                "ports",
                "80:" + i.ports().getFirst().hostPort());
    }

    @Test
    void a_suspend_the_node_refuses_or_cannot_hear_is_rolled_back() {
        var i = pier.server.core().instances.deploy(Principal.system(), request(InstanceFixture.name("susp")));
        String cid = i.containerId().orElseThrow();

        local().failBefore(Operation.STOP, () -> new dev.pier.runtime.RuntimeOperationException("injected refusal"));
        Http.Response refused = pier.action(pier.admin, i.id().toString(), "suspend");
        assertThat(refused.status()).as(refused.body()).isEqualTo(409);
        assertThat(refused.json().path("detail").asText()).contains("injected refusal");
        Instance after = pier.server.core().instances.require(i.id());
        assertThat(after.suspended()).isFalse();
        assertThat(after.desiredState()).isEqualTo(DesiredState.RUNNING);
        assertThat(pier.running(cid)).isTrue();

        local().arm(Operation.STOP, FaultInjectingRuntime.When.BEFORE, FaultInjectingRuntime.Fault.unavailable());
        Http.Response unreachable = pier.action(pier.admin, i.id().toString(), "suspend");
        assertThat(unreachable.status()).as(unreachable.body()).isEqualTo(503);
        assertThat(unreachable.json().path("detail").asText()).contains("unreachable");
        after = pier.server.core().instances.require(i.id());
        assertThat(after.suspended()).isFalse();
        assertThat(after.desiredState()).isEqualTo(DesiredState.RUNNING);
        assertThat(pier.running(cid)).isTrue();

        // and a start is still allowed: nothing was left suspended
        await().atMost(Duration.ofSeconds(5))
                .until(() -> pier.server
                        .core()
                        .nodes
                        .isOnline(pier.server.core().nodes.require(pier.localNode)));
        assertThat(pier.action(pier.manager, i.id().toString(), "start").status())
                .isEqualTo(200);
    }

    @Test
    void a_node_call_failing_during_deploy_rolls_back_without_a_restart() {
        String name = InstanceFixture.name("refused");
        local().failAfter(Operation.CREATE, () -> new dev.pier.runtime.RuntimeOperationException("injected refusal"));

        Http.Response r = pier.http()
                .postJson(
                        "/api/v1/instances",
                        InstanceFixture.json("name", name, "image", InstanceFixture.QUIET_IMAGE, "memory_mib", 32),
                        bearer(pier.manager));
        assertThat(r.status()).as(r.body()).isEqualTo(409);
        assertThat(r.json().path("detail").asText()).contains("injected refusal");
        assertThat(pier.records()).isZero();
        // the container the engine made before the (lost) answer is not left behind either
        assertThat(pier.containers()).isEmpty();
    }
}
