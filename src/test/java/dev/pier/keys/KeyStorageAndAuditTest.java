package dev.pier.keys;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.security.AccessLevel;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import dev.pier.support.TestDatabases;
import dev.pier.support.TestServer;
import dev.pier.users.Enrollment;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

import static dev.pier.keys.KeyFixtures.form;
import static dev.pier.keys.KeyFixtures.json;
import static org.assertj.core.api.Assertions.assertThat;

/** Keys live in the database only as hashes, and every change to a key is audited with who did it. */
class KeyStorageAndAuditTest {
    @Shared
    static TestServer server;

    @Test
    void no_key_value_is_stored_anywhere_in_the_database() throws IOException, java.sql.SQLException {
        Http http = server.http();
        dev.pier.users.Enrollment enrolled = server.createUser(KeyFixtures.name("store"), Role.ADMIN);
        KeyFixtures.Holder admin = KeyFixtures.withKey(server, enrolled.user(), AccessLevel.FULL);
        List<String> values = new ArrayList<>(List.of(admin.key()));

        // keys made through each family, with passwords and sessions as the credential
        Http.Response token = http.postJson("/api/v1/api_tokens", json("description", "kriten style"), admin.bearer());
        values.add(token.json().get("key").asText());
        Http.Response userKey = KeyFixtures.postMultipart(
                http,
                "/api/user/create_apikey",
                "apikey",
                admin.key(),
                "access_level",
                "apikey",
                "comment",
                "filebin style");
        values.add(userKey.json().at("/data/new_key").asText());
        server.core()
                .users
                .setPasswordHash(
                        Principal.system(),
                        admin.name(),
                        server.core().passwords.hash("a long enough password"));
        Http.Response byPassword = http.postForm(
                "/api/user/create_apikey",
                form(
                        "username",
                        admin.name(),
                        "password",
                        "a long enough password",
                        "code",
                        server.code(enrolled),
                        "access_level",
                        "basic"));
        values.add(byPassword.json().at("/data/new_key").asText());
        // use every key, so first-use bookkeeping and the audit log have seen them all
        for (String v : values) {
            assertThat(KeyFormat.isValid(v)).as(v).isTrue();
            assertThat(http.get("/api/v1/user/list", "Authorization", "Bearer " + v)
                            .status())
                    .isEqualTo(200);
        }
        // delete one through the User API keys family, by value
        http.postForm("/api/user/delete_apikey", form("apikey", admin.key(), "delete_key", values.get(3)));

        List<Map<String, Object>> keyRows = KeyFixtures.rows(server, "SELECT * FROM api_keys");
        assertThat(keyRows).hasSizeGreaterThanOrEqualTo(3);
        for (Map<String, Object> row : keyRows) {
            assertThat(row.get("key_hash").toString()).matches("[0-9a-f]{64}");
        }
        for (String table : tables()) {
            for (Map<String, Object> row : KeyFixtures.rows(server, "SELECT * FROM \"" + table + "\"")) {
                for (Map.Entry<String, Object> col : row.entrySet()) {
                    String cell = String.valueOf(col.getValue());
                    for (String v : values) {
                        String body = v.substring(KeyFormat.PREFIX.length(), KeyFormat.PREFIX.length() + 40);
                        assertThat(cell).as("%s.%s", table, col.getKey()).doesNotContain(body);
                    }
                }
            }
        }
        if (!TestDatabases.postgres()) {
            // the embedded database's files: the key never reached them, not even in a log or undo page
            try (Stream<Path> files = Files.walk(server.dataDir())) {
                for (Path f : files.filter(Files::isRegularFile).toList()) {
                    String content = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
                    for (String v : values) {
                        assertThat(content).as(f.toString()).doesNotContain(v.substring(5, 45));
                    }
                }
            }
        }
    }

    private static List<String> tables() throws java.sql.SQLException {
        // the driver's catalogue, which both stores have (SQLite has no information_schema)
        List<String> names = server.core().db.jdbi().withHandle(h -> {
            List<String> found = new java.util.ArrayList<>();
            try (var rs = h.getConnection()
                    .getMetaData()
                    .getTables(null, TestDatabases.postgres() ? "public" : null, "%", new String[] {"TABLE"})) {
                while (rs.next()) {
                    found.add(rs.getString("TABLE_NAME"));
                }
            }
            return found;
        });
        assertThat(names).extracting(String::toLowerCase).contains("api_keys", "audit_log", "users", "sessions");
        return names;
    }

    @Test
    void creating_changing_using_and_deleting_a_key_is_audited_with_actor_and_credential() {
        Http http = server.http();
        KeyFixtures.Holder alice = KeyFixtures.holder(server, "audited", Role.VIEWER, AccessLevel.FULL);
        String credential = alice.keyId().toString();

        Http.Response created = http.postJson("/api/v1/api_tokens", json("description", "second"), alice.bearer());
        assertThat(created.status()).isEqualTo(200);
        String id = created.json().get("id").asText();
        String newKey = created.json().get("key").asText();

        assertEntry(KeyFixtures.audit(server, "key.create", id), alice, credential);
        assertEntry(KeyFixtures.audit(server, "key.first_use", credential), alice, credential);

        Http.Response patched = http.send(
                "PATCH",
                "/api/v1/api_tokens/" + id,
                "application/json",
                json("description", "renamed", "enabled", false),
                alice.bearer());
        assertThat(patched.status()).isEqualTo(200);
        assertEntry(KeyFixtures.audit(server, "key.update", id), alice, credential);

        Http.Response deleted = http.delete("/api/v1/api_tokens/" + id, alice.bearer());
        assertThat(deleted.status()).isEqualTo(200);
        assertEntry(KeyFixtures.audit(server, "key.delete", id), alice, credential);

        for (Map<String, Object> row : KeyFixtures.rows(server, "SELECT * FROM audit_log")) {
            for (Object v : row.values()) {
                assertThat(String.valueOf(v))
                        .doesNotContain(newKey.substring(5, 45))
                        .doesNotContain(alice.key().substring(5, 45));
            }
        }
    }

    private static void assertEntry(List<Map<String, Object>> entries, KeyFixtures.Holder actor, String credentialId) {
        assertThat(entries).hasSize(1);
        Map<String, Object> e = entries.getFirst();
        assertThat(e.get("actor_id").toString()).isEqualTo(actor.user().id().toString());
        assertThat(e.get("actor_name")).isEqualTo(actor.name());
        assertThat(e.get("credential_id")).isEqualTo(credentialId);
        assertThat(e.get("client_addr")).isEqualTo("127.0.0.1");
        assertThat(e.get("outcome")).isEqualTo("success");
        assertThat(e.get("at")).isNotNull();
    }

    @Test
    void first_use_is_audited_exactly_once_and_last_use_follows_the_clock() {
        KeyFixtures.Holder h = KeyFixtures.holder(server, "firstuse", Role.VIEWER, AccessLevel.BASIC);
        String id = h.keyId().toString();
        assertThat(lastUsed(h.keyId())).isNull();

        for (int i = 0; i < 4; i++) {
            assertThat(server.http().get("/api/v1/api_tokens", h.bearer()).status())
                    .isEqualTo(403);
            assertThat(server.http()
                            .postForm("/api/user/apikeys", form("apikey", h.key()))
                            .status())
                    .isEqualTo(403);
            server.clock.advance(Duration.ofMinutes(2));
        }
        assertThat(KeyFixtures.audit(server, "key.first_use", id)).hasSize(1);
        Object last = lastUsed(h.keyId());
        assertThat(last).isNotNull();

        Http.Response self = server.http()
                .get(
                        "/api/v1/api_tokens",
                        KeyFixtures.withKey(server, h.user(), AccessLevel.FULL).bearer());
        JsonNode mine = null;
        for (JsonNode t : self.json()) {
            if (t.get("id").asText().equals(id)) {
                mine = t;
            }
        }
        assertThat(mine).isNotNull();
        // the last use was the last loop round, 2 minutes before now (recorded at minute granularity)
        java.time.Instant shown =
                java.time.Instant.parse(mine.get("last_used_at").asText());
        assertThat(shown)
                .isBefore(server.clock.instant())
                .isAfter(server.clock.instant().minus(Duration.ofMinutes(3)));
    }

    @Test
    void a_burst_of_parallel_first_uses_is_audited_once() throws Exception {
        KeyFixtures.Holder h = KeyFixtures.holder(server, "burst", Role.VIEWER, AccessLevel.FULL);
        int n = 24;
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(n)) {
            List<java.util.concurrent.Future<Integer>> results = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                results.add(pool.submit(() -> {
                    go.await();
                    return server.http().get("/api/v1/api_tokens", h.bearer()).status();
                }));
            }
            go.countDown();
            for (var r : results) {
                assertThat(r.get()).isEqualTo(200);
            }
        }
        assertThat(KeyFixtures.audit(server, "key.first_use", h.keyId().toString()))
                .hasSize(1);
        assertThat(lastUsed(h.keyId())).isNotNull();
    }

    @Test
    void parallel_creations_each_get_their_own_key() throws Exception {
        KeyFixtures.Holder h = KeyFixtures.holder(server, "parallel", Role.VIEWER, AccessLevel.FULL);
        int n = 16;
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        java.util.Set<String> keys = java.util.concurrent.ConcurrentHashMap.newKeySet();
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(n)) {
            List<java.util.concurrent.Future<?>> results = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int nr = i;
                results.add(pool.submit(() -> {
                    go.await();
                    Http.Response r =
                            server.http().postJson("/api/v1/api_tokens", json("description", "p" + nr), h.bearer());
                    assertThat(r.status()).as(r.body()).isEqualTo(200);
                    keys.add(r.json().get("key").asText());
                    return null;
                }));
            }
            go.countDown();
            for (var r : results) {
                r.get();
            }
        }
        assertThat(keys).hasSize(n);
        assertThat(server.http().get("/api/v1/api_tokens", h.bearer()).json()).hasSize(n + 1);
        for (String k : keys) {
            assertThat(server.http().get("/api/v1/api_tokens", "Token", k).status())
                    .isEqualTo(200);
        }
    }

    private static Object lastUsed(UUID id) {
        return KeyFixtures.rows(server, "SELECT last_used_at FROM api_keys WHERE id = ?", id)
                .getFirst()
                .get("last_used_at");
    }

    @Test
    void a_user_created_through_the_panel_with_a_key_is_audited_under_that_keys_id() {
        KeyFixtures.Holder owner = KeyFixtures.owner(server);
        String name = KeyFixtures.name("panelmade");
        Http.Response r = server.http()
                .postJson(
                        "/api/auth/create-user",
                        json("username", name, "email", name + "@example.com", "password", "correct horse battery"),
                        owner.xApiKey());
        assertThat(r.status()).as(r.body()).isEqualTo(201);

        List<Map<String, Object>> entries = KeyFixtures.audit(server, "user.create", name);
        assertEntry(entries, owner, owner.keyId().toString());
    }

    @Test
    void keys_created_by_the_cli_are_audited_as_the_cli() {
        Enrollment e = server.createUser(KeyFixtures.name("clikey"), Role.VIEWER);
        KeyFixtures.Holder h = KeyFixtures.withKey(server, e.user(), AccessLevel.FULL);
        List<Map<String, Object>> entries =
                KeyFixtures.audit(server, "key.create", h.keyId().toString());
        assertThat(entries).hasSize(1);
        assertThat(entries.getFirst().get("actor_name")).isEqualTo("cli");
        assertThat(entries.getFirst().get("detail").toString())
                .contains("owner=" + e.user().username());
    }
}
