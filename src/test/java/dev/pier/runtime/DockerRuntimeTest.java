package dev.pier.runtime;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.Ports;
import dev.pier.support.DatabaseFree;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.Closeable;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** DockerRuntime against the real local engine; what Docker did is checked through its own API. */
@DatabaseFree
class DockerRuntimeTest {
    private static DockerRuntime runtime;
    private static DockerClient raw;

    @BeforeAll
    static void connect() {
        runtime = TestDocker.connect();
        raw = TestDocker.raw(runtime.endpoint());
    }

    @AfterEach
    void removeContainers() {
        if (raw != null) {
            TestDocker.removeOurContainers(raw);
        }
    }

    @AfterAll
    static void close() throws Exception {
        if (runtime != null) {
            runtime.close();
        }
        if (raw != null) {
            raw.close();
        }
    }

    @Test
    void create_applies_limits_hardening_ports_env_and_labels() {
        int tcpPort = TestDocker.freeTcpPort();
        int udpPort = TestDocker.freeUdpPort();
        ContainerSpec spec = TestDocker.spec(TestDocker.SLEEPER)
                .memoryMiB(64)
                .cpus(0.5)
                .pidsLimit(100)
                .env("GREETING", "hello world")
                .env("EMPTY", "")
                .port(ContainerSpec.PortBinding.tcp(8080, tcpPort))
                .port(ContainerSpec.PortBinding.udp(5353, udpPort))
                .label("team", "blue")
                .build();

        String id = runtime.create(spec);
        runtime.start(id);

        InspectContainerResponse c = raw.inspectContainerCmd(id).exec();
        HostConfig h = c.getHostConfig();
        assertThat(h.getMemory()).isEqualTo(64L * 1024 * 1024);
        assertThat(h.getMemorySwap()).isEqualTo(64L * 1024 * 1024);
        assertThat(h.getNanoCPUs()).isEqualTo(500_000_000L);
        assertThat(h.getPidsLimit()).isEqualTo(100L);
        assertThat(h.getInit()).isTrue();
        assertThat(h.getSecurityOpts()).containsExactly("no-new-privileges");
        assertThat(h.getCapDrop()).containsExactly(Capability.ALL);
        assertThat(h.getPrivileged()).isFalse();
        assertThat(h.getReadonlyRootfs()).isFalse();
        assertThat(h.getBinds()).isNullOrEmpty();
        assertThat(h.getMounts()).isNullOrEmpty();
        assertThat(c.getMounts()).isNullOrEmpty();
        assertThat(h.getDevices()).isNullOrEmpty();
        assertThat(h.getNetworkMode()).isEqualTo("bridge").isNotEqualTo("host");
        assertThat(h.getRestartPolicy().getName()).isIn("no", "", null);
        assertThat(h.getLogConfig().getType().getType()).isEqualTo("json-file");

        Map<ExposedPort, Ports.Binding[]> bindings = h.getPortBindings().getBindings();
        assertThat(bindings.get(ExposedPort.tcp(8080)))
                .extracting(Ports.Binding::getHostIp, Ports.Binding::getHostPortSpec)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("0.0.0.0", String.valueOf(tcpPort)));
        assertThat(bindings.get(ExposedPort.udp(5353)))
                .extracting(Ports.Binding::getHostIp, Ports.Binding::getHostPortSpec)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("0.0.0.0", String.valueOf(udpPort)));
        // and the engine really published them
        Map<ExposedPort, Ports.Binding[]> published =
                c.getNetworkSettings().getPorts().getBindings();
        assertThat(published.get(ExposedPort.tcp(8080)))
                .extracting(Ports.Binding::getHostPortSpec)
                .contains(String.valueOf(tcpPort));

        assertThat(c.getConfig().getEnv()).contains("GREETING=hello world", "EMPTY=");
        assertThat(c.getConfig().getLabels())
                .containsEntry(PierLabels.MANAGED, "true")
                .containsEntry(PierLabels.INSTANCE, spec.instanceId().toString())
                .containsEntry("team", "blue");
        assertThat(c.getName()).isEqualTo("/" + spec.name());
        assertThat(c.getState().getRunning()).isTrue();
    }

    @Test
    void create_sizes_the_log_and_opens_stdin_as_the_spec_says() {
        // three files of a third each: in MiB, KiB or bytes, whichever is whole
        Map<Long, String> perFile =
                Map.of(ContainerSpec.DEFAULT_LOG_MAX_BYTES, "10m", (6L << 20) + 3 * 1024, "2049k", 4L << 20, "1398101");
        for (var e : perFile.entrySet()) {
            String id = runtime.create(
                    TestDocker.spec(TestDocker.SLEEPER).logMaxBytes(e.getKey()).build());
            HostConfig h = raw.inspectContainerCmd(id).exec().getHostConfig();
            assertThat(h.getLogConfig().getType().getType()).isEqualTo("json-file");
            assertThat(h.getLogConfig().getConfig())
                    .as("log of %d bytes", e.getKey())
                    .containsExactlyInAnyOrderEntriesOf(Map.of("max-size", e.getValue(), "max-file", "3"));
        }
        // the engine takes a size in bytes: the container runs
        String odd = runtime.create(
                TestDocker.spec(TestDocker.SLEEPER).logMaxBytes(4L << 20).build());
        runtime.start(odd);
        assertThat(runtime.inspect(odd).orElseThrow().running()).isTrue();

        var withStdin = raw.inspectContainerCmd(runtime.create(
                        TestDocker.spec(TestDocker.SLEEPER).stdin(true).build()))
                .exec()
                .getConfig();
        assertThat(withStdin.getStdinOpen()).isTrue();
        assertThat(withStdin.getStdInOnce()).isFalse();
        assertThat(withStdin.getTty()).isFalse();
        var without = raw.inspectContainerCmd(
                        runtime.create(TestDocker.spec(TestDocker.SLEEPER).build()))
                .exec()
                .getConfig();
        assertThat(without.getStdinOpen()).isFalse();
        assertThat(without.getTty()).isFalse();
    }

    @Test
    void the_process_runs_without_capabilities_or_new_privileges_under_init() {
        String id = runtime.create(TestDocker.spec(TestDocker.BUSYBOX)
                .command("sh", "-c", "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; cat /proc/1/comm")
                .build());
        runtime.start(id);
        awaitExited(id);

        String out = runtime.logs(id, 100);
        assertThat(out)
                .contains("CapEff:\t0000000000000000")
                .contains("NoNewPrivs:\t1")
                .contains("docker-init");
    }

    @Test
    void inspect_reports_state_name_labels_and_times() {
        ContainerSpec spec = TestDocker.spec(TestDocker.SLEEPER).build();
        String id = runtime.create(spec);

        ContainerState created = runtime.inspect(id).orElseThrow();
        assertThat(created.status()).isEqualTo(ContainerStatus.CREATED);
        assertThat(created.name()).isEqualTo(spec.name());
        assertThat(created.image()).isEqualTo(TestDocker.SLEEPER);
        assertThat(created.instanceId()).contains(spec.instanceId());
        assertThat(created.startedAt()).isEmpty();
        assertThat(created.finishedAt()).isEmpty();

        Instant before = Instant.now().minusSeconds(5);
        runtime.start(id);
        ContainerState running = runtime.inspect(id).orElseThrow();
        assertThat(running.running()).isTrue();
        assertThat(running.startedAt()).hasValueSatisfying(t -> assertThat(t).isAfter(before));
        // by name as well as by id
        assertThat(runtime.inspect(spec.name())).map(ContainerState::id).contains(id);
    }

    @Test
    void inspect_of_a_missing_container_is_empty() {
        assertThat(runtime.inspect("pier-test-no-such-container")).isEmpty();
        assertThat(runtime.inspect("0123456789abcdef0123456789abcdef")).isEmpty();
    }

    @Test
    void stop_is_graceful_prompt_and_idempotent() {
        String id = runtime.create(TestDocker.spec(TestDocker.SLEEPER).build());
        runtime.start(id);
        runtime.start(id); // already running: nothing to do

        long t0 = System.nanoTime();
        runtime.stop(id, Duration.ofSeconds(10));
        Duration took = Duration.ofNanos(System.nanoTime() - t0);

        // init passes SIGTERM on to `sleep`, which dies of it at once: no wait for the 10 s grace period
        // (~0.3 s here; the bound leaves room for a loaded machine)
        assertThat(took).isLessThan(Duration.ofSeconds(5));
        ContainerState stopped = runtime.inspect(id).orElseThrow();
        assertThat(stopped.status()).isEqualTo(ContainerStatus.EXITED);
        assertThat(stopped.exitCode()).isEqualTo(128 + 15);
        assertThat(stopped.finishedAt()).isPresent();

        runtime.stop(id, Duration.ofSeconds(10)); // stopped already: fine
        runtime.kill(id); // not running: fine
        assertThat(runtime.inspect(id).orElseThrow().exitCode()).isEqualTo(143);
    }

    @Test
    void kill_ends_the_container_at_once() {
        String id = runtime.create(TestDocker.spec(TestDocker.SLEEPER).build());
        runtime.start(id);
        runtime.kill(id);
        await().atMost(Duration.ofSeconds(5))
                .until(() -> !runtime.inspect(id).orElseThrow().running());
        assertThat(runtime.inspect(id).orElseThrow().exitCode()).isEqualTo(137);
    }

    @Test
    void restart_starts_a_new_run() {
        String id = runtime.create(TestDocker.spec(TestDocker.SLEEPER).build());
        runtime.start(id);
        Instant firstStart = runtime.inspect(id).orElseThrow().startedAt().orElseThrow();

        runtime.restart(id, Duration.ofSeconds(5));

        ContainerState after = runtime.inspect(id).orElseThrow();
        assertThat(after.running()).isTrue();
        assertThat(after.startedAt()).hasValueSatisfying(t -> assertThat(t).isAfter(firstStart));
    }

    @Test
    void remove_needs_force_for_a_running_container_and_is_idempotent() {
        String id = runtime.create(TestDocker.spec(TestDocker.SLEEPER).build());
        runtime.start(id);

        assertThatThrownBy(() -> runtime.remove(id, false)).isInstanceOf(ContainerConflictException.class);
        runtime.remove(id, true);
        assertThat(runtime.inspect(id)).isEmpty();

        runtime.remove(id, false);
        runtime.remove(id, true);
        runtime.remove("pier-test-never-existed", false);
    }

    @Test
    void calls_on_a_missing_container_say_so() {
        String missing = "pier-test-missing-" + TestDocker.RUN_ID;
        assertThatThrownBy(() -> runtime.start(missing)).isInstanceOf(ContainerNotFoundException.class);
        assertThatThrownBy(() -> runtime.stop(missing, Duration.ofSeconds(1)))
                .isInstanceOf(ContainerNotFoundException.class);
        assertThatThrownBy(() -> runtime.kill(missing)).isInstanceOf(ContainerNotFoundException.class);
        assertThatThrownBy(() -> runtime.restart(missing, Duration.ofSeconds(1)))
                .isInstanceOf(ContainerNotFoundException.class);
        assertThatThrownBy(() -> runtime.logs(missing, 10)).isInstanceOf(ContainerNotFoundException.class);
    }

    @Test
    void create_refuses_a_taken_name_and_a_missing_image() {
        ContainerSpec spec = TestDocker.spec(TestDocker.SLEEPER).build();
        runtime.create(spec);

        assertThatThrownBy(() -> runtime.create(spec))
                .isInstanceOf(ContainerConflictException.class)
                .hasMessageContaining(spec.name());
        assertThatThrownBy(() ->
                        runtime.create(TestDocker.spec("pier-test/absent:none").build()))
                .isInstanceOf(ImageNotFoundException.class)
                .hasMessageContaining("pier-test/absent:none");
    }

    @Test
    void start_failure_carries_the_engine_message() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(InetAddress.getByName("0.0.0.0"), 0));
            String id = runtime.create(TestDocker.spec(TestDocker.SLEEPER)
                    .port(ContainerSpec.PortBinding.tcp(80, taken.getLocalPort()))
                    .build());

            assertThatThrownBy(() -> runtime.start(id))
                    .isInstanceOf(RuntimeOperationException.class)
                    .hasMessageContaining(String.valueOf(taken.getLocalPort()));
        }
    }

    @Test
    void engine_refusals_of_limits_are_operation_errors_in_piers_words() {
        // the engine says "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available": that text is
        // for the server log; the message reaches API clients, and never quotes another service's answer
        assertThatThrownBy(() -> runtime.create(
                        TestDocker.spec(TestDocker.SLEEPER).cpus(4096).build()))
                .isInstanceOf(RuntimeOperationException.class)
                .hasMessageContaining("the node refused to create")
                .hasMessageContaining("HTTP 400")
                .message()
                .doesNotContainIgnoringCase("range of cpus")
                .doesNotContainIgnoringCase("available");
    }

    @Test
    void images_are_known_and_pulls_from_an_unreachable_registry_fail_as_operations() {
        assertThat(runtime.imageExists(TestDocker.BUSYBOX)).isTrue();
        assertThat(runtime.imageExists("pier-test/absent:none")).isFalse();

        List<String> progress = new ArrayList<>();
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> runtime.pullImage("127.0.0.1:1/pier-test/absent:1", progress::add))
                .isInstanceOf(RuntimeOperationException.class)
                .hasMessageContaining("127.0.0.1:1");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(20));
    }

    @Test
    void listManaged_finds_only_pier_labelled_containers() {
        ContainerSpec spec = TestDocker.spec(TestDocker.SLEEPER).build();
        String managed = runtime.create(spec);
        String unmanaged = raw.createContainerCmd(TestDocker.SLEEPER)
                .withName("pier-test-unmanaged-" + TestDocker.RUN_ID)
                .withLabels(Map.of(TestDocker.RUN_LABEL, TestDocker.RUN_ID))
                .exec()
                .getId();

        List<ContainerSummary> listed = runtime.listManaged();

        assertThat(listed).extracting(ContainerSummary::id).contains(managed).doesNotContain(unmanaged);
        assertThat(listed).allSatisfy(c -> assertThat(c.labels()).containsEntry(PierLabels.MANAGED, "true"));
        ContainerSummary ours =
                listed.stream().filter(c -> c.id().equals(managed)).findFirst().orElseThrow();
        assertThat(ours.instanceId()).contains(spec.instanceId());
        assertThat(ours.name()).isEqualTo(spec.name());
        assertThat(ours.status()).isEqualTo(ContainerStatus.CREATED);
    }

    @Test
    void logs_return_the_output_and_honour_tail() {
        String id = runtime.create(TestDocker.spec(TestDocker.BUSYBOX)
                // stdout and stderr are copied separately: the pause keeps the last line last
                .command("sh", "-c", "echo hello from pier; echo to stderr >&2; sleep 0.3; echo last line")
                .build());
        runtime.start(id);
        awaitExited(id);

        assertThat(runtime.logs(id, 100)).contains("hello from pier\n", "to stderr\n", "last line\n");
        assertThat(runtime.logs(id, 1)).isEqualTo("last line\n");
    }

    @Test
    @SuppressWarnings("try")
    void events_report_a_container_killed_behind_piers_back() throws Exception {
        ContainerSpec spec = TestDocker.spec(TestDocker.SLEEPER).build();
        List<RuntimeEvent> events = new CopyOnWriteArrayList<>();
        try (Closeable subscription = runtime.events(events::add)) {
            String id = runtime.create(spec);
            runtime.start(id);
            raw.killContainerCmd(id).exec();

            await().atMost(Duration.ofSeconds(10))
                    .until(() -> events.stream()
                            .anyMatch(e -> e.kind() == RuntimeEvent.Kind.DIE
                                    && e.containerId().equals(id)));
            RuntimeEvent die = events.stream()
                    .filter(e ->
                            e.kind() == RuntimeEvent.Kind.DIE && e.containerId().equals(id))
                    .findFirst()
                    .orElseThrow();
            assertThat(die.exitCode()).hasValue(137);
            assertThat(die.instanceId()).contains(spec.instanceId());
            assertThat(die.containerName()).isEqualTo(spec.name());
            assertThat(events)
                    .anyMatch(e -> e.kind() == RuntimeEvent.Kind.START
                            && e.containerId().equals(id));

            runtime.remove(id, false);
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> events.stream()
                            .anyMatch(e -> e.kind() == RuntimeEvent.Kind.DESTROY
                                    && e.containerId().equals(id)));
        }
    }

    @Test
    @SuppressWarnings("try")
    void events_leave_out_containers_without_piers_label() throws Exception {
        List<RuntimeEvent> events = new CopyOnWriteArrayList<>();
        try (Closeable subscription = runtime.events(events::add)) {
            String unmanaged = raw.createContainerCmd(TestDocker.BUSYBOX)
                    .withCmd("true")
                    .withLabels(Map.of(TestDocker.RUN_LABEL, TestDocker.RUN_ID))
                    .exec()
                    .getId();
            String managed = runtime.create(
                    TestDocker.spec(TestDocker.BUSYBOX).command("true").build());
            raw.startContainerCmd(unmanaged).exec();
            runtime.start(managed);

            await().atMost(Duration.ofSeconds(10))
                    .until(() -> events.stream()
                            .anyMatch(e -> e.kind() == RuntimeEvent.Kind.DIE
                                    && e.containerId().equals(managed)));
            assertThat(events).noneMatch(e -> e.containerId().equals(unmanaged));
        }
    }

    @Test
    void an_unreachable_engine_fails_fast() {
        try (DockerRuntime nowhere = DockerRuntime.connect(DockerEndpoint.parse("tcp://127.0.0.1:1"))) {
            for (Runnable call : List.<Runnable>of(
                    nowhere::ping,
                    nowhere::listManaged,
                    () -> nowhere.inspect("x"),
                    () -> nowhere.create(TestDocker.spec(TestDocker.SLEEPER).build()),
                    () -> nowhere.stop("x", Duration.ofSeconds(10)))) {
                long t0 = System.nanoTime();
                assertThatThrownBy(call::run)
                        .isInstanceOf(RuntimeUnavailableException.class)
                        .hasMessageContaining("tcp://127.0.0.1:1");
                assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(3));
            }
        }
    }

    @Test
    void a_missing_socket_is_unavailable() throws Exception {
        Path dir = Files.createTempDirectory("pier-nosock");
        try (DockerRuntime nowhere = DockerRuntime.connect(DockerEndpoint.unix(dir.resolve("docker.sock")))) {
            assertThatThrownBy(nowhere::ping).isInstanceOf(RuntimeUnavailableException.class);
        } finally {
            Files.deleteIfExists(dir);
        }
    }

    @Test
    void an_engine_that_accepts_but_never_answers_times_out() throws Exception {
        // the kernel completes the handshake from the backlog; nobody ever reads the request
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            DockerEndpoint endpoint = DockerEndpoint.tcp("127.0.0.1", silent.getLocalPort())
                    .withDeadlines(new DockerEndpoint.Deadlines(
                            Duration.ofSeconds(1),
                            Duration.ofSeconds(1),
                            Duration.ofSeconds(1),
                            Duration.ofSeconds(1),
                            Duration.ofSeconds(1),
                            Duration.ofSeconds(40)));
            try (DockerRuntime hung = DockerRuntime.connect(endpoint)) {
                long t0 = System.nanoTime();
                assertThatThrownBy(hung::ping).isInstanceOf(RuntimeUnavailableException.class);
                assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(3));
            }
        }
    }

    @Test
    void events_on_an_unreachable_engine_return_promptly_and_close_cleanly() throws Exception {
        try (DockerRuntime nowhere = DockerRuntime.connect(DockerEndpoint.parse("tcp://127.0.0.1:1"))) {
            long t0 = System.nanoTime();
            Closeable subscription = nowhere.events(e -> {});
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(6));
            subscription.close();
        }
    }

    private static void awaitExited(String id) {
        await().atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> runtime.inspect(id).orElseThrow().status() == ContainerStatus.EXITED);
    }
}
