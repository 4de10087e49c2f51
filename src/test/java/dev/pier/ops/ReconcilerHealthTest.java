package dev.pier.ops;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.instances.Reconciler;
import dev.pier.instances.TestEngine;
import dev.pier.runtime.DockerRuntime;
import dev.pier.runtime.FaultInjectingRuntime;
import dev.pier.runtime.FaultInjectingRuntime.Fault;
import dev.pier.runtime.FaultInjectingRuntime.Operation;
import dev.pier.runtime.FaultInjectingRuntime.When;
import dev.pier.support.DatabaseFree;
import dev.pier.support.Http;
import dev.pier.support.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The reconciler cannot die: a pass that throws something nobody expected (here injected into the
 * engine's listing) is logged once, later passes still run, and /readyz and /metrics say that the node's
 * passes stopped completing, until they complete again.
 */
@DatabaseFree
class ReconcilerHealthTest {
    static final AtomicReference<FaultInjectingRuntime> runtime = new AtomicReference<>();
    static TestServer server;

    @BeforeAll
    static void start() {
        try (var docker = TestEngine.connect()) { // skips without Docker
            docker.pingCmd().exec();
        } catch (java.io.IOException ignored) {
            // closing the probe
        }
        server = TestServer.startWithRuntimes(
                c -> c.withIntervals(Duration.ofMillis(100), Duration.ofMillis(300), Duration.ofSeconds(1)),
                endpoint -> {
                    FaultInjectingRuntime r = new FaultInjectingRuntime(DockerRuntime.connect(endpoint));
                    runtime.set(r);
                    return r;
                });
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    private static JsonNode local(Http.Response readyz) {
        return readyz.json().path("nodes").path("local");
    }

    private static double metric(String body, String name) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "\\{[^}]*node=\"local\"[^}]*} (\\S+)$")
                .matcher(body);
        assertThat(m.find()).as("%s{node=\"local\"} in %s", name, body).isTrue();
        return Double.parseDouble(m.group(1));
    }

    @Test
    void a_pass_that_throws_does_not_stop_later_passes_and_readyz_names_the_stale_node_until_they_complete() {
        Http http = server.http();
        Duration staleAfter = server.core().reconciler.staleAfter().orElseThrow();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            Http.Response r = http.get("/readyz");
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            assertThat(local(r).path("status").asText()).isEqualTo("online");
            assertThat(local(r).path("last_pass_age_seconds").asDouble()).isLessThan(3.0);
        });
        String before = http.get("/metrics").body();
        assertThat(metric(before, "pier_reconcile_last_pass_age_seconds")).isLessThan(3.0);
        double failedBefore = metric(before, "pier_reconcile_failed_passes_total");

        ListAppender<ILoggingEvent> log = new ListAppender<>();
        Logger reconcilerLog = (Logger) LoggerFactory.getLogger(Reconciler.class);
        log.start();
        reconcilerLog.addAppender(log);
        FaultInjectingRuntime engine = runtime.get();
        try {
            // every listing now throws what no code path expects: a bug, as far as the reconciler can tell
            engine.arm(
                    Operation.LIST_MANAGED,
                    When.BEFORE,
                    Fault.throwing(() -> new IllegalStateException("injected: a bug in the pass"))
                            .times(Integer.MAX_VALUE));
            int listingsArmed = engine.calls(Operation.LIST_MANAGED);

            long t0 = System.nanoTime();
            await().atMost(staleAfter.plusSeconds(10))
                    .pollInterval(Duration.ofMillis(250))
                    .untilAsserted(() -> {
                        Http.Response r = http.get("/readyz");
                        assertThat(r.status()).as(r.body()).isEqualTo(503);
                        assertThat(r.json().path("reconciler").asText()).contains("node 'local'");
                        assertThat(local(r).path("stale").asBoolean()).isTrue();
                    });
            assertThat(Duration.ofNanos(System.nanoTime() - t0))
                    .as("not stale before the limit")
                    .isGreaterThan(staleAfter.minusSeconds(2));
            // the periodic pass kept running all along, once a second, each one failing
            assertThat(engine.calls(Operation.LIST_MANAGED) - listingsArmed).isGreaterThanOrEqualTo(5);
            String during = http.get("/metrics").body();
            assertThat(metric(during, "pier_reconcile_failed_passes_total") - failedBefore)
                    .isGreaterThanOrEqualTo(5);
            assertThat(metric(during, "pier_reconcile_last_pass_age_seconds"))
                    .isGreaterThan(staleAfter.toSeconds() - 1);
            assertThat(metric(during, "pier_node_online")).isEqualTo(1.0);
        } finally {
            engine.disarm();
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            Http.Response r = http.get("/readyz");
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            assertThat(local(r).path("stale").asBoolean()).isFalse();
            assertThat(local(r).path("last_pass_age_seconds").asDouble()).isLessThan(3.0);
        });
        reconcilerLog.detachAppender(log);
        // logged once with its stack trace, not once per failing pass; and its end once
        List<ILoggingEvent> failures = log.list.stream()
                .filter(e ->
                        e.getLevel() == Level.WARN && e.getFormattedMessage().contains("injected: a bug in the pass"))
                .toList();
        assertThat(failures).hasSize(1);
        assertThat(failures.getFirst().getThrowableProxy()).isNotNull();
        assertThat(log.list)
                .anySatisfy(e -> assertThat(e.getFormattedMessage())
                        .contains("reconcile pass on node 'local'")
                        .contains("works again"));
    }
}
