package dev.pier.runtime;

import dev.pier.support.DatabaseFree;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.io.Closeable;
import java.net.InetAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Pier's transport against engines that misbehave: one that accepts connections and never answers (a
 * frozen dockerd on its unix socket), and hand-written fakes that redirect, send too much, send garbage or
 * keep dropping the event stream. Every call ends by its deadline, and no answer is quoted back.
 */
@DatabaseFree
class EngineTransportTest {
    /** Short deadlines, so a frozen engine costs seconds, not minutes. */
    private static final DockerEndpoint.Deadlines SHORT = new DockerEndpoint.Deadlines(
            Duration.ofSeconds(1),
            Duration.ofSeconds(1),
            Duration.ofSeconds(1),
            Duration.ofSeconds(2),
            Duration.ofSeconds(1),
            Duration.ofSeconds(3));

    private static void endsBy(Duration limit, String containing, Executable call) {
        long t0 = System.nanoTime();
        assertThatThrownBy(call::execute)
                .isInstanceOf(RuntimeUnavailableException.class)
                .hasMessageContaining(containing);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(limit);
    }

    @Test
    void each_kind_of_call_gets_its_deadline_and_limits() {
        DockerEndpoint.Deadlines d = DockerEndpoint.Deadlines.DEFAULT;
        var ping = JettyDockerHttpClient.exchange("GET", "/_ping", d);
        assertThat(ping.deadline()).isEqualTo(Duration.ofSeconds(2));
        assertThat(JettyDockerHttpClient.exchange("GET", "/v1.41/_ping", d).deadline())
                .isEqualTo(Duration.ofSeconds(2));
        assertThat(JettyDockerHttpClient.exchange("GET", "/containers/json?all=true", d)
                        .deadline())
                .isEqualTo(Duration.ofSeconds(15));
        assertThat(JettyDockerHttpClient.exchange("POST", "/containers/create?name=x", d)
                        .deadline())
                .isEqualTo(Duration.ofSeconds(30));
        assertThat(JettyDockerHttpClient.exchange("POST", "/containers/abc/stop?t=7", d)
                        .deadline())
                .isEqualTo(Duration.ofSeconds(22));
        assertThat(JettyDockerHttpClient.exchange("POST", "/v1.41/containers/abc/restart?t=10", d)
                        .deadline())
                .isEqualTo(Duration.ofSeconds(25));
        assertThat(JettyDockerHttpClient.exchange("POST", "/containers/abc/kill", d)
                        .deadline())
                .isEqualTo(Duration.ofSeconds(30));
        var pull = JettyDockerHttpClient.exchange("POST", "/images/create?fromImage=debian&tag=12", d);
        assertThat(pull.deadline()).isEqualTo(Duration.ofMinutes(10));
        assertThat(pull.maxLine()).isEqualTo(JettyDockerHttpClient.MAX_LINE_BYTES);
        var events = JettyDockerHttpClient.exchange("GET", "/events?filters=x", d);
        assertThat(events.deadline()).isNull();
        assertThat(events.headersDeadline()).isEqualTo(Duration.ofSeconds(15));
        assertThat(events.maxLine()).isEqualTo(JettyDockerHttpClient.MAX_LINE_BYTES);
        // a whole log: no limit on its size or length in time, only on silence (a download of a big log)
        var logs = JettyDockerHttpClient.exchange("GET", "/containers/abc/logs?stdout=1&tail=10", d);
        assertThat(logs.deadline()).isNull();
        assertThat(logs.headersDeadline()).isEqualTo(Duration.ofSeconds(15));
        assertThat(logs.idle()).isEqualTo(Duration.ofSeconds(15));
        assertThat(logs.maxBytes()).isEqualTo(Long.MAX_VALUE);
        assertThat(logs.stream()).isTrue();
        var followed = JettyDockerHttpClient.exchange("GET", "/containers/abc/logs?follow=1", d);
        assertThat(followed.deadline()).isNull();
        assertThat(followed.idle()).isNull();
        assertThat(followed.abortable()).isTrue();
        assertThat(events.abortable()).isFalse();
        var stats = JettyDockerHttpClient.exchange("GET", "/containers/abc/stats?stream=1", d);
        assertThat(stats.deadline()).isNull();
        assertThat(stats.headersDeadline()).isEqualTo(Duration.ofSeconds(15));
        assertThat(stats.maxLine()).isEqualTo(JettyDockerHttpClient.MAX_LINE_BYTES);
        assertThat(JettyDockerHttpClient.exchange("GET", "/containers/abc/stats", d)
                        .deadline())
                .isNull();
        var once = JettyDockerHttpClient.exchange("GET", "/v1.41/containers/abc/stats?stream=0", d);
        assertThat(once.deadline()).isEqualTo(Duration.ofSeconds(20));
        assertThat(once.maxBytes()).isEqualTo(JettyDockerHttpClient.MAX_ANSWER_BYTES);
        assertThat(JettyDockerHttpClient.exchange("GET", "/containers/abc/json", d)
                        .maxBytes())
                .isEqualTo(JettyDockerHttpClient.MAX_ANSWER_BYTES);
    }

    @Test
    void calls_in_flight_are_cut_short_when_the_engine_is_found_gone() throws Exception {
        // the default deadlines leave a busy engine time; a gone one is found by the ping, and then the calls
        // waiting on it end at once instead of at their deadline
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "pier-frozen");
        Path socket = dir.resolve("docker.sock");
        try (ServerSocketChannel frozen = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            frozen.bind(UnixDomainSocketAddress.of(socket), 64);
            try (DockerRuntime rt = DockerRuntime.connect(DockerEndpoint.unix(socket))) {
                var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
                var create = pool.submit(
                        () -> rt.create(TestDocker.spec(TestDocker.SLEEPER).build()));
                var stop = pool.submit(() -> {
                    rt.stop("x", Duration.ofSeconds(10));
                    return null;
                });
                Thread.sleep(500);
                long t0 = System.nanoTime();
                rt.abortCalls("node 'n' stopped answering");
                for (var call : List.of(create, stop)) {
                    assertThatThrownBy(() -> call.get(5, java.util.concurrent.TimeUnit.SECONDS))
                            .hasCauseInstanceOf(RuntimeUnavailableException.class)
                            .hasMessageContaining("stopped answering");
                }
                assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(2));
                pool.shutdownNow();
            }
        } finally {
            Files.deleteIfExists(socket);
            Files.deleteIfExists(dir);
        }
    }

    @Test
    void a_unix_socket_that_never_answers_fails_every_call_by_its_deadline() throws Exception {
        // what a dockerd under SIGSTOP looks like: the kernel accepts the connection, nobody reads the request
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "pier-frozen");
        Path socket = dir.resolve("docker.sock");
        try (ServerSocketChannel frozen = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            frozen.bind(UnixDomainSocketAddress.of(socket), 64);
            try (DockerRuntime rt =
                    DockerRuntime.connect(DockerEndpoint.unix(socket).withDeadlines(SHORT))) {
                Duration slack = Duration.ofMillis(1500);
                endsBy(Duration.ofSeconds(1).plus(slack), "no answer within 1 s", rt::ping);
                endsBy(Duration.ofSeconds(1).plus(slack), "no answer within 1 s", rt::listManaged);
                endsBy(Duration.ofSeconds(1).plus(slack), "no answer within 1 s", () -> rt.inspect("x"));
                endsBy(Duration.ofSeconds(1).plus(slack), "no answer within 1 s", () -> rt.logs("x", 10));
                endsBy(Duration.ofSeconds(1).plus(slack), "no answer within 1 s", () -> rt.imageExists("busybox:1"));
                endsBy(
                        Duration.ofSeconds(2).plus(slack),
                        "no answer within 2 s",
                        () -> rt.create(TestDocker.spec(TestDocker.SLEEPER).build()));
                endsBy(Duration.ofSeconds(2).plus(slack), "no answer within 2 s", () -> rt.start("x"));
                endsBy(Duration.ofSeconds(2).plus(slack), "no answer within 2 s", () -> rt.kill("x"));
                endsBy(Duration.ofSeconds(2).plus(slack), "no answer within 2 s", () -> rt.remove("x", true));
                // stop and restart: the grace period plus the margin
                endsBy(
                        Duration.ofSeconds(3).plus(slack),
                        "no answer within 3 s",
                        () -> rt.stop("x", Duration.ofSeconds(2)));
                endsBy(
                        Duration.ofSeconds(3).plus(slack),
                        "no answer within 3 s",
                        () -> rt.restart("x", Duration.ofSeconds(2)));
                endsBy(
                        Duration.ofSeconds(3).plus(slack),
                        "no answer within 3 s",
                        () -> rt.pullImage("busybox:1", l -> {}));

                // log and stats streams, and the attach's inspect, by the read deadline
                endsBy(
                        Duration.ofSeconds(1).plus(slack),
                        "no answer within 1 s",
                        () -> rt.readLogs("x", LogRequest.tail(10)));
                endsBy(
                        Duration.ofSeconds(1).plus(slack),
                        "no answer within 1 s",
                        () -> rt.readLogs("x", LogRequest.followFrom(java.time.Instant.now())));
                endsBy(Duration.ofSeconds(1).plus(slack), "no answer within 1 s", () -> rt.readStats("x"));
                endsBy(Duration.ofSeconds(1).plus(slack), "no answer within 1 s", () -> rt.attach("x"));

                // the event stream has no total deadline, but its headers do: the subscription returns
                long t0 = System.nanoTime();
                Closeable events = rt.events(e -> {});
                assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(4));
                events.close();
            }
        } finally {
            Files.deleteIfExists(socket);
            Files.deleteIfExists(dir);
        }
    }

    @Test
    void a_redirect_is_never_followed_and_the_node_fails_its_pings_for_a_while() throws Exception {
        try (FakeEngine trap = new FakeEngine();
                FakeEngine engine = new FakeEngine()) {
            engine.on("/_ping", x -> {
                x.getResponseHeaders().set("Location", "http://127.0.0.1:" + trap.port() + "/_ping");
                x.sendResponseHeaders(302, -1);
            });
            try (DockerRuntime rt = DockerRuntime.connect(DockerEndpoint.tcp("127.0.0.1", engine.port()))) {
                endsBy(Duration.ofSeconds(4), "redirect", rt::ping);
                engine.on("/containers/json", x -> {
                    x.getResponseHeaders().set("Location", "http://127.0.0.1:" + trap.port() + "/containers/json");
                    x.sendResponseHeaders(307, -1);
                });
                endsBy(Duration.ofSeconds(4), "redirect", rt::listManaged);
                assertThat(trap.requests).isEmpty();

                // it answers properly again, but it misbehaved: the node check keeps it offline for a while
                engine.on("/_ping", x -> FakeEngine.text(x, 200, "OK"));
                endsBy(Duration.ofSeconds(4), "redirect", rt::ping);
            }
        }
    }

    @Test
    void oversized_answers_are_refused_with_or_without_a_length() throws Exception {
        int tooMuch = JettyDockerHttpClient.MAX_ANSWER_BYTES + 1024;
        try (FakeEngine engine = new FakeEngine()) {
            try (DockerRuntime rt = DockerRuntime.connect(DockerEndpoint.tcp("127.0.0.1", engine.port()))) {
                engine.on("/containers/json", x -> FakeEngine.send(x, 200, "application/json", padded(tooMuch)));
                endsBy(Duration.ofSeconds(6), "larger than the 4 MiB", rt::listManaged);
                engine.on("/containers/json", x -> FakeEngine.stream(x, (byte) ' ', tooMuch));
                endsBy(Duration.ofSeconds(6), "larger than the 4 MiB", rt::listManaged);
                engine.on("/containers/abc/json", x -> FakeEngine.stream(x, (byte) ' ', 64L * 1024 * 1024));
                endsBy(Duration.ofSeconds(6), "larger than the 4 MiB", () -> rt.inspect("abc"));
            }
        }
    }

    private static byte[] padded(int n) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, (byte) ' ');
        b[0] = '[';
        b[n - 1] = ']';
        return b;
    }

    @Test
    void garbage_is_refused_without_quoting_it() throws Exception {
        try (FakeEngine engine = new FakeEngine()) {
            engine.on("/containers/json", x -> FakeEngine.text(x, 200, "<html>token=s3cr3t-from-the-node</html>"));
            try (DockerRuntime rt = DockerRuntime.connect(DockerEndpoint.tcp("127.0.0.1", engine.port()))) {
                assertThatThrownBy(rt::listManaged)
                        .isInstanceOf(RuntimeUnavailableException.class)
                        .hasMessageContaining("not the Docker API's JSON")
                        .message()
                        .doesNotContain("s3cr3t")
                        .doesNotContain("html");
            }
        }
        try (FakeEngine engine = new FakeEngine()) {
            engine.on("/_ping", x -> FakeEngine.text(x, 200, "Welcome to nginx! s3cr3t"));
            try (DockerRuntime rt = DockerRuntime.connect(DockerEndpoint.tcp("127.0.0.1", engine.port()))) {
                assertThatThrownBy(rt::ping)
                        .isInstanceOf(RuntimeUnavailableException.class)
                        .hasMessageContaining("not Docker's")
                        .message()
                        .doesNotContain("s3cr3t")
                        .doesNotContain("nginx");
            }
        }
        try (FakeEngine engine = new FakeEngine()) {
            // an engine's refusal: a RuntimeOperationException in Pier's words, the engine's text only in the log
            engine.on(
                    "/containers/abc/start",
                    x -> FakeEngine.json(x, 500, "{\"message\":\"driver failed: s3cr3t internal detail\"}"));
            try (DockerRuntime rt = DockerRuntime.connect(DockerEndpoint.tcp("127.0.0.1", engine.port()))) {
                assertThatThrownBy(() -> rt.start("abc"))
                        .isInstanceOf(RuntimeOperationException.class)
                        .hasMessageContaining("HTTP 500")
                        .message()
                        .doesNotContain("s3cr3t")
                        .doesNotContain("driver");
            }
        }
    }

    @Test
    @SuppressWarnings("try")
    void an_event_line_over_the_limit_ends_the_stream_and_the_node_fails_its_pings() throws Exception {
        try (FakeEngine engine = new FakeEngine()) {
            // valid JSON that never ends its line: a string of 2 MiB
            engine.on("/events", x -> {
                x.sendResponseHeaders(200, 0);
                try (var out = x.getResponseBody()) {
                    out.write("{\"Type\":\"container\",\"Action\":\""
                            .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                    byte[] chunk = new byte[64 * 1024];
                    java.util.Arrays.fill(chunk, (byte) 'a');
                    for (int i = 0; i < 32; i++) {
                        out.write(chunk);
                    }
                }
            });
            try (DockerRuntime rt = DockerRuntime.connect(DockerEndpoint.tcp("127.0.0.1", engine.port()))) {
                try (Closeable events = rt.events(e -> {})) {
                    await().atMost(Duration.ofSeconds(10))
                            .untilAsserted(() -> assertThatThrownBy(rt::ping)
                                    .isInstanceOf(RuntimeUnavailableException.class)
                                    .hasMessageContaining("line longer than"));
                }
            }
        }
    }

    @Test
    @SuppressWarnings("try")
    void a_stream_that_keeps_breaking_is_reopened_with_backoff_not_in_a_loop() throws Exception {
        try (FakeEngine engine = new FakeEngine()) {
            // headers, then the end at once: every attempt "connects" and breaks
            engine.on("/events", x -> {
                x.sendResponseHeaders(200, 0);
                x.getResponseBody().close();
            });
            List<RuntimeEvent> events = new CopyOnWriteArrayList<>();
            try (DockerRuntime rt = DockerRuntime.connect(DockerEndpoint.tcp("127.0.0.1", engine.port()));
                    Closeable subscription = rt.events(events::add)) {
                Thread.sleep(6000);
                int attempts = engine.hits("/events");
                // full jitter from 0.5 s doubling: a handful in 6 s; a loop would be thousands
                assertThat(attempts).isBetween(2, 20);
                assertThat(events).extracting(RuntimeEvent::kind).contains(RuntimeEvent.Kind.RESYNC);
                rt.ping(); // breaking a stream is not misbehaving: the node stays online
            }
        }
        List<Long> ceilings = new ArrayList<>();
        for (int failures = 1; failures <= 12; failures++) {
            long max = 0;
            for (int i = 0; i < 200; i++) {
                max = Math.max(max, EventStream.backoff(failures).toMillis());
            }
            ceilings.add(max);
        }
        assertThat(ceilings.getFirst()).isLessThanOrEqualTo(500);
        assertThat(ceilings.getLast())
                .isBetween(EventStream.MAX_BACKOFF.toMillis() / 2, EventStream.MAX_BACKOFF.toMillis());
        // jitter: not the same wait each time
        assertThat(java.util.stream.IntStream.range(0, 50)
                        .mapToObj(i -> EventStream.backoff(6).toMillis())
                        .distinct()
                        .count())
                .isGreaterThan(10);
    }

    @Test
    void a_name_is_checked_again_on_every_new_connection() throws Exception {
        try (FakeEngine engine = new FakeEngine()) {
            engine.on("/_ping", x -> {
                x.getResponseHeaders().set("Connection", "close");
                FakeEngine.text(x, 200, "OK");
            });
            AtomicReference<InetAddress> answer = new AtomicReference<>(InetAddress.getLoopbackAddress());
            EngineAddressPolicy policy = new EngineAddressPolicy(null, false, host -> new InetAddress[] {answer.get()});
            try (DockerRuntime rt = DockerRuntime.connect(
                    DockerEndpoint.tcp("engine.test", engine.port()).withPolicy(policy))) {
                rt.ping();
                // the name now points at the metadata service (DNS rebinding): refused before connecting
                answer.set(InetAddress.getByName("169.254.169.254"));
                int before = engine.hits("/_ping");
                endsBy(Duration.ofSeconds(4), "cloud metadata service", rt::ping);
                // a plain-TCP name that moved off loopback is refused too
                answer.set(InetAddress.getByName("10.1.2.3"));
                endsBy(Duration.ofSeconds(4), "PIER_ALLOW_PLAIN_TCP", rt::ping);
                assertThat(engine.hits("/_ping")).isEqualTo(before);
            }
            // the attach's connection of its own too
            try (JettyDockerHttpClient http = new JettyDockerHttpClient(
                    DockerEndpoint.tcp("engine.test", engine.port()).withPolicy(policy), e -> {})) {
                answer.set(InetAddress.getByName("169.254.169.254"));
                assertThatThrownBy(() -> http.hijack("/containers/abc/attach?stream=1"))
                        .hasRootCauseMessage("address 'engine.test' is a cloud metadata service (169.254.169.254), "
                                + "never a Docker engine Pier talks to");
                answer.set(InetAddress.getByName("10.1.2.3"));
                assertThatThrownBy(() -> http.hijack("/containers/abc/attach?stream=1"))
                        .rootCause()
                        .hasMessageContaining("PIER_ALLOW_PLAIN_TCP");
                assertThat(engine.hits("/containers/abc/attach")).isZero();
            }
        }
    }

    @Test
    void a_socket_the_configuration_does_not_list_is_not_used() {
        EngineAddressPolicy policy =
                new EngineAddressPolicy(Set.of(Path.of("/run/other.sock")), false, InetAddress::getAllByName);
        try (DockerRuntime rt = DockerRuntime.connect(TestDocker.endpoint().withPolicy(policy))) {
            endsBy(Duration.ofSeconds(2), "PIER_DOCKER_SOCKETS", rt::ping);
        }
        try (JettyDockerHttpClient http =
                new JettyDockerHttpClient(TestDocker.endpoint().withPolicy(policy), e -> {})) {
            assertThatThrownBy(() -> http.hijack("/containers/abc/attach?stream=1"))
                    .rootCause()
                    .hasMessageContaining("PIER_DOCKER_SOCKETS");
        }
    }

    /** A log answer: the given bytes, as a stream without a length. */
    private static FakeEngine.Handler logAnswer(byte[]... parts) {
        return x -> {
            x.getResponseHeaders().set("Content-Type", "application/vnd.docker.raw-stream");
            x.sendResponseHeaders(200, 0);
            try (var out = x.getResponseBody()) {
                for (byte[] p : parts) {
                    out.write(p);
                }
            }
        };
    }

    private static byte[] frame(int stream, String payload) {
        return frame(stream, payload.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private static byte[] frame(int stream, byte[] payload) {
        byte[] f = new byte[8 + payload.length];
        f[0] = (byte) stream;
        java.nio.ByteBuffer.wrap(f, 4, 4).putInt(payload.length);
        System.arraycopy(payload, 0, f, 8, payload.length);
        return f;
    }

    @Test
    void log_frames_are_parsed_and_checked() throws Exception {
        try (FakeEngine engine = new FakeEngine()) {
            DockerEndpoint at = DockerEndpoint.tcp("127.0.0.1", engine.port());
            engine.on(
                    "/containers/abc/logs",
                    logAnswer(
                            frame(1, "2026-01-02T03:04:05.123456789Z hello\n"),
                            frame(2, "2026-01-02T03:04:05.2Z caf\u00e9 \r\n"),
                            frame(1, "2026-01-02T03:04:06Z \n"),
                            frame(1, new byte[0]),
                            frame(2, "2026-01-02T03:04:07.000000001+02:00 cut without newline")));
            try (DockerRuntime rt = DockerRuntime.connect(at);
                    LogReader r = rt.readLogs("abc", LogRequest.tail(10))) {
                List<LogLine> lines = new ArrayList<>();
                for (LogLine l = r.next(); l != null; l = r.next()) {
                    lines.add(l);
                }
                assertThat(lines)
                        .containsExactly(
                                new LogLine(
                                        java.time.Instant.parse("2026-01-02T03:04:05.123456789Z"),
                                        Output.STDOUT,
                                        "hello"),
                                new LogLine(
                                        java.time.Instant.parse("2026-01-02T03:04:05.2Z"), Output.STDERR, "caf\u00e9 "),
                                new LogLine(java.time.Instant.parse("2026-01-02T03:04:06Z"), Output.STDOUT, ""),
                                new LogLine(
                                        java.time.Instant.parse("2026-01-02T01:04:07.000000001Z"),
                                        Output.STDERR,
                                        "cut without newline"));
                assertThat(r.next()).isNull();
                // the query: both streams, timestamps, everything
                assertThat(engine.requests)
                        .anyMatch(q ->
                                q.contains("/containers/abc/logs?stdout=1&stderr=1&timestamps=1&follow=0&tail=10"));
            }
            // a container with a terminal has no frames: plain lines, all stdout
            engine.on(
                    "/containers/abc/logs",
                    logAnswer("2026-01-02T03:04:05Z one\r\n2026-01-02T03:04:06Z two\r\n"
                            .getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
            try (DockerRuntime rt = DockerRuntime.connect(at);
                    LogReader r = rt.readLogs("abc", LogRequest.tail(10))) {
                assertThat(r.next()).extracting(LogLine::output, LogLine::text).containsExactly(Output.STDOUT, "one");
                assertThat(r.next()).extracting(LogLine::text).isEqualTo("two");
                assertThat(r.next()).isNull();
            }
        }
    }

    @Test
    void a_log_or_stats_stream_that_breaks_the_format_is_refused_and_the_node_fails_its_pings() throws Exception {
        byte[] huge = new byte[2 << 20];
        java.util.Arrays.fill(huge, (byte) 'x');
        byte[] ok = frame(1, "2026-01-02T03:04:05Z fine\n");
        Map<String, FakeEngine.Handler> answers = new java.util.LinkedHashMap<>();
        answers.put("larger than the 1 MiB", logAnswer(ok, frame(1, huge)));
        answers.put("not Docker's multiplexed format", logAnswer(ok, new byte[] {1, 9, 9, 9, 0, 0, 0, 1, 'x'}));
        answers.put("has no timestamp", logAnswer(frame(1, "s3cr3t\n")));
        for (var a : answers.entrySet()) {
            try (FakeEngine engine = new FakeEngine()) {
                engine.on("/containers/abc/logs", a.getValue());
                try (DockerRuntime rt = DockerRuntime.connect(DockerEndpoint.tcp("127.0.0.1", engine.port()));
                        LogReader r = rt.readLogs("abc", LogRequest.tail(10))) {
                    assertThatThrownBy(() -> {
                                while (r.next() != null) {
                                    // read on
                                }
                            })
                            .isInstanceOf(RuntimeUnavailableException.class)
                            .hasMessageContaining(a.getKey())
                            .message()
                            .doesNotContain("s3cr3t");
                    endsBy(Duration.ofSeconds(2), a.getKey(), rt::ping);
                }
            }
        }
        try (FakeEngine engine = new FakeEngine()) {
            engine.on("/containers/abc/stats", x -> {
                x.sendResponseHeaders(200, 0);
                try (var out = x.getResponseBody()) {
                    out.write("{\"read\":\"0001-01-01T00:00:00Z\"}\n<html>s3cr3t</html>\n"
                            .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                }
            });
            try (DockerRuntime rt = DockerRuntime.connect(DockerEndpoint.tcp("127.0.0.1", engine.port()));
                    StatsReader r = rt.readStats("abc")) {
                assertThatThrownBy(r::next)
                        .isInstanceOf(RuntimeUnavailableException.class)
                        .hasMessageContaining("not the Docker API's JSON")
                        .message()
                        .doesNotContain("s3cr3t");
                endsBy(Duration.ofSeconds(2), "not the Docker API's JSON", rt::ping);
            }
        }
    }

    @Test
    void an_error_the_engine_reports_inside_a_log_stream_is_a_refusal_in_piers_words() throws Exception {
        try (FakeEngine engine = new FakeEngine()) {
            engine.on(
                    "/containers/abc/logs",
                    logAnswer(frame(1, "2026-01-02T03:04:05Z fine\n"), frame(3, "s3cr3t: error reading log file")));
            try (DockerRuntime rt = DockerRuntime.connect(DockerEndpoint.tcp("127.0.0.1", engine.port()));
                    LogReader r = rt.readLogs("abc", LogRequest.tail(10))) {
                assertThat(r.next().text()).isEqualTo("fine");
                assertThatThrownBy(r::next)
                        .isInstanceOf(RuntimeOperationException.class)
                        .hasMessageContaining("server log")
                        .message()
                        .doesNotContain("s3cr3t");
                assertThat(r.next()).isNull();
                rt.ping(); // the engine failing is not the engine misbehaving
            }
        }
    }

    private static final String RUNNING = "{\"Id\":\"abc\",\"State\":{\"Status\":\"running\",\"Running\":true},"
            + "\"Config\":{\"OpenStdin\":true,\"Tty\":false}}";

    @Test
    void an_attach_ends_by_its_deadline_and_never_follows_a_redirect() throws Exception {
        try (FakeEngine engine = new FakeEngine()) {
            engine.on("/containers/abc/json", x -> FakeEngine.json(x, 200, RUNNING));
            engine.on("/containers/abc/attach", x -> Thread.sleep(Long.MAX_VALUE)); // never answers
            DockerEndpoint at = DockerEndpoint.tcp("127.0.0.1", engine.port());
            try (DockerRuntime rt = DockerRuntime.connect(at.withDeadlines(SHORT))) {
                // the inspect first, then a second for the answer to the attach
                endsBy(Duration.ofMillis(3500), "no answer within 1 s", () -> rt.attach("abc"));
            }
            engine.on("/containers/abc/attach", x -> FakeEngine.json(x, 409, "{\"message\":\"s3cr3t is paused\"}"));
            try (DockerRuntime rt = DockerRuntime.connect(at)) {
                assertThatThrownBy(() -> rt.attach("abc"))
                        .isInstanceOf(RuntimeOperationException.class)
                        .hasMessageContaining("cannot be attached to now")
                        .message()
                        .doesNotContain("s3cr3t");
            }
            engine.on("/containers/abc/attach", x -> {
                x.getResponseHeaders().set("Location", "http://169.254.169.254/");
                x.sendResponseHeaders(307, -1);
            });
            try (DockerRuntime rt = DockerRuntime.connect(at)) {
                endsBy(Duration.ofSeconds(2), "redirect", () -> rt.attach("abc"));
                endsBy(Duration.ofSeconds(2), "redirect", rt::ping);
            }
            assertThat(engine.requests)
                    .filteredOn(q -> q.contains("/attach"))
                    .allMatch(q -> q.startsWith("POST /containers/abc/attach?stream=1&stdin=1&stdout=1&stderr=1"));
        }
    }

    @Test
    void abort_calls_ends_log_and_stats_streams_but_not_events() throws Exception {
        try (FakeEngine engine = new FakeEngine()) {
            FakeEngine.Handler quiet = x -> {
                x.sendResponseHeaders(200, 0);
                x.getResponseBody().flush();
                Thread.sleep(Long.MAX_VALUE);
            };
            engine.on("/containers/abc/logs", quiet);
            engine.on("/containers/abc/stats", quiet);
            try (DockerRuntime rt = DockerRuntime.connect(DockerEndpoint.tcp("127.0.0.1", engine.port()))) {
                LogReader logs = rt.readLogs("abc", LogRequest.followFrom(java.time.Instant.now()));
                StatsReader stats = rt.readStats("abc");
                var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
                var nextLine = pool.submit(logs::next);
                var nextSample = pool.submit(stats::next);
                Thread.sleep(300);
                rt.abortCalls("node 'n' stopped answering");
                for (var f : List.of(nextLine, nextSample)) {
                    assertThatThrownBy(() -> f.get(2, java.util.concurrent.TimeUnit.SECONDS))
                            .hasCauseInstanceOf(RuntimeUnavailableException.class)
                            .hasMessageContaining("stopped answering");
                }
                pool.shutdownNow();
            }
        }
    }
}
