package dev.pier.live;

import dev.pier.instances.InstanceFixture;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import dev.pier.support.StreamClient;
import dev.pier.users.Enrollment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.function.Function;

import static dev.pier.instances.InstanceFixture.bearer;
import static dev.pier.instances.InstanceFixture.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every stream obeys authorization for its whole life: ending the session, deleting or disabling the key,
 * disabling the user, changing the user's role, suspending or deleting the instance each end the open
 * streams they concern within a second, with a last event that says why. Log, stats and event streams
 * alike, with session tokens and API keys.
 */
class StreamAuthorizationTest {
    /** How long after the change the stream must have ended. */
    private static final Duration WITHIN = Duration.ofSeconds(1);

    @Shared
    static InstanceFixture pier;

    private static int users;

    @BeforeAll
    static void images() {
        Ticker.register(pier);
    }

    private static Http http() {
        return pier.http();
    }

    private record Caller(String username, String token) {}

    private static Caller newViewer() {
        String name = "watcher" + (++users) + Long.toString(System.nanoTime() % 100_000, 36);
        Enrollment e = pier.server.createUser(name, Role.VIEWER);
        return new Caller(name, pier.server.accessToken(e));
    }

    private static String apiKey(String sessionToken) {
        Http.Response r = http().postJson("/api/v1/api_tokens", json("description", "streams"), bearer(sessionToken));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json().path("key").asText() + "\u0000" + r.json().path("id").asText();
    }

    /** Opens the stream, waits until it delivers, runs the change, and checks the stream ends within a second. */
    private static void endsWhen(
            StreamClient s,
            java.util.function.Predicate<StreamClient.Event> delivering,
            Runnable change,
            String reason) {
        assertThat(s.status()).isEqualTo(200);
        s.until(delivering, Duration.ofSeconds(20));
        long before = System.nanoTime();
        change.run();
        List<StreamClient.Event> rest = s.until(e -> e.type().equals("end") || e.closed(), Duration.ofSeconds(5));
        StreamClient.Event end = rest.getLast();
        long tookMs = (end.receivedNanos() - before) / 1_000_000;
        assertThat(end.type()).as("a last event saying why; got %s", rest).isEqualTo("end");
        assertThat(end.json().path("reason").asText()).isEqualTo(reason);
        assertThat(Duration.ofMillis(tookMs)).as("ended after %d ms", tookMs).isLessThan(WITHIN);
        assertThat(s.until(StreamClient.Event::closed, Duration.ofSeconds(5))
                        .getLast()
                        .closed())
                .isTrue();
    }

    private static StreamClient followLogs(String id, String... auth) {
        return StreamClient.sse(http(), "/api/v1/instances/" + id + "/logs?follow=true&tail=0", auth);
    }

    private static boolean aLine(StreamClient.Event e) {
        return e.type().equals("stdout") || e.type().equals("stderr");
    }

    @Test
    void ending_the_session_ends_its_log_stream() {
        String id = Ticker.deploy(pier);
        Caller c = newViewer();
        try (StreamClient s = followLogs(id, bearer(c.token()))) {
            endsWhen(
                    s,
                    StreamAuthorizationTest::aLine,
                    () -> assertThat(http().delete("/api/v1/user/auth/revoke/" + c.username(), bearer(pier.admin))
                                    .status())
                            .isEqualTo(200),
                    "unauthenticated");
        }
    }

    @Test
    void deleting_or_disabling_the_key_ends_its_streams() {
        String id = Ticker.deploy(pier);
        Caller c = newViewer();
        String[] key = apiKey(c.token()).split("\u0000");
        try (StreamClient s = followLogs(id, "x-api-key", key[0])) {
            endsWhen(
                    s,
                    StreamAuthorizationTest::aLine,
                    () -> assertThat(http().send(
                                            "PATCH",
                                            "/api/v1/api_tokens/" + key[1],
                                            "application/json",
                                            json("enabled", false),
                                            bearer(c.token()))
                                    .status())
                            .isEqualTo(200),
                    "unauthenticated");
        }
        String[] other = apiKey(c.token()).split("\u0000");
        try (StreamClient s = StreamClient.sse(http(), "/api/v1/events", "x-api-key", other[0])) {
            // the event stream says nothing until something happens: a deploy shows it delivers
            Ticker.deploy(pier);
            endsWhen(
                    s,
                    e -> e.type().equals("instance.created"),
                    () -> assertThat(http().delete("/api/v1/api_tokens/" + other[1], bearer(c.token()))
                                    .status())
                            .isEqualTo(200),
                    "unauthenticated");
        }
    }

    @Test
    void disabling_the_user_or_changing_their_role_ends_their_streams() {
        String id = Ticker.deploy(pier);
        for (Function<String, String> change :
                List.<Function<String, String>>of(user -> json("disabled", true), user -> json("role", "manager"))) {
            Caller c = newViewer();
            try (StreamClient s =
                    StreamClient.sse(http(), "/api/v1/instances/" + id + "/stats?follow=true", bearer(c.token()))) {
                endsWhen(
                        s,
                        e -> e.type().equals("stats"),
                        () -> {
                            Http.Response r = http().send(
                                            "PATCH",
                                            "/api/v1/users/" + c.username(),
                                            "application/json",
                                            change.apply(c.username()),
                                            bearer(pier.admin));
                            assertThat(r.status()).as(r.body()).isEqualTo(200);
                        },
                        "unauthenticated");
            }
        }
    }

    @Test
    void suspending_or_deleting_the_instance_ends_its_streams() {
        String id = Ticker.deploy(pier);
        try (StreamClient s = followLogs(id, bearer(pier.viewer))) {
            endsWhen(
                    s,
                    StreamAuthorizationTest::aLine,
                    () -> assertThat(pier.action(pier.admin, id, "suspend").status())
                            .isEqualTo(200),
                    "suspended");
        }
        // a suspended instance opens no stream
        Http.Response refused = http().get("/api/v1/instances/" + id + "/logs?follow=true", bearer(pier.viewer));
        assertThat(refused.status()).isEqualTo(409);
        assertThat(pier.action(pier.admin, id, "unsuspend").status()).isEqualTo(200);

        String other = Ticker.deploy(pier);
        try (StreamClient s = followLogs(other, bearer(pier.viewer))) {
            endsWhen(
                    s,
                    StreamAuthorizationTest::aLine,
                    () -> assertThat(http().delete("/api/v1/instances/" + other + "?force=true", bearer(pier.manager))
                                    .status())
                            .isEqualTo(204),
                    "deleted");
        }
    }

    @Test
    void every_stream_refuses_a_missing_or_revoked_credential() {
        String id = Ticker.deploy(pier);
        for (String path : List.of(
                "/api/v1/instances/" + id + "/logs?follow=true",
                "/api/v1/instances/" + id + "/stats?follow=true",
                "/api/v1/instances/" + id + "/stats",
                "/api/v1/stats",
                "/api/v1/events")) {
            assertThat(http().get(path).status()).as(path).isEqualTo(401);
            Http.Response r = http().get(path, bearer("not-a-token"));
            assertThat(r.status()).as(path).isEqualTo(401);
        }
    }
}
