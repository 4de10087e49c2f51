package dev.pier.live;

import dev.pier.instances.InstanceFixture;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import dev.pier.support.StreamClient;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static dev.pier.instances.InstanceFixture.bearer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code GET /api/v1/events}: instance created, state changed, suspended, deleted, each with a resume id;
 * a client that reconnects with {@code Last-Event-ID} gets what it missed, and one whose id is not known
 * is told to resync. Also over NDJSON, and for changes the CLI makes in its own process.
 */
class EventStreamTest {
    @Shared
    static InstanceFixture pier;

    @BeforeAll
    static void images() {
        Ticker.register(pier);
    }

    private static Http http() {
        return pier.http();
    }

    private static java.util.function.Predicate<StreamClient.Event> about(String type, String id) {
        return e ->
                e.type().equals(type) && e.json().path("instance_id").asText().equals(id);
    }

    @Test
    void a_client_sees_an_instance_live_and_resumes_after_what_it_saw() {
        String id;
        String lastId;
        try (StreamClient s = StreamClient.sse(http(), "/api/v1/events", bearer(pier.viewer))) {
            assertThat(s.status()).isEqualTo(200);
            assertThat(s.contentType()).startsWith("text/event-stream");
            id = Ticker.deploy(pier);
            StreamClient.Event created = s.until(about("instance.created", id), Duration.ofSeconds(20))
                    .getLast();
            assertThat(created.json().path("name").asText()).startsWith("tick-");
            assertThat(created.id())
                    .isNotBlank()
                    .isEqualTo(created.json().path("id").asText());
            StreamClient.Event running = s.until(
                            e -> about("instance.state", id).test(e)
                                    && e.json().path("state").asText().equals("running"),
                            Duration.ofSeconds(20))
                    .getLast();
            lastId = running.id();
        }
        // while the client is away: a stop and a suspension
        assertThat(pier.action(pier.manager, id, "stop").status()).isEqualTo(200);
        assertThat(pier.action(pier.admin, id, "suspend").status()).isEqualTo(200);
        try (StreamClient s = StreamClient.sse(
                http(), "/api/v1/events", bearer(pier.viewer)[0], bearer(pier.viewer)[1], "Last-Event-ID", lastId)) {
            List<StreamClient.Event> got = s.until(about("instance.suspended", id), Duration.ofSeconds(20));
            assertThat(got).anySatisfy(e -> {
                assertThat(about("instance.state", id).test(e)).isTrue();
                assertThat(e.json().path("previous").asText()).isEqualTo("running");
            });
            assertThat(got).noneMatch(e -> e.id() != null && e.id().equals(lastId));
            assertThat(http().delete("/api/v1/instances/" + id + "?force=true", bearer(pier.manager))
                            .status())
                    .isEqualTo(204);
            s.until(about("instance.deleted", id), Duration.ofSeconds(20));
        }
    }

    @Test
    void an_unknown_id_is_told_to_resync_and_ndjson_works_too() {
        try (StreamClient s = StreamClient.ndjson(http(), "/api/v1/events?after=0000-1", bearer(pier.viewer))) {
            assertThat(s.contentType()).startsWith("application/x-ndjson");
            assertThat(s.next(Duration.ofSeconds(5)).json().path("event").asText())
                    .isEqualTo("resync");
            String id = Ticker.deploy(pier);
            s.until(
                    e -> e.json().path("event").asText().equals("instance.created")
                            && e.json().path("instance_id").asText().equals(id),
                    Duration.ofSeconds(20));
        }
    }

    @Test
    void a_change_the_cli_makes_in_another_process_shows_as_an_event() {
        try (StreamClient s = StreamClient.sse(http(), "/api/v1/events", bearer(pier.viewer))) {
            String id = Ticker.deploy(pier);
            s.until(about("instance.created", id), Duration.ofSeconds(20));
            // another process's write: straight into the database, as the CLI's are, then the feed's poll
            pier.server.core().db.jdbi().useTransaction(h -> {
                h.createUpdate("UPDATE instances SET suspended = TRUE WHERE id = :id")
                        .bind("id", java.util.UUID.fromString(id))
                        .execute();
                h.createUpdate("UPDATE change_counters SET counter = counter + 1 WHERE topic = 'instances'")
                        .execute();
            });
            s.until(about("instance.suspended", id), Duration.ofSeconds(5));
        }
    }
}
