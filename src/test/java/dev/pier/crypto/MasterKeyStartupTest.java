package dev.pier.crypto;

import dev.pier.Core;
import dev.pier.config.Config;
import dev.pier.config.ConfigException;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.support.TestDatabases;
import dev.pier.users.UserService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Comparator;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The data directory and the master key at start-up, on the real database: a private directory, and a
 * clear refusal (never a crash, a new key or a server that answers 500) when the key does not belong to
 * the database.
 */
class MasterKeyStartupTest {
    private Path root;
    private Path data;
    private String pgUrl;

    @BeforeEach
    void setUp() throws IOException {
        root = Files.createTempDirectory("pier-key");
        data = root.resolve("data");
        pgUrl = TestDatabases.postgres() ? TestDatabases.createPostgresDatabase() : null;
    }

    @AfterEach
    void tearDown() throws IOException {
        if (pgUrl != null) {
            TestDatabases.dropPostgresDatabase(pgUrl);
        }
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private Config config() {
        Config c = Config.defaults(data).withPort(0);
        return pgUrl == null ? c : c.withDb(pgUrl, TestDatabases.pgUser(), TestDatabases.pgPassword());
    }

    private void createUser(String name) {
        try (Core core = Core.forCli(config())) {
            core.users.create(Principal.system(), new UserService.NewUser(null, name, Role.VIEWER, null, null));
        }
    }

    private boolean userExists(Config c, String name) {
        try (Core core = Core.forCli(c)) {
            return core.users.list().stream().anyMatch(u -> u.username().equals(name));
        }
    }

    private static String randomKey() {
        byte[] k = new byte[32];
        new SecureRandom().nextBytes(k);
        return Base64.getEncoder().encodeToString(k);
    }

    @Test
    void a_new_data_directory_and_its_key_file_are_private() throws IOException {
        createUser("first");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(data)))
                .isEqualTo("rwx------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve("master.key"))))
                .isEqualTo("rw-------");
    }

    @Test
    void another_key_file_is_refused_and_the_data_survives() throws IOException {
        createUser("kept");
        Path keyFile = data.resolve("master.key");
        String original = Files.readString(keyFile);
        Files.writeString(keyFile, randomKey() + "\n");

        assertThatThrownBy(() -> Core.forCli(config()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("master key")
                .hasMessageContaining("backup");

        Files.writeString(keyFile, original);
        assertThat(userExists(config(), "kept")).isTrue();
    }

    @Test
    void another_configured_key_is_refused() {
        createUser("kept");
        assertThatThrownBy(() -> Core.forCli(config().withMasterKey(randomKey())))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("master key");
        assertThat(userExists(config(), "kept")).isTrue();
    }

    @Test
    void a_lost_key_file_is_reported_and_not_replaced() throws IOException {
        createUser("kept");
        Path keyFile = data.resolve("master.key");
        String original = Files.readString(keyFile);
        Files.delete(keyFile);

        for (int i = 0; i < 2; i++) { // the second start must not trust a key the first one made
            assertThatThrownBy(() -> Core.forCli(config()))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("master");
            assertThat(keyFile).doesNotExist();
        }

        Files.writeString(keyFile, original);
        assertThat(userExists(config(), "kept")).isTrue();
    }

    @Test
    void the_key_given_as_configuration_opens_the_database_it_made() {
        String key = randomKey();
        try (Core core = Core.forCli(config().withMasterKey(key))) {
            core.users.create(Principal.system(), new UserService.NewUser(null, "configured", Role.VIEWER, null, null));
        }
        assertThat(userExists(config().withMasterKey(key), "configured")).isTrue();
        assertThat(data.resolve("master.key")).doesNotExist();
    }

    @Test
    void a_wrong_database_password_is_refused_at_once_without_echoing_it() {
        // PostgreSQL in both passes: the embedded database's password is the master key's (tested above)
        String url = pgUrl != null ? pgUrl : TestDatabases.createPostgresDatabase();
        long start = System.nanoTime();
        try {
            assertThatThrownBy(() -> Core.forCli(
                            Config.defaults(data).withPort(0).withDb(url, TestDatabases.pgUser(), "not-the-password")))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("cannot connect to the database")
                    .hasMessageNotContaining("not-the-password");
        } finally {
            if (pgUrl == null) {
                TestDatabases.dropPostgresDatabase(url);
            }
        }
        // the pool's start-up retries (15 s) are for a database that is starting, not for a refusal
        assertThat(java.time.Duration.ofNanos(System.nanoTime() - start)).isLessThan(java.time.Duration.ofSeconds(10));
    }
}
