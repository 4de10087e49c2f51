package dev.pier.keys;

import dev.pier.audit.AuditLog;
import dev.pier.crypto.MasterKey;
import dev.pier.crypto.SecretBox;
import dev.pier.db.ChangeFeed;
import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.support.DatabaseFree;
import dev.pier.users.UserService;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;

import javax.sql.DataSource;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The key format: prefix, random base62 body, checksum that catches a mistyped key before any lookup. */
@DatabaseFree
class KeyFormatTest {
    private static final String BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    @Test
    void a_generated_key_is_pier_prefix_40_base62_characters_and_a_6_character_checksum() {
        String key = KeyFormat.generate();
        assertThat(key).matches("pier_[0-9A-Za-z]{40}[0-9A-Za-z]{6}");
        assertThat(key).hasSize(51).hasSize(KeyFormat.LENGTH);
        assertThat(key.substring(45)).isEqualTo(KeyFormat.checksum(key.substring(5, 45)));
        assertThat(KeyFormat.isValid(key)).isTrue();
        assertThat(KeyFormat.looksLikeKey(key)).isTrue();
    }

    @Test
    void generated_keys_are_valid_and_never_repeat() {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 2000; i++) {
            String key = KeyFormat.generate();
            assertThat(KeyFormat.isValid(key)).as(key).isTrue();
            assertThat(seen.add(key)).as("duplicate %s", key).isTrue();
        }
    }

    @Test
    void generated_bodies_use_the_whole_base62_alphabet() {
        Set<Character> used = new HashSet<>();
        for (int i = 0; i < 500; i++) {
            String body = KeyFormat.generate().substring(5, 45);
            body.chars().forEach(c -> used.add((char) c));
        }
        assertThat(used).hasSize(62);
    }

    @Test
    void every_single_character_mistype_is_detected() {
        for (int round = 0; round < 3; round++) {
            String key = KeyFormat.generate();
            for (int pos = KeyFormat.PREFIX.length(); pos < key.length(); pos++) {
                for (char c : BASE62.toCharArray()) {
                    if (c == key.charAt(pos)) {
                        continue;
                    }
                    String typo = key.substring(0, pos) + c + key.substring(pos + 1);
                    assertThat(KeyFormat.isValid(typo))
                            .as("mistype at %d: %s", pos, typo)
                            .isFalse();
                }
            }
        }
    }

    @Test
    void swapping_two_neighbouring_characters_is_detected() {
        String key = KeyFormat.generate();
        for (int pos = KeyFormat.PREFIX.length(); pos < key.length() - 1; pos++) {
            if (key.charAt(pos) == key.charAt(pos + 1)) {
                continue;
            }
            String swapped = key.substring(0, pos) + key.charAt(pos + 1) + key.charAt(pos) + key.substring(pos + 2);
            assertThat(KeyFormat.isValid(swapped)).as("swap at %d", pos).isFalse();
        }
    }

    @Test
    void a_key_of_the_wrong_length_is_invalid() {
        String key = KeyFormat.generate();
        assertThat(KeyFormat.isValid(key.substring(0, key.length() - 1))).isFalse();
        assertThat(KeyFormat.isValid(key + "0")).isFalse();
        assertThat(KeyFormat.isValid(key.substring(0, 5) + key.substring(6))).isFalse();
        assertThat(KeyFormat.isValid(key + key)).isFalse();
        assertThat(KeyFormat.isValid("pier_")).isFalse();
        assertThat(KeyFormat.isValid("")).isFalse();
        assertThat(KeyFormat.isValid(null)).isFalse();
    }

    @Test
    void a_key_with_another_prefix_is_invalid_even_with_a_matching_checksum() {
        String rest = KeyFormat.generate().substring(5);
        assertThat(KeyFormat.isValid("PIER_" + rest)).isFalse();
        assertThat(KeyFormat.isValid("pier-" + rest)).isFalse();
        assertThat(KeyFormat.isValid("kri__" + rest)).isFalse();
        assertThat(KeyFormat.isValid(" pier_" + rest)).isFalse();
        assertThat(KeyFormat.looksLikeKey("kri_rbaurEcVyGJIjRioWIaiT3WteVh8ndlVQAEl"))
                .isFalse();
    }

    @Test
    void characters_outside_base62_are_invalid_even_when_the_length_is_right() {
        String key = KeyFormat.generate();
        for (char c : new char[] {'-', '_', ' ', '=', '+', '/', 'é', '\u0000', '\u0661'}) {
            String bad = key.substring(0, 20) + c + key.substring(21);
            assertThat(bad).hasSize(KeyFormat.LENGTH);
            assertThat(KeyFormat.isValid(bad)).as("with %s", (int) c).isFalse();
        }
    }

    @Test
    void a_mistyped_key_is_refused_without_touching_the_database() {
        CountingDataSource ds = new CountingDataSource();
        Jdbi jdbi = Jdbi.create(ds);
        Clock clock = Clock.systemUTC();
        ChangeFeed changes = new ChangeFeed(jdbi, new dev.pier.db.DatabaseHealth(clock));
        AuditLog audit = new AuditLog(jdbi, clock);
        UserService users = new UserService(jdbi, new SecretBox(MasterKey.of(new byte[32])), audit, changes, clock);
        ApiKeyService keys = new ApiKeyService(jdbi, users, audit, changes, clock, 100, java.util.Optional.empty());

        String key = KeyFormat.generate();
        String typo = key.substring(0, 30) + (key.charAt(30) == 'a' ? 'b' : 'a') + key.substring(31);
        for (String bad : new String[] {typo, key.substring(0, 50), key + "x", "pier_", "pier_not a key at all"}) {
            assertThat(keys.recognises(bad)).isTrue();
            assertThatThrownBy(() -> keys.resolve(bad, "127.0.0.1"))
                    .isInstanceOfSatisfying(
                            PierException.Unauthenticated.class,
                            e -> assertThat(e.reason()).isEqualTo(Reason.TOKEN_NOT_FOUND));
            assertThat(keys.idOfValue(bad)).isEmpty();
        }
        assertThat(ds.connections.get()).as("database connections asked for").isZero();

        // the control: a well-formed key does go to the database
        assertThatThrownBy(() -> keys.resolve(key, "127.0.0.1")).hasStackTraceContaining("no database here");
        assertThat(ds.connections.get()).isPositive();
    }

    /** A data source that has no database: it counts the connections asked of it and fails them. */
    private static final class CountingDataSource implements DataSource {
        final AtomicInteger connections = new AtomicInteger();

        @Override
        public Connection getConnection() throws SQLException {
            connections.incrementAndGet();
            throw new SQLException("no database here");
        }

        @Override
        public Connection getConnection(String username, String password) throws SQLException {
            return getConnection();
        }

        @Override
        public PrintWriter getLogWriter() {
            return null;
        }

        @Override
        public void setLogWriter(PrintWriter out) {}

        @Override
        public void setLoginTimeout(int seconds) {}

        @Override
        public int getLoginTimeout() {
            return 0;
        }

        @Override
        public Logger getParentLogger() {
            return Logger.getGlobal();
        }

        @Override
        public <T> T unwrap(Class<T> iface) throws SQLException {
            throw new SQLException("not a wrapper");
        }

        @Override
        public boolean isWrapperFor(Class<?> iface) {
            return false;
        }
    }
}
