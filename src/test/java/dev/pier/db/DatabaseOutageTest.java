package dev.pier.db;

import dev.pier.support.DatabaseFree;
import dev.pier.support.Http;
import dev.pier.support.PostgresCluster;
import dev.pier.support.ServerProcess;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * PostgreSQL stopped and started again under load (a server of the test's own): while it is away every
 * request that needs it is answered 503 with {@code Retry-After} within 2 s, never 500; the log says so
 * once, not once per request; the node's status does not change; and once the database is back the
 * same server answers normally, with every write it acknowledged before the outage still there.
 */
@DatabaseFree
class DatabaseOutageTest {
    private static final Logger log = LoggerFactory.getLogger(DatabaseOutageTest.class);

    private record Answer(long startedNanos, int status, long ms, String retryAfter, String body) {}

    @Test
    void an_outage_is_answered_503_promptly_logged_once_and_recovered_from() throws Exception {
        try (PostgresCluster pg = PostgresCluster.start();
                ServerProcess server =
                        ServerProcess.onDatabase(pg.jdbcUrl(), Map.of("PIER_MAX_KEYS_PER_USER", "100000"))) {
            String token = server.ownerToken();
            Http http = server.http();
            String before = http.postJson(
                            "/api/v1/api_tokens", "{\"description\":\"before\"}", "Authorization", "Bearer " + token)
                    .json()
                    .get("key")
                    .asText();
            awaitNode(http, token, "online");

            ConcurrentLinkedQueue<Answer> answers = new ConcurrentLinkedQueue<>();
            AtomicBoolean stop = new AtomicBoolean();
            ExecutorService clients = Executors.newFixedThreadPool(4);
            for (int c = 0; c < 4; c++) {
                boolean writer = c % 2 == 0;
                clients.submit(() -> {
                    while (!stop.get()) {
                        long t0 = System.nanoTime();
                        Http.Response r = writer
                                ? http.postJson(
                                        "/api/v1/api_tokens",
                                        "{\"description\":\"load\"}",
                                        "Authorization",
                                        "Bearer " + token)
                                : http.get("/api/v1/audit?limit=5", "Authorization", "Bearer " + token);
                        answers.add(new Answer(
                                t0,
                                r.status(),
                                (System.nanoTime() - t0) / 1_000_000,
                                r.header("Retry-After"),
                                r.body()));
                    }
                });
            }
            Thread.sleep(500);
            long outageStart = System.nanoTime();
            pg.stopServer();
            Thread.sleep(6000);
            pg.startServer();
            long outageEnd = System.nanoTime();
            // back by itself: the first write that succeeds after the restart, then two more seconds of load
            long recoveredAt = 0;
            while (recoveredAt == 0 && System.nanoTime() - outageEnd < TimeUnit.SECONDS.toNanos(30)) {
                for (Answer a : answers) {
                    if (a.startedNanos() > outageEnd && a.status() == 200) {
                        recoveredAt = recoveredAt == 0 ? a.startedNanos() : Math.min(recoveredAt, a.startedNanos());
                    }
                }
                Thread.sleep(100);
            }
            assertThat(recoveredAt)
                    .as("a request succeeded within 30 s of the database's return")
                    .isPositive();
            Thread.sleep(2000);
            stop.set(true);
            clients.shutdown();
            assertThat(clients.awaitTermination(30, TimeUnit.SECONDS)).isTrue();

            final long recovered = recoveredAt;
            List<Answer> during = new ArrayList<>();
            List<Answer> after = new ArrayList<>();
            for (Answer a : answers) {
                assertThat(a.status()).as("never a 500: " + a.body()).isNotEqualTo(500);
                if (a.startedNanos() > outageStart + 500_000_000L && a.startedNanos() < outageEnd) {
                    during.add(a);
                } else if (a.startedNanos() > recovered + 500_000_000L) {
                    after.add(a);
                }
            }
            List<Answer> refused =
                    during.stream().filter(a -> a.status() == 503).toList();
            log.info(
                    "outage: {} answers while PostgreSQL was stopped, {} of them 503, slowest {} ms; first success {} ms "
                            + "after its restart; {} answers after that",
                    during.size(),
                    refused.size(),
                    during.stream().mapToLong(Answer::ms).max().orElse(0),
                    (recovered - outageEnd) / 1_000_000,
                    after.size());
            assertThat(refused).as("503 answers during the outage").isNotEmpty();
            for (Answer a : refused) {
                assertThat(a.ms()).as("ms to answer 503").isLessThan(2000);
                assertThat(a.retryAfter()).isNotNull();
            }
            assertThat(during).allSatisfy(a -> assertThat(a.status()).isIn(200, 503));
            assertThat(after)
                    .isNotEmpty()
                    .allSatisfy(a -> assertThat(a.status()).as(a.body()).isEqualTo(200));

            // the same server, no restart: what it acknowledged before is still there, the node never went offline
            assertThat(http.get("/api/v1/api_tokens", "Token", before).status()).isEqualTo(200);
            awaitNode(http, token, "online");
            String logText = server.log();
            assertThat(logText.lines().filter(l -> l.contains("database unavailable")))
                    .hasSize(1);
            assertThat(logText.lines().filter(l -> l.contains("database is back")))
                    .hasSize(1);
            List<String> lines = logText.lines().toList();
            List<String> traces = new ArrayList<>();
            for (int i = 1; i < lines.size(); i++) {
                if (lines.get(i).startsWith("\tat ")
                        && !lines.get(i - 1).startsWith("\tat ")
                        && !lines.get(i - 1).startsWith("Caused by")) {
                    int j = i - 1;
                    while (j > 0 && !lines.get(j).matches("^\\d{4}-.*")) {
                        j--;
                    }
                    traces.add(lines.get(j)); // the log line the stack trace belongs to
                }
            }
            assertThat(traces).as("log lines with a stack trace").hasSizeLessThan(3);
            assertThat(logText).doesNotContain("node 'local' is offline");
        }
    }

    private static void awaitNode(Http http, String token, String status) throws InterruptedException {
        for (int i = 0; i < 100; i++) {
            Http.Response r = http.get("/api/v1/nodes", "Authorization", "Bearer " + token);
            if (r.status() == 200 && r.body().contains("\"status\":\"" + status + "\"")) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("node local never became " + status);
    }
}
