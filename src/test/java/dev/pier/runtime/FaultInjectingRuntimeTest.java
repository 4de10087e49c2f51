package dev.pier.runtime;

import com.github.dockerjava.api.DockerClient;
import dev.pier.runtime.FaultInjectingRuntime.Fault;
import dev.pier.runtime.FaultInjectingRuntime.Halted;
import dev.pier.runtime.FaultInjectingRuntime.Operation;
import dev.pier.runtime.FaultInjectingRuntime.When;
import dev.pier.support.DatabaseFree;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The fault hook crash-safety tests rely on, over the real engine. */
@DatabaseFree
class FaultInjectingRuntimeTest {
    private static DockerRuntime docker;
    private static DockerClient raw;

    @BeforeAll
    static void connect() {
        docker = TestDocker.connect();
        raw = TestDocker.raw(docker.endpoint());
    }

    @AfterEach
    void removeContainers() {
        if (raw != null) {
            TestDocker.removeOurContainers(raw);
        }
    }

    @AfterAll
    static void close() throws Exception {
        if (docker != null) {
            docker.close();
        }
        if (raw != null) {
            raw.close();
        }
    }

    @Test
    void a_fault_after_create_hides_a_container_that_exists() {
        FaultInjectingRuntime runtime = new FaultInjectingRuntime(docker)
                .failAfter(Operation.CREATE, () -> new RuntimeUnavailableException("lost the answer"));
        ContainerSpec spec = TestDocker.spec(TestDocker.SLEEPER).build();

        assertThatThrownBy(() -> runtime.create(spec)).isInstanceOf(RuntimeUnavailableException.class);

        // the engine did it: a retry sees the name taken, and the labels lead to the container
        assertThat(runtime.listManaged()).anyMatch(c -> c.instanceId().equals(Optional.of(spec.instanceId())));
        assertThatThrownBy(() -> runtime.create(spec)).isInstanceOf(ContainerConflictException.class);
        assertThat(runtime.calls(Operation.CREATE)).isEqualTo(2);
        assertThat(runtime.armed()).isFalse();
    }

    @Test
    void a_fault_before_start_keeps_the_call_from_the_engine() {
        FaultInjectingRuntime runtime = new FaultInjectingRuntime(docker);
        String id = runtime.create(TestDocker.spec(TestDocker.SLEEPER).build());
        runtime.failBefore(Operation.START, () -> new RuntimeOperationException("injected"));

        assertThatThrownBy(() -> runtime.start(id))
                .isInstanceOf(RuntimeOperationException.class)
                .hasMessage("injected");
        assertThat(runtime.inspect(id).orElseThrow().status()).isEqualTo(ContainerStatus.CREATED);

        runtime.start(id); // one-shot: the next call goes through
        assertThat(runtime.inspect(id).orElseThrow().running()).isTrue();
    }

    @Test
    void a_halt_that_returns_ends_the_operation_with_an_error_not_an_exception() {
        AtomicBoolean halted = new AtomicBoolean();
        FaultInjectingRuntime runtime =
                new FaultInjectingRuntime(docker).haltAfter(Operation.CREATE, () -> halted.set(true));
        ContainerSpec spec = TestDocker.spec(TestDocker.SLEEPER).build();

        assertThatThrownBy(() -> runtime.create(spec))
                .isInstanceOf(Halted.class)
                .isNotInstanceOf(RuntimeException.class);
        assertThat(halted).isTrue();
        assertThat(docker.inspect(spec.name())).isPresent();
    }

    @Test
    void faults_can_skip_calls_and_repeat() {
        FaultInjectingRuntime runtime = new FaultInjectingRuntime(docker)
                .arm(
                        Operation.PING,
                        When.BEFORE,
                        Fault.unavailable().afterSkipping(1).times(2));

        runtime.ping();
        assertThatThrownBy(runtime::ping).isInstanceOf(RuntimeUnavailableException.class);
        assertThatThrownBy(runtime::ping).isInstanceOf(RuntimeUnavailableException.class);
        runtime.ping();
        assertThat(runtime.calls(Operation.PING)).isEqualTo(4);

        runtime.arm(Operation.LIST_MANAGED, When.BEFORE, Fault.unavailable().times(Integer.MAX_VALUE));
        assertThatThrownBy(runtime::listManaged).isInstanceOf(RuntimeUnavailableException.class);
        runtime.disarm();
        assertThat(runtime.listManaged()).isNotNull();
    }

    /**
     * What "kill Pier mid-deploy" looks like: a child JVM creates a container through the decorator, which
     * halts the process the moment the engine answered. The container exists; nobody recorded it.
     */
    @Test
    void halting_a_child_process_right_after_create_leaves_the_container_behind() throws Exception {
        UUID instance = UUID.randomUUID();
        String name = "pier-test-crash-" + instance.toString().substring(0, 8);
        Process child = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-XX:TieredStopAtLevel=1",
                        "-Xmx128m",
                        "-cp",
                        System.getProperty("java.class.path"),
                        CrashingDeploy.class.getName(),
                        instance.toString(),
                        name,
                        TestDocker.RUN_ID)
                .redirectErrorStream(true)
                .start();
        byte[] output = child.getInputStream().readAllBytes();
        assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();

        assertThat(child.exitValue())
                .as(new String(output, StandardCharsets.UTF_8))
                .isEqualTo(137);
        assertThat(new String(output, StandardCharsets.UTF_8)).doesNotContain("started");
        ContainerState left = docker.inspect(name).orElseThrow();
        assertThat(left.instanceId()).contains(instance);
        assertThat(left.status()).isEqualTo(ContainerStatus.CREATED);
    }

    /** The child of the test above. */
    static final class CrashingDeploy {
        public static void main(String[] args) {
            try (DockerRuntime docker = DockerRuntime.connect(TestDocker.endpoint())) {
                FaultInjectingRuntime runtime = new FaultInjectingRuntime(docker)
                        .haltAfter(Operation.CREATE, () -> Runtime.getRuntime().halt(137));
                String id = runtime.create(ContainerSpec.builder(UUID.fromString(args[0]), args[1], TestDocker.SLEEPER)
                        .memoryMiB(32)
                        .label(TestDocker.RUN_LABEL, args[2]) // the parent's run, which cleans up
                        .build());
                runtime.start(id);
                System.out.println("started " + id);
            }
        }
    }

    @Test
    void every_operation_has_a_fault_point() {
        // the decorator forwards all of ContainerRuntime; a new engine call must get a name here too.
        // close() and abortCalls() control the client itself and reach no engine, so they have none; a default
        // method only calls the others.
        long engineCalls = Arrays.stream(ContainerRuntime.class.getDeclaredMethods())
                .filter(m -> !m.isDefault() && !java.lang.reflect.Modifier.isStatic(m.getModifiers()))
                .filter(m -> !Set.of("close", "abortCalls").contains(m.getName()))
                .count();
        assertThat(List.of(Operation.values())).hasSize((int) engineCalls);
    }
}
