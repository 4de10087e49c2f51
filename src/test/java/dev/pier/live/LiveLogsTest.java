package dev.pier.live;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.instances.InstanceFixture;
import dev.pier.instances.TestEngine;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import dev.pier.support.StreamClient;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.pier.instances.InstanceFixture.bearer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;

/**
 * Instance logs over real HTTP from a real container that prints a numbered line to stdout and to stderr
 * ten times a second: reads (tail, since, until, stream, q, download), followers over SSE and NDJSON,
 * resume with Last-Event-ID, restarts and stops while followed, one engine stream per instance, and bad
 * parameters.
 */
class LiveLogsTest {
    private static final String LOPSIDED = "lopsided";
    private static final Pattern NUMBERED = Pattern.compile("^(out|err) (\\d+)$");

    @Shared
    static InstanceFixture pier;

    @BeforeAll
    static void images() {
        Ticker.register(pier);
        // 3,000 lines of stderr, one of stdout, 3,000 more of stderr, then quiet
        pier.registerImage(
                pier.admin,
                LOPSIDED,
                TestEngine.BUSYBOX,
                List.of(
                        "/bin/sh",
                        "-c",
                        "noise() { i=0; while [ $i -lt 3000 ]; do echo \"noise $i\" >&2; i=$((i+1)); done; }; "
                                + "noise; echo needle; noise; echo done >&2; exec sleep 3600"),
                List.of(),
                false);
    }

    static String deployTicker() {
        return Ticker.deploy(pier);
    }

    static Http http() {
        return pier.http();
    }

    private static String logs(String id, String query) {
        return "/api/v1/instances/" + id + "/logs" + (query.isEmpty() ? "" : "?" + query);
    }

    private static List<JsonNode> ndjson(Http.Response r) {
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.header("Content-Type")).startsWith("application/x-ndjson");
        List<JsonNode> out = new ArrayList<>();
        for (String line : r.body().split("\n")) {
            if (!line.isBlank()) {
                out.add(Http.parse(line));
            }
        }
        return out;
    }

    /** Waits until the instance has printed at least {@code n} stdout lines. */
    private static void awaitLines(String id, int n) {
        await().atMost(Duration.ofSeconds(20))
                .until(() -> ndjson(http().get(logs(id, "stream=stdout&tail=all"), bearer(pier.viewer)))
                                .size()
                        >= n);
    }

    private static int number(String line) {
        Matcher m = NUMBERED.matcher(line);
        assertThat(m.matches()).as("a numbered line: %s", line).isTrue();
        return Integer.parseInt(m.group(2));
    }

    @Test
    void a_read_answers_the_last_lines_as_ndjson_with_resume_ids() {
        String id = deployTicker();
        awaitLines(id, 10);
        List<JsonNode> lines = ndjson(http().get(logs(id, "tail=6"), bearer(pier.viewer)));
        assertThat(lines).hasSize(6);
        for (JsonNode l : lines) {
            assertThat(l.path("stream").asText()).isIn("stdout", "stderr");
            assertThat(l.path("line").asText()).matches("(out|err) \\d+");
            assertThat(Instant.parse(l.path("ts").asText()))
                    .isBefore(Instant.now().plusSeconds(5));
            assertThat(l.path("id").asText()).matches("\\d+-\\d+");
        }
        // ids are unique and grow along each stream (the engine may write two streams' lines slightly out of
        // their timestamps' order)
        assertThat(lines).extracting(l -> l.path("id").asText()).doesNotHaveDuplicates();
        for (String stream : List.of("stdout", "stderr")) {
            List<LogCursor> ids = lines.stream()
                    .filter(l -> l.path("stream").asText().equals(stream))
                    .map(l -> LogCursor.parse(l.path("id").asText()).orElseThrow())
                    .toList();
            assertThat(ids).isSorted();
        }
        // without tail or since: the last 100 lines
        assertThat(ndjson(http().get(logs(id, ""), bearer(pier.viewer)))).hasSizeLessThanOrEqualTo(100);
    }

    @Test
    void tail_all_reads_the_whole_log_and_no_tail_reads_the_last_hundred() {
        String id = deployTicker();
        // both streams together pass 100 lines in about five seconds
        await().atMost(Duration.ofSeconds(30))
                .until(() -> ndjson(http().get(logs(id, "tail=all"), bearer(pier.viewer)))
                                .size()
                        > 120);
        List<JsonNode> all = ndjson(http().get(logs(id, "tail=ALL"), bearer(pier.viewer)));
        assertThat(all.size()).isGreaterThan(120);
        assertThat(number(all.get(0).path("line").asText())).isZero();
        assertThat(ndjson(http().get(logs(id, ""), bearer(pier.viewer)))).hasSize(100);
    }

    @Test
    void a_tail_of_one_stream_or_of_a_filter_finds_lines_far_back_with_the_same_ids() {
        String id = pier.deploy(
                        pier.manager,
                        "name",
                        InstanceFixture.name("lop"),
                        "image",
                        LOPSIDED,
                        "memory_mib",
                        32,
                        "cpu",
                        0.25)
                .path("id")
                .asText();
        await().atMost(Duration.ofSeconds(30))
                .until(() -> ndjson(http().get(logs(id, "tail=1"), bearer(pier.viewer))).stream()
                        .anyMatch(l -> l.path("line").asText().equals("done")));
        List<JsonNode> all = ndjson(http().get(logs(id, "tail=all"), bearer(pier.viewer)));
        assertThat(all).hasSize(6_002);
        // the engine reads the two pipes apart: where the one stdout line falls among the others may vary
        List<JsonNode> outs = all.stream()
                .filter(l -> l.path("stream").asText().equals("stdout"))
                .toList();
        assertThat(outs).hasSize(1);
        JsonNode needle = outs.get(0);
        assertThat(needle.path("line").asText()).isEqualTo("needle");
        List<JsonNode> errors = all.stream()
                .filter(l -> l.path("stream").asText().equals("stderr"))
                .toList();

        // the engine's tail counts both streams: these read back 3,000 lines and more
        for (String query : List.of("stream=stdout&tail=1", "stream=stdout&tail=5", "q=needle&tail=3")) {
            assertThat(ndjson(http().get(logs(id, query), bearer(pier.viewer))))
                    .as(query)
                    .singleElement()
                    .satisfies(l -> {
                        assertThat(l.path("line").asText()).isEqualTo("needle");
                        assertThat(l.path("stream").asText()).isEqualTo("stdout");
                        assertThat(l.path("id").asText())
                                .isEqualTo(needle.path("id").asText());
                    });
        }
        assertThat(ndjson(http().get(logs(id, "stream=stderr&tail=2"), bearer(pier.viewer))))
                .extracting(l -> l.path("line").asText(), l -> l.path("id").asText())
                .containsExactly(
                        tuple("noise 2999", errors.get(5_999).path("id").asText()),
                        tuple("done", errors.get(6_000).path("id").asText()));
        assertThat(ndjson(http().get(logs(id, "q=noise%201&stream=stderr&tail=1"), bearer(pier.viewer))))
                .extracting(l -> l.path("line").asText())
                .containsExactly("noise 1999");
        assertThat(ndjson(http().get(logs(id, "q=nothing&tail=10"), bearer(pier.viewer))))
                .isEmpty();
    }

    @Test
    void stream_q_since_and_until_select_lines() {
        String id = deployTicker();
        awaitLines(id, 20);
        List<JsonNode> err = ndjson(http().get(logs(id, "stream=stderr&tail=10"), bearer(pier.viewer)));
        assertThat(err).hasSize(10).allSatisfy(l -> {
            assertThat(l.path("stream").asText()).isEqualTo("stderr");
            assertThat(l.path("line").asText()).startsWith("err ");
        });
        List<JsonNode> out = ndjson(http().get(logs(id, "stream=stdout&tail=all"), bearer(pier.viewer)));
        assertThat(out).allSatisfy(l -> assertThat(l.path("stream").asText()).isEqualTo("stdout"));

        // the server filters: only lines containing q, the last tail of them
        List<JsonNode> sevens = ndjson(http().get(logs(id, "q=7&stream=stdout&tail=2"), bearer(pier.viewer)));
        assertThat(sevens)
                .hasSize(2)
                .allSatisfy(l -> assertThat(l.path("line").asText()).contains("7"));

        // since (RFC 3339) and until (Unix seconds with a fraction) bound the read, to the nanosecond
        JsonNode fifth = out.get(4);
        JsonNode tenth = out.get(9);
        Instant from = Instant.parse(fifth.path("ts").asText());
        Instant to = Instant.parse(tenth.path("ts").asText());
        String until = to.getEpochSecond() + "." + String.format("%09d", to.getNano());
        List<JsonNode> between =
                ndjson(http().get(logs(id, "stream=stdout&since=" + from + "&until=" + until), bearer(pier.viewer)));
        assertThat(between)
                .extracting(l -> l.path("line").asText())
                .containsExactly(out.subList(4, 9).stream()
                        .map(l -> l.path("line").asText())
                        .toArray(String[]::new));
    }

    @Test
    void a_download_is_the_whole_log_as_a_text_file() {
        String id = deployTicker();
        awaitLines(id, 5);
        Http.Response r = http().get(logs(id, "download=true"), bearer(pier.viewer));
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("Content-Type")).startsWith("text/plain");
        assertThat(r.header("Content-Disposition")).startsWith("attachment; filename=\"tick-");
        // stdout and stderr reach the engine through two pipes: their relative order is the engine's
        assertThat(r.body()).contains("out 0\n", "err 0\n", "out 4\n");
        assertThat(r.body().indexOf("out 0\n")).isLessThan(r.body().indexOf("out 4\n"));
    }

    @Test
    void an_sse_follower_gets_every_line_in_order_and_resumes_after_its_last_id() {
        String id = deployTicker();
        List<Integer> seen = new ArrayList<>();
        String lastId;
        try (StreamClient s =
                StreamClient.sse(http(), logs(id, "follow=true&stream=stdout&tail=0"), bearer(pier.viewer))) {
            assertThat(s.status()).isEqualTo(200);
            assertThat(s.contentType()).startsWith("text/event-stream");
            int[] n = {0};
            List<StreamClient.Event> got =
                    s.until(e -> e.type().equals("stdout") && ++n[0] >= 15, Duration.ofSeconds(20));
            lastId = null;
            for (StreamClient.Event e : got) {
                if (e.type().equals("stdout")) {
                    seen.add(number(e.data()));
                    lastId = e.id();
                }
            }
        }
        assertThat(seen).hasSizeGreaterThanOrEqualTo(15);
        for (int i = 1; i < seen.size(); i++) {
            assertThat(seen.get(i)).as("in order, no gap").isEqualTo(seen.get(i - 1) + 1);
        }
        int last = seen.getLast();
        // the client was away for a second: it comes back with its last id and misses nothing
        sleep(1_000);
        try (StreamClient s = StreamClient.sse(
                http(),
                logs(id, "follow=true&stream=stdout"),
                bearer(pier.viewer)[0],
                bearer(pier.viewer)[1],
                "Last-Event-ID",
                lastId)) {
            List<StreamClient.Event> got =
                    s.until(e -> e.type().equals("stdout") && number(e.data()) >= last + 15, Duration.ofSeconds(20));
            List<Integer> after = got.stream()
                    .filter(e -> e.type().equals("stdout"))
                    .map(e -> number(e.data()))
                    .toList();
            assertThat(after.getFirst()).as("the line after the last one seen").isEqualTo(last + 1);
            for (int i = 1; i < after.size(); i++) {
                assertThat(after.get(i)).isEqualTo(after.get(i - 1) + 1);
            }
        }
    }

    @Test
    void an_ndjson_follower_sees_a_stop_and_the_next_run_and_both_share_one_engine_stream() {
        String id = deployTicker();
        try (StreamClient a = StreamClient.ndjson(http(), logs(id, "follow=true&tail=0"), bearer(pier.viewer));
                StreamClient b = StreamClient.sse(http(), logs(id, "follow=true&tail=0"), bearer(pier.viewer))) {
            a.until(e -> e.json().path("line").asText().startsWith("out "), Duration.ofSeconds(20));
            b.until(e -> e.type().equals("stdout"), Duration.ofSeconds(20));
            assertThat(pier.server.core().logs.openStreams())
                    .as("one engine stream for both")
                    .isEqualTo(1);

            assertThat(pier.action(pier.manager, id, "stop").status()).isEqualTo(200);
            a.until(
                    e -> e.json().path("event").asText().equals("state")
                            && !e.json().path("state").asText().equals("running"),
                    Duration.ofSeconds(20));
            b.until(e -> e.type().equals("state"), Duration.ofSeconds(20));

            // the stream stayed open: the next run's output comes through it (the ticker counts from 0 again)
            assertThat(pier.action(pier.manager, id, "start").status()).isEqualTo(200);
            a.until(e -> e.json().path("line").asText().equals("out 0"), Duration.ofSeconds(20));
            b.until(e -> e.type().equals("stdout") && e.data().equals("out 0"), Duration.ofSeconds(20));
        }
        await().atMost(Duration.ofSeconds(5))
                .until(() -> pier.server.core().logs.openStreams() == 0);
    }

    @Test
    void a_follower_from_now_on_that_joins_a_followed_log_starts_at_the_next_line_and_misses_none() {
        String id = deployTicker();
        String path = logs(id, "follow=true&stream=stdout&tail=0");
        try (StreamClient a = StreamClient.sse(http(), path, bearer(pier.viewer))) {
            int before = number(a.until(e -> e.type().equals("stdout") && number(e.data()) >= 5, Duration.ofSeconds(20))
                    .getLast()
                    .data());
            // the hub passed that line on before the second follower came: it starts after it, with no engine read
            try (StreamClient b = StreamClient.sse(http(), path, bearer(pier.viewer))) {
                List<Integer> numbers = b
                        .until(
                                e -> e.type().equals("stdout") && number(e.data()) >= before + 20,
                                Duration.ofSeconds(20))
                        .stream()
                        .filter(e -> e.type().equals("stdout"))
                        .map(e -> number(e.data()))
                        .toList();
                assertThat(numbers.getFirst()).isGreaterThan(before);
                for (int i = 1; i < numbers.size(); i++) {
                    assertThat(numbers.get(i)).isEqualTo(numbers.get(i - 1) + 1);
                }
                assertThat(pier.server.core().logs.openStreams()).isEqualTo(1);
            }
        }
    }

    @Test
    void a_restart_while_followed_loses_nothing() {
        String id = deployTicker();
        try (StreamClient s =
                StreamClient.sse(http(), logs(id, "follow=true&stream=stdout&tail=0"), bearer(pier.viewer))) {
            s.until(e -> e.type().equals("stdout") && number(e.data()) >= 3, Duration.ofSeconds(20));
            assertThat(pier.action(pier.manager, id, "restart").status()).isEqualTo(200);
            // the new run starts at 0 again, and its first lines are not lost
            boolean[] newRun = {false};
            List<StreamClient.Event> got = s.until(
                    e -> {
                        if (e.type().equals("stdout") && e.data().equals("out 0")) {
                            newRun[0] = true;
                        }
                        return newRun[0]
                                && e.type().equals("stdout")
                                && e.data().equals("out 5");
                    },
                    Duration.ofSeconds(30));
            List<Integer> numbers = got.stream()
                    .filter(e -> e.type().equals("stdout"))
                    .map(e -> number(e.data()))
                    .toList();
            int zero = numbers.lastIndexOf(0);
            assertThat(zero).as("the new run's first line").isNotNegative();
            assertThat(numbers.subList(zero, numbers.size())).containsExactly(0, 1, 2, 3, 4, 5);
        }
    }

    @Test
    void bad_parameters_are_400_in_the_native_shape() {
        String id = deployTicker();
        for (String q : List.of(
                "tail=-1",
                "tail=x",
                "since=yesterday",
                "until=soon",
                "follow=maybe",
                "download=perhaps",
                "stream=stdin",
                "since=2026-12-02T10:00:00Z&until=2026-12-01T10:00:00Z",
                "follow=true&until=1",
                "q=",
                "after=nonsense")) {
            Http.Response r = http().get(logs(id, q), bearer(pier.viewer));
            assertThat(r.status()).as(q + ": " + r.body()).isEqualTo(400);
            assertThat(r.header("Content-Type")).as(q).startsWith("application/problem+json");
            assertThat(r.json().path("status").asInt()).isEqualTo(400);
        }
        assertThat(http().get(logs(java.util.UUID.randomUUID().toString(), ""), bearer(pier.viewer))
                        .status())
                .isEqualTo(404);
        assertThat(http().get(logs("not-an-id", ""), bearer(pier.viewer)).status())
                .isEqualTo(404);
        assertThat(http().get(logs(id, "")).status()).isEqualTo(401);
        assertThat(http().get(logs(id, ""), "Authorization", "Bearer nope").status())
                .isEqualTo(401);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
