package dev.pier.db;

import com.zaxxer.hikari.HikariDataSource;
import dev.pier.support.TestDatabases;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Comparator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** The start-up shortcut around Flyway, on the real database: taken only when nothing is left to apply. */
class MigrationsTest {
    private static final Pattern FILE = Pattern.compile("V(\\d+)__.+\\.sql");
    private Path dir;
    private String pgUrl;
    private HikariDataSource ds;

    @BeforeEach
    void setUp() throws IOException {
        dir = Files.createTempDirectory("pier-migrations");
        ds = new HikariDataSource();
        if (TestDatabases.postgres()) {
            pgUrl = TestDatabases.createPostgresDatabase();
            ds.setJdbcUrl(pgUrl);
            ds.setUsername(TestDatabases.pgUser());
            ds.setPassword(TestDatabases.pgPassword());
        } else {
            ds.setJdbcUrl("jdbc:h2:file:" + dir.resolve("db"));
        }
    }

    @AfterEach
    void tearDown() throws IOException {
        ds.close();
        if (pgUrl != null) {
            TestDatabases.dropPostgresDatabase(pgUrl);
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Test
    void schema_version_is_the_newest_migration_file() throws IOException, URISyntaxException {
        Path folder = Path.of(getClass().getResource("/db/migration").toURI());
        int newest;
        try (Stream<Path> files = Files.list(folder)) {
            newest = files.map(p -> FILE.matcher(p.getFileName().toString()))
                    .filter(Matcher::matches)
                    .mapToInt(m -> Integer.parseInt(m.group(1)))
                    .max().orElseThrow();
        }
        assertThat(Database.SCHEMA_VERSION).isEqualTo(newest);
    }

    @Test
    void an_empty_database_is_not_up_to_date_and_a_migrated_one_is() {
        assertThat(Database.upToDate(ds)).isFalse();
        Database.migrate(ds);
        assertThat(Database.upToDate(ds)).isTrue();
        Database.migrate(ds); // the shortcut: nothing to do, nothing fails
        assertThat(Database.upToDate(ds)).isTrue();
    }

    @Test
    void a_database_one_migration_behind_is_brought_up_to_date() throws SQLException {
        Database.migrate(ds);
        try (Connection c = ds.getConnection(); var st = c.createStatement()) {
            // undo V7 as if this database were made by the previous release
            st.execute("DROP INDEX users_external_id");
            st.execute("ALTER TABLE users DROP COLUMN external_id");
            st.execute("ALTER TABLE login_failures DROP COLUMN password_failures");
            st.execute("ALTER TABLE login_failures DROP COLUMN in_flight");
            st.execute("ALTER TABLE login_failures DROP COLUMN reserved_at");
            st.execute("DELETE FROM \"flyway_schema_history\" WHERE \"version\" = '" + Database.SCHEMA_VERSION + "'");
        }
        assertThat(Database.upToDate(ds)).isFalse();
        Database.migrate(ds);
        assertThat(Database.upToDate(ds)).isTrue();
        try (Connection c = ds.getConnection(); var st = c.createStatement()) {
            st.executeQuery("SELECT external_id FROM users").close();
            st.executeQuery("SELECT password_failures, in_flight, reserved_at FROM login_failures").close();
        }
    }

    @Test
    void a_failed_migration_in_the_history_sends_the_start_to_flyway() throws SQLException {
        Database.migrate(ds);
        try (Connection c = ds.getConnection(); var st = c.createStatement()) {
            st.execute("UPDATE \"flyway_schema_history\" SET \"success\" = FALSE WHERE \"version\" = '1'");
        }
        assertThat(Database.upToDate(ds)).isFalse();
    }
}
