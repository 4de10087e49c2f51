package dev.pier.instances;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Event;
import dev.pier.support.DatabaseFree;
import dev.pier.support.Http;
import dev.pier.support.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static dev.pier.instances.InstanceFixture.bearer;
import static dev.pier.instances.InstanceFixture.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A container that exits at once, with the reconciler's periodic pass every second: restarts back off
 * (counted by the engine's own events, not by Pier), the instance shows crashloop with the exit code in
 * every family that has a status, its events stay within the retention, and a user's start ends the
 * back-off.
 */
@DatabaseFree
class CrashLoopTest {
    static final int KEEP_EVENTS = 6;
    static InstanceFixture pier;
    static String adminKey;

    @BeforeAll
    static void start() {
        pier = InstanceFixture.start(() -> TestServer.start(
                c -> c.withIntervals(Duration.ofMillis(100), Duration.ofMillis(500), Duration.ofSeconds(1))
                        .with(b -> b.eventsPerInstance = KEEP_EVENTS)));
        pier.registerImage(
                pier.admin, "crasher", TestEngine.BUSYBOX, List.of("/bin/sh", "-c", "exit 3"), List.of(), false);
        Http.Response key =
                pier.http().postJson("/api/v1/api_tokens", json("description", "crash loop"), bearer(pier.admin));
        assertThat(key.status()).as(key.body()).isEqualTo(200);
        adminKey = key.json().path("key").asText();
    }

    @AfterAll
    static void stop() {
        if (pier != null) {
            pier.close();
        }
    }

    private static JsonNode instance(String id) {
        Http.Response r = pier.http().get("/api/v1/instances/" + id, bearer(pier.viewer));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json();
    }

    /** The engine's own record of the container's starts between two times. */
    private static List<Event> starts(String containerId, Instant since, Instant until) throws InterruptedException {
        List<Event> events = new CopyOnWriteArrayList<>();
        ResultCallback.Adapter<Event> callback = new ResultCallback.Adapter<>() {
            @Override
            public void onNext(Event e) {
                events.add(e);
            }
        };
        pier.docker
                .eventsCmd()
                .withContainerFilter(containerId)
                .withEventFilter("start")
                .withSince(Long.toString(since.getEpochSecond()))
                .withUntil(Long.toString(until.getEpochSecond() + 1))
                .exec(callback);
        assertThat(callback.awaitCompletion(30, TimeUnit.SECONDS)).isTrue();
        return events;
    }

    private static int events(String id) {
        return pier.server
                .core()
                .db
                .jdbi()
                .withHandle(h -> h.createQuery("SELECT COUNT(*) FROM instance_events WHERE instance_id = :id")
                        .bind("id", UUID.fromString(id))
                        .mapTo(Integer.class)
                        .one());
    }

    @Test
    void a_container_that_exits_at_once_backs_off_and_shows_crashloop_with_its_exit_code() throws Exception {
        Instant deployed = Instant.now();
        JsonNode i = pier.deploy(
                pier.manager,
                "name",
                InstanceFixture.name("crasher"),
                "image",
                "crasher",
                "memory_mib",
                32,
                "cpu",
                0.25);
        String id = i.path("id").asText();
        String cid = i.path("container_id").asText();

        await().atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(200))
                .untilAsserted(() -> {
                    JsonNode now = instance(id);
                    assertThat(now.path("observed_state").asText()).isEqualTo("crashloop");
                    assertThat(now.path("exit_code").asInt()).isEqualTo(3);
                    assertThat(now.path("crashes").asInt()).isGreaterThanOrEqualTo(2);
                    assertThat(Instant.parse(now.path("next_attempt_at").asText()))
                            .isAfter(deployed);
                });
        // the other families' shapes with a status say so too
        JsonNode droplet =
                pier.http().get("/api/v1/droplet/list", bearer(pier.viewer)).json();
        JsonNode mine = null;
        for (JsonNode d : droplet) {
            if (d.path("id").asText().equals(id)) {
                mine = d;
            }
        }
        assertThat(mine).isNotNull();
        assertThat(mine.path("status").asText()).isEqualTo("crashloop");
        assertThat(mine.path("exit_code").asInt()).isEqualTo(3);
        JsonNode panel = pier.http()
                .postJson("/api/getInstance", json("id", id), "x-api-key", adminKey)
                .json();
        assertThat(panel.path("State").asText()).isEqualTo("crashloop");
        assertThat(panel.path("ExitCode").asInt()).isEqualTo(3);

        // half a minute of it, as the engine counts: without the back-off this was about 53 starts (107 a
        // minute); with it the restarts come after 0, 1, 2, 4 and 8 s of waiting
        Instant later = deployed.plusSeconds(30);
        Thread.sleep(Math.max(0, Duration.between(Instant.now(), later).toMillis()));
        List<Event> starts = starts(cid, deployed, later);
        assertThat(starts.size())
                .as("starts of the container in its first 30 s")
                .isBetween(3, 8);
        assertThat(pier.containersOf(id)).hasSize(1);
        // the delay doubled: the last two starts are further apart than the first two
        long firstGap = starts.get(1).getTimeNano() - starts.get(0).getTimeNano();
        long lastGap = starts.get(starts.size() - 1).getTimeNano()
                - starts.get(starts.size() - 2).getTimeNano();
        assertThat(lastGap).isGreaterThan(4 * firstGap);

        // the reconciler's retention keeps the events of the instance bounded
        await().atMost(Duration.ofSeconds(10))
                .untilAsserted(() -> assertThat(events(id)).isBetween(1, KEEP_EVENTS));

        // a user's start ends the back-off: nothing scheduled, the count starts over
        Http.Response started = pier.action(pier.manager, id, "start");
        assertThat(started.status()).as(started.body()).isEqualTo(200);
        assertThat(started.json().path("crashes").asInt()).isZero();
        assertThat(started.json().path("next_attempt_at").isNull()).isTrue();
        // and it dies again at once: the first death after the reset is restarted at once, the second is the loop's
        await().atMost(Duration.ofSeconds(10))
                .untilAsserted(
                        () -> assertThat(instance(id).path("crashes").asInt()).isBetween(1, 3));
    }
}
