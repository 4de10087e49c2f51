package dev.pier.nodes;

import dev.pier.instances.TestEngine;
import dev.pier.runtime.DockerRuntime;
import dev.pier.runtime.FaultInjectingRuntime;
import dev.pier.runtime.FaultInjectingRuntime.Fault;
import dev.pier.runtime.FaultInjectingRuntime.Operation;
import dev.pier.runtime.FaultInjectingRuntime.When;
import dev.pier.runtime.RuntimeUnavailableException;
import dev.pier.support.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.channels.ClosedByInterruptException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The node check on the real engine, with failures injected into its ping: a ping cut short because
 * this process interrupted it (stopping the reconciler, shutting down) says nothing about the node and
 * leaves it online; an engine that does not answer marks it offline.
 */
class NodeCheckTest {
    static final AtomicReference<FaultInjectingRuntime> runtime = new AtomicReference<>();
    static TestServer server;

    @BeforeAll
    static void start() throws java.io.IOException {
        TestEngine.connect().close(); // skips without Docker (fails in CI)
        server = TestServer.startWithRuntimes(endpoint -> {
            FaultInjectingRuntime r = new FaultInjectingRuntime(DockerRuntime.connect(endpoint));
            runtime.set(r);
            return r;
        });
        server.core().reconciler.stopBackground(); // only the checks this test makes
        server.core().nodes.checkAll();
        await().atMost(Duration.ofSeconds(10)).until(NodeCheckTest::online);
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    private static boolean online() {
        NodeService nodes = server.core().nodes;
        return nodes.list().stream().allMatch(nodes::isOnline);
    }

    @Test
    void an_interrupted_ping_leaves_the_node_online_and_a_failed_one_marks_it_offline() {
        runtime.get()
                .arm(
                        Operation.PING,
                        When.BEFORE,
                        Fault.throwing(() -> new RuntimeUnavailableException(
                                "the Docker engine is unreachable: ClosedByInterruptException",
                                new ClosedByInterruptException())));
        server.core().nodes.checkAll();
        assertThat(runtime.get().armed()).as("the fault fired").isFalse();
        assertThat(online()).isTrue();

        runtime.get().arm(Operation.PING, When.BEFORE, Fault.unavailable());
        server.core().nodes.checkAll();
        assertThat(online()).isFalse();

        server.core().nodes.checkAll(); // the engine answers again
        assertThat(online()).isTrue();
    }

    @Test
    void one_ping_out_of_time_is_a_busy_engine_and_two_in_a_row_a_gone_one() {
        NodeService nodes = server.core().nodes;
        nodes.checkAll();
        assertThat(online()).isTrue();
        runtime.get().arm(Operation.PING, When.BEFORE, Fault.throwing(NodeCheckTest::slowPing));
        nodes.checkAll();
        assertThat(runtime.get().armed()).as("the fault fired").isFalse();
        assertThat(online())
                .as("after one slow ping, answered when asked again")
                .isTrue();
        runtime.get()
                .arm(
                        Operation.PING,
                        When.BEFORE,
                        Fault.throwing(NodeCheckTest::slowPing).times(2));
        nodes.checkAll();
        assertThat(online()).as("after two slow pings in a row").isFalse();
        assertThat(nodes.statusReason(nodes.list().getFirst()))
                .hasValueSatisfying(r -> assertThat(r).contains("no answer within 2 s"));
        nodes.checkAll();
        assertThat(online()).isTrue();
    }

    private static RuntimeUnavailableException slowPing() {
        return new RuntimeUnavailableException(
                "injected: no answer within 2 s", new java.net.SocketTimeoutException("no answer within 2 s"));
    }

    @Test
    void a_failed_runtime_call_takes_the_node_offline_only_when_its_ping_fails_too() {
        NodeService nodes = server.core().nodes;
        nodes.checkAll();
        assertThat(online()).isTrue();
        Node local = nodes.list().getFirst();
        // what a reconcile pass sees when the reconciler is closed under it
        nodes.reportUnreachable(
                local,
                new RuntimeUnavailableException("the Docker engine is unreachable", new ClosedByInterruptException()));
        assertThat(online()).isTrue();
        // a call that ran out of time on a busy engine: the engine still answers its ping, so it stays online
        nodes.reportUnreachable(
                local,
                new RuntimeUnavailableException(
                        "injected: timed out", new java.net.SocketTimeoutException("read timed out")));
        assertThat(online()).isTrue();

        // the engine is gone: the ping that the failed call triggers fails too
        runtime.get().arm(Operation.PING, When.BEFORE, Fault.unavailable());
        nodes.reportUnreachable(local, new RuntimeUnavailableException("injected: connection refused"));
        assertThat(online()).isFalse();
        nodes.checkAll();
        assertThat(online()).isTrue();
    }
}
