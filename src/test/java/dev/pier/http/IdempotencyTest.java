package dev.pier.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import dev.pier.support.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code Idempotency-Key} on create routes: a retry gets the first answer, never a second resource. */
class IdempotencyTest {
    @Shared
    static TestServer server;

    static Http http;
    static String admin;
    static String other;

    @BeforeAll
    static void start() {
        http = server.http();
        admin = server.accessToken(server.createUser("idem-admin", Role.ADMIN));
        other = server.accessToken(server.createUser("idem-other", Role.ADMIN));
    }

    private static Http.Response createToken(String token, String key, String description) {
        return http.postJson(
                "/api/v1/api_tokens",
                "{\"description\":\"" + description + "\"}",
                "Authorization",
                "Bearer " + token,
                Idempotency.HEADER,
                key);
    }

    private static long tokensOf(String token) {
        return http.get("/api/v1/api_tokens", "Authorization", "Bearer " + token)
                .json()
                .size();
    }

    @Test
    void a_retried_create_gets_the_first_answer_and_creates_nothing_more() {
        String key = UUID.randomUUID().toString();
        long before = tokensOf(admin);
        Http.Response first = createToken(admin, key, "retried");
        assertThat(first.status()).as(first.body()).isEqualTo(200);
        Http.Response again = createToken(admin, key, "retried");
        assertThat(again.status()).isEqualTo(200);
        assertThat(again.body()).isEqualTo(first.body());
        assertThat(again.header("Idempotent-Replayed")).isEqualTo("true");
        assertThat(again.header("Content-Type")).startsWith("application/json");
        assertThat(tokensOf(admin)).isEqualTo(before + 1);
        // the replayed key is the real one: it works
        String value = again.json().get("key").asText();
        assertThat(http.get("/api/v1/api_tokens", "Token", value).status()).isEqualTo(200);
    }

    @Test
    void the_kept_answer_is_sealed_so_the_secret_it_holds_is_not_in_the_database() {
        Http.Response r = createToken(admin, UUID.randomUUID().toString(), "sealed");
        String value = r.json().get("key").asText();
        List<String> bodies = server.core()
                .db
                .jdbi()
                .withHandle(h -> h.createQuery("SELECT body FROM idempotency_keys")
                        .mapTo(String.class)
                        .list());
        assertThat(bodies).isNotEmpty().noneMatch(b -> b != null && b.contains(value.substring(5, 40)));
    }

    @Test
    void the_same_key_with_another_request_is_422_and_changes_nothing() {
        String key = UUID.randomUUID().toString();
        assertThat(createToken(admin, key, "one").status()).isEqualTo(200);
        long before = tokensOf(admin);
        Http.Response r = createToken(admin, key, "two");
        assertThat(r.status()).as(r.body()).isEqualTo(422);
        assertThat(r.json().get("error").asText()).contains("Idempotency-Key");
        assertThat(tokensOf(admin)).isEqualTo(before);
    }

    @Test
    void a_failed_first_attempt_keeps_nothing_and_the_retry_runs() {
        String key = UUID.randomUUID().toString();
        Http.Response bad = http.postJson(
                "/api/v1/api_tokens",
                "{\"expires\":\"2000-01-01T00:00:00Z\"}",
                "Authorization",
                "Bearer " + admin,
                Idempotency.HEADER,
                key);
        assertThat(bad.status()).as(bad.body()).isEqualTo(400);
        Http.Response good = http.postJson(
                "/api/v1/api_tokens",
                "{\"expires\":\"2000-01-01T00:00:00Z\"}",
                "Authorization",
                "Bearer " + admin,
                Idempotency.HEADER,
                key);
        assertThat(good.status()).isEqualTo(400);
        assertThat(good.header("Idempotent-Replayed")).isNull();
    }

    @Test
    void keys_are_per_caller() {
        String key = UUID.randomUUID().toString();
        Http.Response mine = createToken(admin, key, "mine");
        Http.Response theirs = createToken(other, key, "mine");
        assertThat(theirs.status()).isEqualTo(200);
        assertThat(theirs.header("Idempotent-Replayed")).isNull();
        assertThat(theirs.json().get("id").asText())
                .isNotEqualTo(mine.json().get("id").asText());
    }

    @Test
    void parallel_retries_create_one_token() throws Exception {
        String key = UUID.randomUUID().toString();
        long before = tokensOf(admin);
        ExecutorService pool = Executors.newFixedThreadPool(12);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Http.Response>> answers = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            answers.add(pool.submit(() -> {
                go.await();
                return createToken(admin, key, "parallel");
            }));
        }
        go.countDown();
        List<String> ids = new ArrayList<>();
        for (Future<Http.Response> f : answers) {
            Http.Response r = f.get();
            // the first runs; the others are replays, or told it is still running
            assertThat(r.status()).as(r.body()).isIn(200, 409);
            if (r.status() == 200) {
                ids.add(r.json().get("id").asText());
            }
        }
        pool.shutdown();
        assertThat(ids).isNotEmpty().allMatch(ids.getFirst()::equals);
        assertThat(tokensOf(admin)).isEqualTo(before + 1);
    }

    @Test
    void every_family_replays_its_own_create() {
        String key = UUID.randomUUID().toString();
        Http.Response first = http.postJson(
                "/api/v1/user/add",
                "{\"username\":\"idem-matrix\",\"group\":\"viewer\"}",
                "Authorization",
                "Bearer " + admin,
                Idempotency.HEADER,
                key);
        assertThat(first.status()).as(first.body()).isEqualTo(200);
        Http.Response again = http.postJson(
                "/api/v1/user/add",
                "{\"username\":\"idem-matrix\",\"group\":\"viewer\"}",
                "Authorization",
                "Bearer " + admin,
                Idempotency.HEADER,
                key);
        // without the key this would be 400/914 "username taken"
        assertThat(again.status()).as(again.body()).isEqualTo(200);
        assertThat(again.body()).isEqualTo(first.body());
    }

    @Test
    void a_malformed_key_is_400() {
        Http.Response r = createToken(admin, "x".repeat(256), "long");
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        JsonNode b = r.json();
        assertThat(b.get("error").asText()).contains("Idempotency-Key");
    }

    @Test
    void without_the_header_nothing_is_kept() {
        long kept = server.core()
                .db
                .jdbi()
                .withHandle(h -> h.createQuery("SELECT COUNT(*) FROM idempotency_keys")
                        .mapTo(Long.class)
                        .one());
        Http.Response r = http.postJson("/api/v1/api_tokens", "{}", "Authorization", "Bearer " + admin);
        assertThat(r.status()).isEqualTo(200);
        long after = server.core()
                .db
                .jdbi()
                .withHandle(h -> h.createQuery("SELECT COUNT(*) FROM idempotency_keys")
                        .mapTo(Long.class)
                        .one());
        assertThat(after).isEqualTo(kept);
    }

    @Test
    void expired_answers_are_purged_and_the_key_works_again() {
        try (TestServer own = TestServer.start()) {
            String token = own.accessToken(own.createUser("idem-purge", Role.ADMIN));
            String key = UUID.randomUUID().toString();
            Http.Response first = own.http()
                    .postJson(
                            "/api/v1/api_tokens",
                            "{\"description\":\"a\"}",
                            "Authorization",
                            "Bearer " + token,
                            Idempotency.HEADER,
                            key);
            assertThat(first.status()).isEqualTo(200);
            own.clock.advance(Idempotency.KEEP.plusMinutes(1));
            assertThat(own.core().idempotency.purgeExpired()).isEqualTo(1);
        }
    }
}
