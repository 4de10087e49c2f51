package dev.pier.live;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.instances.InstanceFixture;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import dev.pier.support.StreamClient;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static dev.pier.instances.InstanceFixture.bearer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Stats over HTTP from real containers: one sample, a followed stream (a sample about every 2 s, from one
 * engine stream however many follow, closed when nobody does), every instance's latest sample with node
 * totals, the per-instance series in {@code /metrics}, and bad parameters.
 */
class StatsApiTest {
    @Shared
    static InstanceFixture pier;

    @BeforeAll
    static void images() {
        Ticker.register(pier);
    }

    private static Http http() {
        return pier.http();
    }

    private static void assertSample(JsonNode s, String id) {
        assertThat(s.path("instance_id").asText()).isEqualTo(id);
        assertThat(Instant.parse(s.path("ts").asText())).isAfter(Instant.now().minusSeconds(60));
        for (String f : List.of(
                "cpu_percent",
                "cpu_limit_percent",
                "memory_bytes",
                "memory_limit_bytes",
                "net_rx_bytes",
                "net_tx_bytes",
                "block_read_bytes",
                "block_write_bytes",
                "pids")) {
            assertThat(s.path(f).isNumber()).as(f + " in " + s).isTrue();
            assertThat(s.path(f).asDouble()).as(f).isGreaterThanOrEqualTo(0);
        }
        assertThat(s.path("memory_limit_bytes").asLong()).isEqualTo(32L << 20);
        assertThat(s.path("memory_bytes").asLong()).isPositive().isLessThan(32L << 20);
        assertThat(s.path("pids").asInt()).isPositive();
    }

    @Test
    void one_sample_and_a_followed_stream_from_one_engine_stream() {
        String id = Ticker.deploy(pier);
        Http.Response r = http().get("/api/v1/instances/" + id + "/stats", bearer(pier.viewer));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertSample(r.json(), id);

        try (StreamClient a = StreamClient.sse(
                        http(), "/api/v1/instances/" + id + "/stats?follow=true", bearer(pier.viewer));
                StreamClient b = StreamClient.ndjson(
                        http(), "/api/v1/instances/" + id + "/stats?follow=true", bearer(pier.viewer))) {
            int[] n = {0};
            List<StreamClient.Event> got =
                    a.until(e -> e.type().equals("stats") && ++n[0] >= 3, Duration.ofSeconds(20));
            List<StreamClient.Event> samples =
                    got.stream().filter(e -> e.type().equals("stats")).toList();
            samples.forEach(e -> assertSample(e.json(), id));
            // about every 2 s (the first may be the newest one at hand when the stream opened)
            long gapMs = (samples.get(2).receivedNanos() - samples.get(1).receivedNanos()) / 1_000_000;
            assertThat(gapMs).isBetween(1_000L, 3_500L);
            assertSample(b.next(Duration.ofSeconds(10)).json(), id);
            assertThat(pier.server.core().stats.openStreams()).isEqualTo(1);
        }
        await().atMost(Duration.ofSeconds(5))
                .until(() -> pier.server.core().stats.openStreams() == 0);
    }

    @Test
    void all_instances_in_one_call_with_node_totals_and_in_metrics() {
        String a = Ticker.deploy(pier);
        String b = Ticker.deploy(pier);
        Http.Response r = http().get("/api/v1/stats", bearer(pier.viewer));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        JsonNode body = r.json();
        assertThat(body.path("instances").findValuesAsText("instance_id")).contains(a, b);
        for (JsonNode s : body.path("instances")) {
            if (s.path("instance_id").asText().equals(a)) {
                assertSample(s, a);
            }
        }
        JsonNode local = body.path("nodes").get(0);
        assertThat(local.path("node").asText()).isEqualTo("local");
        assertThat(local.path("instances").asInt()).isGreaterThanOrEqualTo(2);
        assertThat(local.path("memory_bytes").asLong()).isPositive();

        String metrics = http().get("/metrics").body();
        assertThat(metrics).contains("pier_instance_memory_bytes{instance=").contains("instance_id=\"" + a + "\"");
        assertThat(metrics).contains("pier_instance_cpu_percent{");
    }

    @Test
    void a_stopped_instance_has_no_sample_and_bad_parameters_are_400() {
        String id = Ticker.deploy(pier);
        assertThat(http().get("/api/v1/instances/" + id + "/stats?follow=often", bearer(pier.viewer))
                        .status())
                .isEqualTo(400);
        assertThat(http().get("/api/v1/instances/" + java.util.UUID.randomUUID() + "/stats", bearer(pier.viewer))
                        .status())
                .isEqualTo(404);
        assertThat(pier.action(pier.manager, id, "stop").status()).isEqualTo(200);
        Http.Response r = http().get("/api/v1/instances/" + id + "/stats", bearer(pier.viewer));
        assertThat(r.status()).as(r.body()).isEqualTo(409);
        assertThat(r.json().path("detail").asText()).contains("not running");
    }
}
