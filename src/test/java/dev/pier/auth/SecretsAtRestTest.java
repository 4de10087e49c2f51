package dev.pier.auth;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.security.Role;
import dev.pier.support.DatabaseFree;
import dev.pier.support.Http;
import dev.pier.support.Matrix;
import dev.pier.support.Shared;
import dev.pier.support.TestServer;
import dev.pier.users.Enrollment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import static dev.pier.support.Matrix.assertTokens;
import static dev.pier.support.Matrix.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * SPEC §4 secrets at rest, checked in the database itself after real logins: tokens only as hashes,
 * TOTP secrets only AES-GCM sealed ({@code v1:}) and bound to their row, the master key file 0600.
 */
class SecretsAtRestTest {
    @Shared
    static TestServer server;

    static Http http;

    @BeforeAll
    static void start() {
        http = server.http();
    }

    /** Every value of every column of every table of the schema, as text. */
    private static List<String> everyStoredValue() throws java.sql.SQLException {
        return server.core().db.jdbi().withHandle(h -> {
            Connection c = h.getConnection();
            DatabaseMetaData md = c.getMetaData();
            List<String> tables = new ArrayList<>();
            try (ResultSet rs =
                    md.getTables(c.getCatalog(), c.getSchema(), "%", new String[] {"TABLE", "BASE TABLE"})) {
                while (rs.next()) {
                    tables.add(rs.getString("TABLE_NAME"));
                }
            }
            assertThat(tables).extracting(String::toLowerCase).contains("users", "sessions", "audit_log");
            List<String> values = new ArrayList<>();
            for (String t : tables) {
                for (Map<String, Object> row :
                        h.createQuery("SELECT * FROM \"" + t + "\"").mapToMap().list()) {
                    row.values().forEach(v -> values.add(Objects.toString(v, "")));
                }
            }
            return values;
        });
    }

    @Test
    void sessions_hold_hashes_of_the_tokens_not_the_tokens() {
        Enrollment e = server.createUser("hashed", Role.VIEWER);
        JsonNode t = assertTokens(server.login(e));
        server.clock.advance(Duration.ofSeconds(30));
        String access = t.get("access_token").asText();
        String refresh = t.get("refresh_token").asText();

        List<Map<String, Object>> rows = server.core()
                .db
                .jdbi()
                .withHandle(h -> h.createQuery("SELECT * FROM sessions WHERE user_id = :id")
                        .bind("id", e.user().id())
                        .mapToMap()
                        .list());
        assertThat(rows).hasSize(1);
        Map<String, Object> row = rows.getFirst();
        assertThat((String) row.get("access_hash")).matches("[0-9a-f]{64}").isNotEqualTo(access);
        assertThat((String) row.get("refresh_hash")).matches("[0-9a-f]{64}").isNotEqualTo(refresh);
        for (Object v : row.values()) {
            assertThat(Objects.toString(v, "")).doesNotContain(access).doesNotContain(refresh);
        }
    }

    @Test
    void no_table_holds_a_plaintext_token_or_totp_secret() throws Exception {
        Enrollment e = server.createUser("scanned", Role.ADMIN);
        JsonNode first = assertTokens(server.login(e));
        server.clock.advance(Duration.ofSeconds(30));
        // a rotation too, so that retired refresh tokens are on file
        JsonNode second = assertTokens(http.postJson(
                Matrix.REFRESH,
                json(
                        "grant_type",
                        "refresh_token",
                        "refresh_token",
                        first.get("refresh_token").asText())));
        byte[] raw = Matrix.decode(e.secretBase32());
        List<String> secrets = List.of(
                first.get("access_token").asText(), first.get("refresh_token").asText(),
                second.get("access_token").asText(), second.get("refresh_token").asText(),
                e.secretBase32(), e.secretBase32().toLowerCase(),
                HexFormat.of().formatHex(raw), Base64.getEncoder().encodeToString(raw));
        for (String value : everyStoredValue()) {
            for (String s : secrets) {
                assertThat(value).doesNotContain(s);
            }
        }
    }

    @Test
    void totp_secret_is_sealed_with_a_version_prefix() {
        Enrollment e = server.createUser("sealed", Role.VIEWER);
        String stored = server.core()
                .db
                .jdbi()
                .withHandle(h -> h.createQuery("SELECT totp_secret FROM users WHERE id = :id")
                        .bind("id", e.user().id())
                        .mapTo(String.class)
                        .one());
        assertThat(stored).startsWith("v1:");
        assertThat(stored).doesNotContain(e.secretBase32());
        byte[] raw = Matrix.decode(e.secretBase32());
        assertThat(stored).doesNotContain(HexFormat.of().formatHex(raw));
        assertThat(stored).doesNotContain(Base64.getEncoder().encodeToString(raw));
        // nonce, 20-byte secret and a 16-byte tag
        assertThat(Base64.getDecoder().decode(stored.substring(3))).hasSize(12 + 20 + 16);
    }

    @Test
    void same_secret_seals_differently_each_time() {
        Enrollment a = server.createUser("twin-a", Role.VIEWER);
        Enrollment b = server.createUser("twin-b", Role.VIEWER);
        List<String> stored = server.core()
                .db
                .jdbi()
                .withHandle(h -> h.createQuery("SELECT totp_secret FROM users WHERE id IN (:a, :b)")
                        .bind("a", a.user().id())
                        .bind("b", b.user().id())
                        .mapTo(String.class)
                        .list());
        assertThat(stored).hasSize(2).doesNotHaveDuplicates();
    }

    @Test
    void sealed_secret_copied_onto_another_user_does_not_log_that_user_in() {
        Enrollment source = server.createUser("copied-from", Role.VIEWER);
        Enrollment target = server.createUser("copied-to", Role.VIEWER);
        server.core()
                .db
                .jdbi()
                .useHandle(h -> h.createUpdate(
                                "UPDATE users SET totp_secret = (SELECT totp_secret FROM users WHERE id = :src) WHERE id = :dst")
                        .bind("src", source.user().id())
                        .bind("dst", target.user().id())
                        .execute());
        // the secret is bound to its row: the copy does not decrypt as the target's
        Http.Response r = Matrix.login(http, "copied-to", server.code(source));
        assertThat(r.status()).as(r.body()).isNotEqualTo(200);
        assertThat(r.body()).doesNotContain("access_token");
    }

    @Test
    void master_key_file_is_readable_by_its_owner_only() throws Exception {
        Path key = server.dataDir().resolve("master.key");
        assertThat(key).exists();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key)))
                .isEqualTo("rw-------");
    }

    @Test
    @DatabaseFree // about the embedded store (PostgreSQL has its own credentials)
    void embedded_database_files_are_readable_by_their_owner_only() throws Exception {
        // SQLite has no password: the files' mode keeps the hashes and sealed secrets from other local users
        try (var files = Files.list(server.dataDir())) {
            List<Path> db = files.filter(p -> p.getFileName().toString().startsWith("pier.db"))
                    .toList();
            assertThat(db).extracting(p -> p.getFileName().toString()).contains("pier.db", "pier.db-wal");
            for (Path f : db) {
                assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f)))
                        .as(f.toString())
                        .isEqualTo("rw-------");
            }
        }
    }
}
