package dev.pier.db;

import dev.pier.App;
import dev.pier.Core;
import dev.pier.auth.Totp;
import dev.pier.config.Config;
import dev.pier.config.ConfigException;
import dev.pier.crypto.Hashing;
import dev.pier.crypto.MasterKey;
import dev.pier.crypto.SecretBox;
import dev.pier.support.DatabaseFree;
import dev.pier.support.Http;
import dev.pier.support.TestFiles;
import io.javalin.Javalin;
import org.flywaydb.core.Flyway;
import org.h2.jdbcx.JdbcDataSource;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.Optional;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A data directory made by Pier 0.1, whose embedded store was H2 ({@code pier.mv.db}), opens on this
 * version: its rows are imported into SQLite on the first start, the user logs in with the authenticator
 * they already have, and the old file is kept aside. With the wrong master key nothing is touched and
 * the message says what to do.
 */
@DatabaseFree
class LegacyH2ImportTest {
    private Path data;

    @BeforeEach
    void setUp() throws IOException {
        data = Files.createTempDirectory("pier-legacy").resolve("data");
    }

    @AfterEach
    void tearDown() {
        TestFiles.deleteTree(data.getParent());
    }

    private record Legacy(byte[] totpSecret, String apiKey, UUID userId, UUID installation) {}

    /** What Pier 0.1 left behind: H2 at schema version 5, a key file, an owner with TOTP, a key, a node. */
    private Legacy makeLegacyDirectory() throws IOException {
        Files.createDirectories(data);
        MasterKey key = MasterKey.load(data, Optional.empty(), true);
        JdbcDataSource h2 = new JdbcDataSource();
        h2.setURL("jdbc:h2:file:" + data.toAbsolutePath().resolve("pier"));
        h2.setUser("pier");
        h2.setPassword(key.derive("h2-database-password"));
        Flyway.configure()
                .dataSource(h2)
                .locations("classpath:db/migration/postgresql")
                .load()
                .migrate();
        Jdbi jdbi = Jdbi.create(h2);
        byte[] secret = new byte[20];
        new SecureRandom().nextBytes(secret);
        UUID user = UUID.randomUUID();
        UUID installation = UUID.randomUUID();
        String apiKey = dev.pier.keys.KeyFormat.generate();
        Instant now = Instant.now().truncatedTo(ChronoUnit.MICROS);
        String sealed = new SecretBox(key).seal(secret, "totp:" + user);
        jdbi.useHandle(h -> {
            h.createUpdate("""
                            INSERT INTO users (id, username, username_key, role, owner_slot, totp_secret, totp_last_step,
                                               created_at, updated_at, disabled)
                            VALUES (:id, 'Veteran', 'veteran', 'owner', 1, :secret, 0, :now, :now, FALSE)""")
                    .bind("id", user)
                    .bind("secret", sealed)
                    .bind("now", now)
                    .execute();
            h.createUpdate("""
                            INSERT INTO api_keys (id, user_id, key_hash, description, access_level, enabled, created_at, updated_at)
                            VALUES (:id, :user, :hash, 'old key', 'full', TRUE, :now, :now)""")
                    .bind("id", UUID.randomUUID())
                    .bind("user", user)
                    .bind("hash", Hashing.sha256Hex(apiKey))
                    .bind("now", now)
                    .execute();
            h.createUpdate("""
                            INSERT INTO nodes (id, name, tags, ram_mib, disk_mib, processor, endpoint, status, created_at, updated_at)
                            VALUES (:id, 'local', 'local', 4096, 10000, 'x86', 'unix:///var/run/docker.sock', 'unknown', :now, :now)""").bind("id", UUID.randomUUID()).bind("now", now).execute();
            h.createUpdate("""
                            INSERT INTO audit_log (at, actor_name, action, target, outcome)
                            VALUES (:now, 'cli', 'user.create', 'Veteran', 'success')""").bind("now", now).execute();
            h.createUpdate("INSERT INTO installation (id, installation_id, key_check) VALUES (1, :id, :check)")
                    .bind("id", installation)
                    .bind("check", key.derive("installation-key-check"))
                    .execute();
        });
        return new Legacy(secret, apiKey, user, installation);
    }

    private Config config() {
        return Config.defaults(data).withPort(0).withHost("127.0.0.1");
    }

    @Test
    void an_h2_directory_is_imported_on_first_start_and_its_users_and_keys_work() throws IOException {
        Legacy legacy = makeLegacyDirectory();
        Core core = Core.forServer(config(), Clock.systemUTC());
        Javalin app = App.create(core).start();
        try {
            Http http = new Http("http://127.0.0.1:" + app.port());
            String code = Totp.code(legacy.totpSecret(), Totp.step(Instant.now()));
            Http.Response login =
                    http.postJson("/api/v1/user/auth", "{\"username\":\"Veteran\",\"code\":\"" + code + "\"}");
            assertThat(login.status()).as(login.body()).isEqualTo(200);
            assertThat(http.get("/api/v1/api_tokens", "x-api-key", legacy.apiKey())
                            .status())
                    .isEqualTo(200);
            assertThat(http.get("/api/v1/audit", "x-api-key", legacy.apiKey()).body())
                    .contains("\"target\":\"Veteran\"");
            assertThat(core.nodes.list()).extracting(n -> n.name()).containsExactly("local");
            assertThat(Installation.id(core.db.jdbi())).isEqualTo(legacy.installation());
        } finally {
            app.stop();
            core.close();
        }
        assertThat(data.resolve("pier.db")).exists();
        assertThat(data.resolve("pier.mv.db")).doesNotExist();
        assertThat(data.resolve("pier.mv.db.imported")).exists();
        assertThat(data.resolve("pier.db.importing")).doesNotExist();
    }

    @Test
    void with_another_master_key_nothing_is_touched_and_the_message_says_what_to_do() throws IOException {
        makeLegacyDirectory();
        byte[] other = new byte[32];
        new SecureRandom().nextBytes(other);
        Config wrong = config().withMasterKey(Base64.getEncoder().encodeToString(other));
        assertThatThrownBy(() -> Core.forServer(wrong, Clock.systemUTC()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("master key")
                .hasMessageContaining("restore");
        assertThat(data.resolve("pier.mv.db")).exists();
        assertThat(data.resolve("pier.db")).doesNotExist();
        assertThat(data.resolve("pier.db.importing")).doesNotExist();
        // with the right key, the next start imports it
        Core core = Core.forServer(config(), Clock.systemUTC());
        core.close();
        assertThat(data.resolve("pier.db")).exists();
    }

    @Test
    void a_second_start_does_not_import_again() throws IOException {
        makeLegacyDirectory();
        Core.forServer(config(), Clock.systemUTC()).close();
        Core again = Core.forServer(config(), Clock.systemUTC());
        try {
            long users = again.db
                    .jdbi()
                    .withHandle(h -> h.createQuery("SELECT COUNT(*) FROM users")
                            .mapTo(Long.class)
                            .one());
            assertThat(users).isEqualTo(1);
        } finally {
            again.close();
        }
    }
}
