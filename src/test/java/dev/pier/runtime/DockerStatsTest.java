package dev.pier.runtime;

import com.github.dockerjava.api.DockerClient;
import dev.pier.support.DatabaseFree;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** {@link DockerRuntime#readStats} and {@link DockerRuntime#statsOnce} against the real local engine. */
@DatabaseFree
class DockerStatsTest {
    private static final Pattern SIZE = Pattern.compile("^\\s*([0-9.]+)\\s*(B|kB|KiB|MiB|GiB)\\s*/.*$");

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

    /** What {@code docker stats} shows as the container's memory use. */
    private static long cliMemory(String id) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", id)
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        Matcher m = SIZE.matcher(out);
        assertThat(m.matches()).as("docker stats said %s", out).isTrue();
        double value = Double.parseDouble(m.group(1));
        long unit = switch (m.group(2)) {
            case "B" -> 1L;
            case "kB", "KiB" -> 1L << 10;
            case "MiB" -> 1L << 20;
            default -> 1L << 30;
        };
        return Math.round(value * unit);
    }

    private static boolean dockerCli() {
        try {
            Process p = new ProcessBuilder("docker", "version", "--format", "{{.Client.Version}}")
                    .redirectErrorStream(true)
                    .start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    @Test
    void memory_is_what_docker_stats_shows() throws Exception {
        Assumptions.assumeTrue(dockerCli(), "skipped: the docker command line is not installed");
        // dd fills a 50 MiB buffer from /dev/zero, then blocks writing it to a pipe nobody reads: it holds it
        String id = runtime.create(TestDocker.spec(TestDocker.BUSYBOX)
                .memoryMiB(128)
                .command("sh", "-c", "dd if=/dev/zero bs=50M count=1 2>/dev/null | sleep 3600")
                .build());
        runtime.start(id);
        await().atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(200))
                .until(() -> runtime.statsOnce(id).memoryBytes() > 45L << 20);

        double closest = Double.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            // the command line samples for about as long as statsOnce: one before it, one after
            StatsSample before = runtime.statsOnce(id);
            long cli = cliMemory(id);
            StatsSample after = runtime.statsOnce(id);
            for (StatsSample s : List.of(before, after)) {
                closest = Math.min(closest, Math.abs(s.memoryBytes() - cli) / (double) cli);
            }
            System.out.printf(
                    Locale.ROOT,
                    "memory: statsOnce %.2f MiB, docker stats %.2f MiB, statsOnce %.2f MiB (limit %d MiB)%n",
                    before.memoryBytes() / 1048576.0,
                    cli / 1048576.0,
                    after.memoryBytes() / 1048576.0,
                    after.memoryLimitBytes() >> 20);
            assertThat(after.memoryLimitBytes()).isEqualTo(128L << 20);
            assertThat(after.pids()).isBetween(2L, 10L);
        }
        System.out.printf(Locale.ROOT, "memory: closest pair %.2f%% apart%n", closest * 100);
        assertThat(closest).isLessThan(0.05);
    }

    /** A started container that spins on all the CPU it may use: half a core. */
    private String busyOnHalfACpu() {
        String id = runtime.create(TestDocker.spec(TestDocker.BUSYBOX)
                .cpus(0.5)
                .command("sh", "-c", "while :; do :; done")
                .build());
        runtime.start(id);
        return id;
    }

    @Test
    void a_busy_container_limited_to_half_a_cpu_shows_about_fifty_percent_a_sample_a_second() throws Exception {
        String id = busyOnHalfACpu();

        List<StatsSample> samples = new ArrayList<>();
        List<Long> arrivals = new ArrayList<>();
        try (StatsReader r = runtime.readStats(id)) {
            while (samples.size() < 6) {
                StatsSample s = r.next();
                assertThat(s).isNotNull();
                samples.add(s);
                arrivals.add(System.nanoTime());
            }
        }
        for (int i = 0; i < samples.size(); i++) {
            StatsSample s = samples.get(i);
            System.out.printf(
                    Locale.ROOT,
                    "cpu sample %d: %s %.1f%% (%d ms after the previous one)%n",
                    i,
                    s.time(),
                    s.cpuPercent(),
                    i == 0 ? 0 : TimeUnit.NANOSECONDS.toMillis(arrivals.get(i) - arrivals.get(i - 1)));
        }
        // the first sample has no previous one to measure against
        assertThat(samples.getFirst().cpuPercent()).isZero();
        List<StatsSample> measured = samples.subList(2, samples.size());
        double mean =
                measured.stream().mapToDouble(StatsSample::cpuPercent).average().orElseThrow();
        assertThat(mean).isBetween(30.0, 70.0);
        assertThat(measured).allSatisfy(s -> assertThat(s.cpuPercent()).isBetween(20.0, 80.0));
        for (int i = 1; i < samples.size(); i++) {
            Duration apart =
                    Duration.between(samples.get(i - 1).time(), samples.get(i).time());
            assertThat(apart).isBetween(Duration.ofMillis(500), Duration.ofMillis(2500));
        }
        assertThat(samples).allSatisfy(s -> {
            assertThat(s.memoryBytes()).isPositive();
            assertThat(s.memoryLimitBytes()).isEqualTo(32L << 20);
            assertThat(s.pids()).isPositive();
            assertThat(s.netRxBytes()).isNotNegative();
        });
    }

    @Test
    void a_single_sample_measures_cpu_over_the_engines_interval() {
        String id = busyOnHalfACpu();

        long t0 = System.nanoTime();
        StatsSample s = runtime.statsOnce(id);
        System.out.printf(
                Locale.ROOT,
                "statsOnce: %.1f%% cpu in %d ms%n",
                s.cpuPercent(),
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        assertThat(s.cpuPercent()).isBetween(20.0, 80.0);
        assertThat(s.time()).isAfter(Instant.now().minusSeconds(10));
        assertThat(s.counters()).isNotNull();
        assertThat(s.counters().onlineCpus()).isPositive();
    }

    @Test
    void a_sample_measured_against_an_earlier_one_measures_cpu_since_then() throws Exception {
        String id = busyOnHalfACpu();
        StatsSample earlier = runtime.statsOnce(id);
        // the span to measure over: past the engine's next collection, whatever its phase
        Thread.sleep(1_500);

        StatsSample s = runtime.statsOnce(id, earlier);
        System.out.printf(
                Locale.ROOT,
                "statsOnce against a sample %d ms older: %.1f%% cpu%n",
                Duration.between(earlier.time(), s.time()).toMillis(),
                s.cpuPercent());
        assertThat(s.time()).isAfter(earlier.time());
        assertThat(s.cpuPercent()).isBetween(20.0, 80.0);
        assertThat(s.counters().containerNanos())
                .isGreaterThan(earlier.counters().containerNanos());

        // the counters of another container (or run) say nothing of this one: no use rather than a wrong one
        StatsSample.CpuCounters later = new StatsSample.CpuCounters(
                earlier.counters().containerNanos() * 2 + 1_000_000_000L,
                earlier.counters().systemNanos() - 1,
                2);
        StatsSample other = new StatsSample(earlier.time(), 0, 0, 0, 0, 0, 0, 0, 0, later);
        assertThat(runtime.statsOnce(id, other).cpuPercent()).isZero();
    }

    @Test
    void a_stopped_container_shows_no_use_and_its_stream_nothing() throws Exception {
        String id = runtime.create(TestDocker.spec(TestDocker.SLEEPER).build());
        runtime.start(id);
        runtime.stop(id, Duration.ofSeconds(5));

        StatsSample s = runtime.statsOnce(id);
        assertThat(s.cpuPercent()).isZero();
        assertThat(s.memoryBytes()).isZero();
        assertThat(s.pids()).isZero();

        // the engine sends an empty sample a second, which the stream skips: next() waits until closed
        StatsReader r = runtime.readStats(id);
        CompletableFuture<StatsSample> next = CompletableFuture.supplyAsync(r::next);
        Thread.sleep(2500);
        assertThat(next).isNotDone();
        r.close();
        assertThat(next)
                .failsWithin(Duration.ofSeconds(1))
                .withThrowableThat()
                .havingCause()
                .isInstanceOf(RuntimeUnavailableException.class)
                .withMessageContaining("closed");
    }

    @Test
    void removing_the_container_ends_its_stream() throws Exception {
        String id = runtime.create(TestDocker.spec(TestDocker.SLEEPER).build());
        runtime.start(id);
        try (StatsReader r = runtime.readStats(id)) {
            assertThat(r.next()).isNotNull();
            runtime.remove(id, true);
            CompletableFuture<StatsSample> end = CompletableFuture.supplyAsync(() -> {
                StatsSample last = null;
                for (int i = 0; i < 10; i++) {
                    last = r.next();
                    if (last == null) {
                        break;
                    }
                }
                return last;
            });
            assertThat(end.get(10, TimeUnit.SECONDS)).isNull();
        }
    }

    @Test
    void an_unknown_container_is_not_found() {
        assertThatThrownBy(() -> runtime.statsOnce("pier-test-no-such-container"))
                .isInstanceOf(ContainerNotFoundException.class);
        assertThatThrownBy(() -> runtime.readStats("pier-test-no-such-container"))
                .isInstanceOf(ContainerNotFoundException.class);
    }
}
