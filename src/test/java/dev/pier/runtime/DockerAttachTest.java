package dev.pier.runtime;

import com.github.dockerjava.api.DockerClient;
import dev.pier.support.DatabaseFree;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** {@link DockerRuntime#attach} against the real local engine. */
@DatabaseFree
class DockerAttachTest {
    /** Answers every line on stdin on both streams. */
    private static final String ECHO = "while read line; do echo \"got $line\"; echo \"err $line\" >&2; done";

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

    private static String running(ContainerSpec spec) {
        String id = runtime.create(spec);
        runtime.start(id);
        return id;
    }

    /** Reads the attachment on a thread of its own into a text per stream, until it ends. */
    private static final class Collector {
        final Map<Output, ByteArrayOutputStream> out = new ConcurrentHashMap<>();
        final CompletableFuture<Void> ended;

        Collector(Attachment a) {
            out.put(Output.STDOUT, new ByteArrayOutputStream());
            out.put(Output.STDERR, new ByteArrayOutputStream());
            // a thread of its own: the common pool has one thread on two cores, and a read blocks it
            ended = CompletableFuture.runAsync(
                    () -> {
                        for (Attachment.Chunk c = a.read(); c != null; c = a.read()) {
                            ByteArrayOutputStream b = out.get(c.output());
                            synchronized (b) {
                                b.writeBytes(c.bytes());
                            }
                        }
                    },
                    r -> Thread.ofPlatform().daemon().start(r));
        }

        String text(Output o) {
            ByteArrayOutputStream b = out.get(o);
            synchronized (b) {
                return b.toString(StandardCharsets.UTF_8);
            }
        }
    }

    @Test
    void what_is_written_reaches_stdin_and_the_answer_comes_back_on_both_streams() {
        String id = running(TestDocker.spec(TestDocker.BUSYBOX)
                .stdin(true)
                .command("sh", "-c", ECHO)
                .build());

        try (Attachment a = runtime.attach(id)) {
            Collector c = new Collector(a);
            long t0 = System.nanoTime();
            a.write("hello\n".getBytes(StandardCharsets.UTF_8));
            await().atMost(Duration.ofSeconds(2))
                    .pollInterval(Duration.ofMillis(10))
                    .until(() -> c.text(Output.STDOUT).contains("got hello\n")
                            && c.text(Output.STDERR).contains("err hello\n"));
            System.out.printf(
                    "attach: the answer came back %d ms after the write%n",
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
            assertThat(c.text(Output.STDOUT)).isEqualTo("got hello\n");
            assertThat(c.text(Output.STDERR)).isEqualTo("err hello\n");

            a.write("wörld\n".getBytes(StandardCharsets.UTF_8));
            await().atMost(Duration.ofSeconds(2))
                    .until(() -> c.text(Output.STDOUT).contains("got wörld\n"));
        }
        // the stdin stays open for the next attachment
        try (Attachment a = runtime.attach(id)) {
            Collector c = new Collector(a);
            a.write("again\n".getBytes(StandardCharsets.UTF_8));
            await().atMost(Duration.ofSeconds(2))
                    .until(() -> c.text(Output.STDOUT).contains("got again\n"));
        }
        assertThat(runtime.inspect(id).orElseThrow().running()).isTrue();
    }

    @Test
    void two_attachments_at_once_both_see_the_output_and_either_may_write() {
        String id = running(TestDocker.spec(TestDocker.BUSYBOX)
                .stdin(true)
                .command("sh", "-c", ECHO)
                .build());
        // made at the same time, as two clients opening consoles do
        CompletableFuture<Attachment> a1 = CompletableFuture.supplyAsync(
                () -> runtime.attach(id), r -> Thread.ofVirtual().start(r));
        CompletableFuture<Attachment> a2 = CompletableFuture.supplyAsync(
                () -> runtime.attach(id), r -> Thread.ofVirtual().start(r));
        try (Attachment first = a1.orTimeout(10, TimeUnit.SECONDS).join();
                Attachment second = a2.orTimeout(10, TimeUnit.SECONDS).join()) {
            Collector one = new Collector(first);
            Collector two = new Collector(second);
            first.write("from one\n".getBytes(StandardCharsets.UTF_8));
            await().atMost(Duration.ofSeconds(3))
                    .until(() -> one.text(Output.STDOUT).contains("got from one\n")
                            && two.text(Output.STDOUT).contains("got from one\n"));
            second.write("from two\n".getBytes(StandardCharsets.UTF_8));
            await().atMost(Duration.ofSeconds(3))
                    .until(() -> one.text(Output.STDOUT).contains("got from two\n")
                            && two.text(Output.STDOUT).contains("got from two\n"));
        }
    }

    @Test
    void the_attachment_ends_when_the_process_ends() throws Exception {
        String id = running(TestDocker.spec(TestDocker.BUSYBOX)
                .stdin(true)
                .command("sh", "-c", "read line; echo \"bye $line\"")
                .build());
        try (Attachment a = runtime.attach(id)) {
            Collector c = new Collector(a);
            a.write("now\n".getBytes(StandardCharsets.UTF_8));
            c.ended.get(5, TimeUnit.SECONDS);
            assertThat(c.text(Output.STDOUT)).isEqualTo("bye now\n");
            assertThat(a.read()).isNull();
        }
    }

    @Test
    void a_container_that_is_not_running_cannot_be_attached_to() {
        String created =
                runtime.create(TestDocker.spec(TestDocker.SLEEPER).stdin(true).build());
        assertThatThrownBy(() -> runtime.attach(created))
                .isInstanceOf(RuntimeOperationException.class)
                .hasMessageContaining("not running");

        String stopped = running(TestDocker.spec(TestDocker.SLEEPER).build());
        runtime.stop(stopped, Duration.ofSeconds(5));
        assertThatThrownBy(() -> runtime.attach(stopped))
                .isInstanceOf(RuntimeOperationException.class)
                .hasMessageContaining("not running");

        assertThatThrownBy(() -> runtime.attach("pier-test-no-such-container"))
                .isInstanceOf(ContainerNotFoundException.class);
    }

    @Test
    void writing_to_a_container_without_stdin_is_refused() {
        String id = running(TestDocker.spec(TestDocker.SLEEPER).build());
        try (Attachment a = runtime.attach(id)) {
            assertThatThrownBy(() -> a.write("hello\n".getBytes(StandardCharsets.UTF_8)))
                    .isInstanceOf(RuntimeOperationException.class)
                    .hasMessageContaining("has no stdin");
        }
    }

    @Test
    void close_from_another_thread_ends_a_waiting_read() throws Exception {
        String id = running(TestDocker.spec(TestDocker.SLEEPER).stdin(true).build());
        Attachment a = runtime.attach(id);
        CompletableFuture<Attachment.Chunk> read = CompletableFuture.supplyAsync(a::read);
        Thread.sleep(500);
        assertThat(read).isNotDone();

        long t0 = System.nanoTime();
        a.close();
        assertThat(read.get(1, TimeUnit.SECONDS)).isNull();
        System.out.printf(
                "attach: read() ended %d ms after close()%n", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        assertThat(a.read()).isNull();
        a.close(); // idempotent
        assertThat(runtime.inspect(id).orElseThrow().running()).isTrue();
    }

    @Test
    void closing_the_runtime_closes_its_attachments() throws Exception {
        String id = running(TestDocker.spec(TestDocker.SLEEPER).stdin(true).build());
        DockerRuntime own = DockerRuntime.connect(runtime.endpoint());
        Attachment a = own.attach(id);
        CompletableFuture<Attachment.Chunk> read = CompletableFuture.supplyAsync(a::read);
        Thread.sleep(300);
        AtomicLong t0 = new AtomicLong(System.nanoTime());
        own.close();
        assertThat(read.get(1, TimeUnit.SECONDS)).isNull();
        assertThat(Duration.ofNanos(System.nanoTime() - t0.get())).isLessThan(Duration.ofSeconds(1));
        assertThatThrownBy(() -> own.attach(id)).isInstanceOf(IllegalStateException.class);
    }
}
