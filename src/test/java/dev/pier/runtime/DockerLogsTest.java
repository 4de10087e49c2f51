package dev.pier.runtime;

import com.github.dockerjava.api.DockerClient;
import dev.pier.support.DatabaseFree;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

/** {@link DockerRuntime#readLogs} against the real local engine. */
@DatabaseFree
class DockerLogsTest {
    /** Prints "out N" to stdout and "err N" to stderr, twenty times a second. */
    private static final String CHATTY =
            "i=0; while true; do echo out $i; echo err $i >&2; i=$((i+1)); sleep 0.05; done";

    private static final Pattern NUMBERED = Pattern.compile("(out|err) (\\d+)");

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

    private static LogRequest all() {
        return new LogRequest(Optional.empty(), Optional.empty(), OptionalInt.empty(), false, true, true);
    }

    private static List<LogLine> readAll(LogRequest request, String id) {
        List<LogLine> lines = new ArrayList<>();
        try (LogReader r = runtime.readLogs(id, request)) {
            for (LogLine l = r.next(); l != null; l = r.next()) {
                lines.add(l);
            }
        }
        return lines;
    }

    /** A running chatty container with at least {@code lines} lines in its log. */
    private static String chatty(int lines) {
        String id = runtime.create(
                TestDocker.spec(TestDocker.BUSYBOX).command("sh", "-c", CHATTY).build());
        runtime.start(id);
        await().atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> readAll(all(), id).size() >= lines);
        return id;
    }

    /** Checks a line's text against its stream and returns its number. */
    private static int number(LogLine l) {
        Matcher m = NUMBERED.matcher(l.text());
        assertThat(m.matches()).as("line %s", l).isTrue();
        assertThat(m.group(1)).isEqualTo(l.output() == Output.STDOUT ? "out" : "err");
        return Integer.parseInt(m.group(2));
    }

    /** Every line of each stream, numbered 0, 1, 2, ... with no gap and no repeat. */
    private static void assertComplete(List<LogLine> lines) {
        for (Output o : Output.values()) {
            List<Integer> numbers = lines.stream()
                    .filter(l -> l.output() == o)
                    .map(DockerLogsTest::number)
                    .toList();
            assertThat(numbers).as("the %s lines", o).isNotEmpty();
            for (int i = 0; i < numbers.size(); i++) {
                assertThat(numbers.get(i)).as("%s line %d of %s", o, i, numbers).isEqualTo(i);
            }
        }
    }

    @Test
    void tail_gives_the_last_lines_of_both_streams_with_the_engines_times() {
        Instant before = Instant.now().minusSeconds(60);
        String id = chatty(40);

        List<LogLine> lines = readAll(LogRequest.tail(10), id);

        assertThat(lines).hasSize(10);
        assertThat(lines).extracting(LogLine::output).contains(Output.STDOUT, Output.STDERR);
        for (Output o : Output.values()) {
            List<LogLine> of = lines.stream().filter(l -> l.output() == o).toList();
            for (int i = 1; i < of.size(); i++) {
                assertThat(number(of.get(i))).isEqualTo(number(of.get(i - 1)) + 1);
                assertThat(of.get(i).time()).isAfter(of.get(i - 1).time());
            }
        }
        assertThat(lines).allSatisfy(l -> assertThat(l.time()).isAfter(before).isBefore(Instant.now()));
        // the engine's times have nanoseconds
        assertThat(lines).anySatisfy(l -> assertThat(l.time().getNano() % 1000).isNotZero());
        // and are the newest lines: the last one is younger than a second or two
        assertThat(lines.getLast().time()).isAfter(Instant.now().minusSeconds(5));

        assertThat(readAll(LogRequest.tail(0), id)).isEmpty();
    }

    @Test
    void since_is_inclusive_to_the_nanosecond_so_a_read_resumes_without_gap_or_repeat() throws Exception {
        String id = chatty(20);

        List<LogLine> first = readAll(all(), id);
        Instant cursor = first.getLast().time();
        Set<LogLine> seenAtCursor = new HashSet<>(
                first.stream().filter(l -> l.time().equals(cursor)).toList());
        Thread.sleep(500);

        List<LogLine> second = readAll(
                new LogRequest(Optional.of(cursor), Optional.empty(), OptionalInt.empty(), false, true, true), id);

        // inclusive: the read starts with the line at the cursor, seen already
        assertThat(second.getFirst().time()).isEqualTo(cursor);
        assertThat(second).allSatisfy(l -> assertThat(l.time()).isAfterOrEqualTo(cursor));
        int skip = 0;
        while (skip < second.size()
                && second.get(skip).time().equals(cursor)
                && seenAtCursor.contains(second.get(skip))) {
            skip++;
        }
        assertThat(skip).isEqualTo(seenAtCursor.size());
        List<LogLine> resumed = new ArrayList<>(first);
        resumed.addAll(second.subList(skip, second.size()));
        assertThat(resumed.size()).isGreaterThan(first.size() + 10); // half a second more of output
        assertComplete(resumed);
        assertThat(new HashSet<>(resumed)).hasSameSizeAs(resumed);
    }

    @Test
    void until_ends_the_read_before_that_time_also_with_a_tail() {
        String id = chatty(60);
        runtime.kill(id); // a log that no longer grows
        List<LogLine> all = readAll(all(), id);
        assertComplete(all);
        Instant until = all.get(40).time();
        List<LogLine> expected =
                all.stream().filter(l -> l.time().isBefore(until)).toList();
        assertThat(expected).hasSizeGreaterThan(30);

        assertThat(readAll(
                        new LogRequest(Optional.empty(), Optional.of(until), OptionalInt.empty(), false, true, true),
                        id))
                .isEqualTo(expected);
        // the last five before that time, not the last five of the log (which the engine gives for tail + until)
        assertThat(readAll(
                        new LogRequest(Optional.empty(), Optional.of(until), OptionalInt.of(5), false, true, true), id))
                .isEqualTo(expected.subList(expected.size() - 5, expected.size()));
        // a window: since inclusive, until exclusive
        Instant since = all.get(10).time();
        assertThat(readAll(
                        new LogRequest(Optional.of(since), Optional.of(until), OptionalInt.of(3), false, true, true),
                        id))
                .isEqualTo(expected.subList(expected.size() - 3, expected.size()));
        assertThat(readAll(
                        new LogRequest(Optional.of(since), Optional.of(until), OptionalInt.empty(), false, true, true),
                        id))
                .isEqualTo(
                        expected.stream().filter(l -> !l.time().isBefore(since)).toList());
        // nothing before the first line
        assertThat(readAll(
                        new LogRequest(
                                Optional.empty(),
                                Optional.of(all.getFirst().time()),
                                OptionalInt.of(5),
                                false,
                                true,
                                true),
                        id))
                .isEmpty();
    }

    @Test
    void stdout_and_stderr_can_be_read_alone() {
        String id = chatty(20);
        runtime.kill(id);
        List<LogLine> all = readAll(all(), id);

        List<LogLine> out = readAll(
                new LogRequest(Optional.empty(), Optional.empty(), OptionalInt.empty(), false, true, false), id);
        List<LogLine> err = readAll(
                new LogRequest(Optional.empty(), Optional.empty(), OptionalInt.empty(), false, false, true), id);

        assertThat(out).isNotEmpty().allSatisfy(l -> assertThat(l.text()).startsWith("out "));
        assertThat(out)
                .isEqualTo(all.stream().filter(l -> l.output() == Output.STDOUT).toList());
        assertThat(err).isNotEmpty().allSatisfy(l -> assertThat(l.text()).startsWith("err "));
        assertThat(err)
                .isEqualTo(all.stream().filter(l -> l.output() == Output.STDERR).toList());
    }

    @Test
    void a_followed_read_delivers_new_lines_and_ends_when_the_container_stops() throws Exception {
        String id = chatty(1);
        Instant from = Instant.now();

        try (LogReader r = runtime.readLogs(id, LogRequest.followFrom(from))) {
            List<LogLine> fresh = new ArrayList<>();
            while (fresh.size() < 20) {
                fresh.add(r.next());
            }
            assertThat(fresh).allSatisfy(l -> assertThat(l.time()).isAfterOrEqualTo(from));
            // lines written after the read was opened: later than anything there was before
            assertThat(fresh.getLast().time()).isAfter(Instant.now().minusSeconds(2));

            runtime.stop(id, Duration.ofSeconds(5));
            long t0 = System.nanoTime();
            CompletableFuture<Integer> rest = CompletableFuture.supplyAsync(() -> {
                int n = 0;
                while (r.next() != null) {
                    n++;
                }
                return n;
            });
            rest.get(10, TimeUnit.SECONDS);
            System.out.printf(
                    "followed read ended %d ms after the container stopped%n",
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
            assertThat(r.next()).isNull();
        }
    }

    @Test
    void close_from_another_thread_ends_a_waiting_next_within_a_second() throws Exception {
        String id = runtime.create(TestDocker.spec(TestDocker.SLEEPER).build()); // silent
        runtime.start(id);
        LogReader r = runtime.readLogs(id, LogRequest.followFrom(Instant.now()));
        AtomicLong closedAt = new AtomicLong();
        CompletableFuture.runAsync(() -> {
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            closedAt.set(System.nanoTime());
            r.close();
        });

        Throwable t = catchThrowable(() -> assertThat(r.next()).isNull());
        long took = System.nanoTime() - closedAt.get();
        System.out.printf("next() ended %d ms after close()%n", TimeUnit.NANOSECONDS.toMillis(took));
        assertThat(closedAt.get()).isNotZero();
        assertThat(Duration.ofNanos(took)).isLessThan(Duration.ofSeconds(1));
        if (t != null) {
            assertThat(t).isInstanceOf(RuntimeUnavailableException.class).hasMessageContaining("closed");
        }
        r.close(); // idempotent
    }

    @Test
    void an_unknown_container_fails_when_the_read_opens() {
        assertThatThrownBy(() -> runtime.readLogs("pier-test-no-such-container", LogRequest.tail(5)))
                .isInstanceOf(ContainerNotFoundException.class);
        assertThatThrownBy(() -> runtime.readLogs("pier-test-no-such-container", LogRequest.followFrom(Instant.now())))
                .isInstanceOf(ContainerNotFoundException.class);
        assertThatThrownBy(() -> runtime.readLogs(
                        "pier-test-no-such-container",
                        new LogRequest(
                                Optional.empty(), Optional.of(Instant.now()), OptionalInt.of(5), false, true, true)))
                .isInstanceOf(ContainerNotFoundException.class);
    }

    /**
     * A log larger than the 64 MiB the transport allows an ordinary stream, read whole: it streams through
     * with the heap flat (what is live after a collection stays put).
     */
    @Test
    void a_whole_large_log_streams_through_with_flat_memory() {
        String text = "x".repeat(1023); // 1 KiB a line with its newline
        // 64 MiB of output, over 66 MiB on the wire with the frame headers and timestamps: more than the
        // transport's limit for an ordinary stream
        int count = 64 * 1024;
        long t0 = System.nanoTime();
        String id = runtime.create(TestDocker.spec(TestDocker.BUSYBOX)
                .env("L", text)
                .command("sh", "-c", "yes \"$L\" | head -n " + count)
                .logMaxBytes(3L * 128 * 1024 * 1024)
                .build());
        runtime.start(id);
        await().atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> !runtime.inspect(id).orElseThrow().running());
        long written = System.nanoTime();

        Runtime jvm = Runtime.getRuntime();
        System.gc();
        long base = jvm.totalMemory() - jvm.freeMemory();
        long peak = base;
        int lines = 0;
        int wrong = 0;
        long bytes = 0;
        try (LogReader r = runtime.readLogs(id, all())) {
            for (LogLine l = r.next(); l != null; l = r.next()) {
                lines++;
                bytes += l.text().length() + 1;
                if (!l.text().equals(text) || l.output() != Output.STDOUT) {
                    wrong++;
                }
                if (lines % 8192 == 0) {
                    System.gc();
                    peak = Math.max(peak, jvm.totalMemory() - jvm.freeMemory());
                }
            }
        }
        long read = System.nanoTime();
        System.out.printf(
                "large log: %d lines, %d MiB written in %d ms, read in %d ms; heap live %d MiB before, "
                        + "at most %d MiB while reading (growth %d MiB)%n",
                lines,
                bytes >> 20,
                TimeUnit.NANOSECONDS.toMillis(written - t0),
                TimeUnit.NANOSECONDS.toMillis(read - written),
                base >> 20,
                peak >> 20,
                (peak - base) >> 20);
        assertThat(lines).isEqualTo(count);
        assertThat(wrong).isZero();
        assertThat(peak - base).isLessThan(64L << 20);
    }
}
