package dev.pier.keys;

import dev.pier.security.AccessLevel;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Matrix;
import dev.pier.support.TestServer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.pier.keys.KeyFixtures.assertPlainError;
import static dev.pier.keys.KeyFixtures.assertUserKeysError;
import static dev.pier.keys.KeyFixtures.form;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 7, item 9 (limits): a user holds at most {@code PIER_MAX_KEYS_PER_USER} keys (100 by default),
 * also under parallel creation; an operator may cap key lifetime with {@code PIER_MAX_KEY_LIFETIME_DAYS},
 * and without it a key may still never expire (the documents' default).
 */
class KeyLimitsTest {

    private static int keysOf(TestServer server, KeyFixtures.Holder h) {
        return KeyFixtures.rows(
                        server,
                        "SELECT id FROM api_keys WHERE user_id = ?",
                        h.user().id())
                .size();
    }

    @Test
    void the_default_limit_is_one_hundred_keys_per_user() {
        try (TestServer server = TestServer.start()) {
            assertThat(server.config().maxKeysPerUser()).isEqualTo(100);
            assertThat(server.config().maxKeyLifetime()).isEmpty();
            KeyFixtures.Holder h = KeyFixtures.holder(server, "hundred", Role.VIEWER, AccessLevel.FULL);
            for (int i = 1; i < 100; i++) {
                KeyFixtures.withKey(server, h.user(), AccessLevel.BASIC);
            }
            Http.Response r =
                    server.http().postJson("/api/v1/api_tokens", Matrix.json("description", "101st"), h.xApiKey());
            assertThat(assertPlainError(r, 409)).contains("100");
            assertThat(keysOf(server, h)).isEqualTo(100);
            // deleting one makes room again
            String some = KeyFixtures.rows(
                            server,
                            "SELECT id FROM api_keys WHERE user_id = ? AND access_level = 'basic'",
                            h.user().id())
                    .getFirst()
                    .get("id")
                    .toString();
            assertThat(server.http()
                            .delete("/api/v1/api_tokens/" + some, h.xApiKey())
                            .status())
                    .isEqualTo(200);
            assertThat(server.http()
                            .postJson("/api/v1/api_tokens", Matrix.json("description", "room"), h.xApiKey())
                            .status())
                    .isEqualTo(200);
        }
    }

    @Test
    void a_configured_limit_holds_in_every_family_and_under_parallel_creation() throws Exception {
        try (TestServer server = TestServer.start(c -> c.withKeyLimits(5, null))) {
            KeyFixtures.Holder h = KeyFixtures.holder(server, "five", Role.VIEWER, AccessLevel.FULL);
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Integer>> results = new ArrayList<>();
            try (ExecutorService pool = Executors.newFixedThreadPool(12)) {
                for (int i = 0; i < 12; i++) {
                    results.add(pool.submit(() -> {
                        go.await();
                        return server.http()
                                .postJson("/api/v1/api_tokens", Matrix.json("description", "race"), h.xApiKey())
                                .status();
                    }));
                }
                go.countDown();
                int created = 0;
                for (Future<Integer> f : results) {
                    int s = f.get();
                    assertThat(s).isIn(200, 409);
                    created += s == 200 ? 1 : 0;
                }
                assertThat(created).isEqualTo(4);
            }
            assertThat(keysOf(server, h)).isEqualTo(5);
            assertUserKeysError(
                    server.http().postForm("/api/user/create_apikey", form("apikey", h.key(), "access_level", "basic")),
                    409,
                    "api/error-409");
            assertThat(keysOf(server, h)).isEqualTo(5);
        }
    }

    @Test
    void a_lifetime_cap_gives_keys_an_expiry_and_refuses_longer_ones() {
        try (TestServer server = TestServer.start(c -> c.withKeyLimits(100, Duration.ofDays(30)))) {
            KeyFixtures.Holder h = KeyFixtures.holder(server, "capped", Role.VIEWER, AccessLevel.FULL);
            Instant cap = server.clock.instant().plus(Duration.ofDays(30));
            Http.Response noExpiry =
                    server.http().postJson("/api/v1/api_tokens", Matrix.json("description", "d"), h.xApiKey());
            assertThat(noExpiry.status()).as(noExpiry.body()).isEqualTo(200);
            assertThat(Instant.parse(noExpiry.json().get("expires").asText())).isBetween(cap.minusSeconds(5), cap);

            Http.Response tooLong = server.http()
                    .postJson(
                            "/api/v1/api_tokens",
                            Matrix.json(
                                    "expires",
                                    server.clock
                                            .instant()
                                            .plus(Duration.ofDays(60))
                                            .toString()),
                            h.xApiKey());
            assertThat(assertPlainError(tooLong, 400)).contains("30 days");
            Http.Response never = server.http()
                    .send(
                            "PATCH",
                            "/api/v1/api_tokens/" + noExpiry.json().get("id").asText(),
                            "application/json",
                            Matrix.json("expires", "0001-01-01T00:00:00Z"),
                            h.xApiKey());
            assertThat(assertPlainError(never, 400)).contains("PIER_MAX_KEY_LIFETIME_DAYS");

            // the User API keys family has no expiry field: its keys get the cap
            Http.Response filebin =
                    server.http().postForm("/api/user/create_apikey", form("apikey", h.key(), "access_level", "basic"));
            assertThat(filebin.status()).isEqualTo(200);
            String id = filebin.json().at("/data/id").asText();
            assertThat(Instant.parse(server.http()
                            .get("/api/v1/api_tokens/" + id, h.xApiKey())
                            .json()
                            .get("expires")
                            .asText()))
                    .isBetween(cap.minusSeconds(5), cap);
        }
    }

    @Test
    void the_settings_are_read_and_checked_with_messages_that_name_them() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("pier-config");
        try {
            var loaded = new dev.pier.config.ConfigLoader(java.util.Map.of(
                            "PIER_DATA",
                            dir.toString(),
                            "PIER_MAX_KEYS_PER_USER",
                            "7",
                            "PIER_MAX_KEY_LIFETIME_DAYS",
                            "90"))
                    .load(dev.pier.config.ConfigLoader.Overrides.NONE);
            assertThat(loaded.maxKeysPerUser()).isEqualTo(7);
            assertThat(loaded.maxKeyLifetime()).contains(Duration.ofDays(90));
            for (var bad : java.util.List.of(
                    java.util.Map.of("PIER_MAX_KEYS_PER_USER", "0"),
                    java.util.Map.of("PIER_MAX_KEYS_PER_USER", "many"),
                    java.util.Map.of("PIER_MAX_KEY_LIFETIME_DAYS", "-1"))) {
                java.util.Map<String, String> env = new java.util.HashMap<>(bad);
                env.put("PIER_DATA", dir.toString());
                String setting = bad.keySet().iterator().next();
                org.assertj.core.api.Assertions.assertThatThrownBy(() ->
                                new dev.pier.config.ConfigLoader(env).load(dev.pier.config.ConfigLoader.Overrides.NONE))
                        .isInstanceOf(dev.pier.config.ConfigException.class)
                        .hasMessageContaining(setting);
            }
        } finally {
            java.nio.file.Files.deleteIfExists(dir);
        }
    }

    @Test
    void without_a_cap_a_key_never_expires() {
        try (TestServer server = TestServer.start()) {
            KeyFixtures.Holder h = KeyFixtures.holder(server, "forever", Role.VIEWER, AccessLevel.FULL);
            Http.Response r =
                    server.http().postJson("/api/v1/api_tokens", Matrix.json("description", "d"), h.xApiKey());
            assertThat(r.json().get("expires").asText()).isEqualTo("0001-01-01T00:00:00Z");
        }
    }
}
