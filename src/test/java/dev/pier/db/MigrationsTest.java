package dev.pier.db;

import com.zaxxer.hikari.HikariDataSource;
import dev.pier.support.DatabaseFree;
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
            ds.setDataSource(Database.sqlite(dir.resolve("pier.db"), java.time.Duration.ofSeconds(5)));
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
        try (Stream<Path> files = Files.walk(folder)) {
            newest = files.map(p -> FILE.matcher(p.getFileName().toString()))
                    .filter(Matcher::matches)
                    .mapToInt(m -> Integer.parseInt(m.group(1)))
                    .max()
                    .orElseThrow();
        }
        assertThat(Database.SCHEMA_VERSION).isEqualTo(newest);
    }

    @Test
    @DatabaseFree // compares the two stores itself
    void both_stores_end_with_the_same_tables_and_columns() throws Exception {
        // SQLite starts from a baseline of its own at version 5; from there both run the same files
        String pg = TestDatabases.createPostgresDatabase();
        try (HikariDataSource lite = new HikariDataSource();
                HikariDataSource postgres = new HikariDataSource()) {
            lite.setDataSource(Database.sqlite(dir.resolve("both.db"), java.time.Duration.ofSeconds(5)));
            postgres.setJdbcUrl(pg);
            postgres.setUsername(TestDatabases.pgUser());
            postgres.setPassword(TestDatabases.pgPassword());
            Database.migrate(lite, true);
            Database.migrate(postgres, false);
            var fromSqlite = columns(lite);
            assertThat(fromSqlite)
                    .containsKeys("users", "sessions", "api_keys", "instances", "change_counters", "idempotency_keys")
                    .doesNotContainKey("cache_epoch");
            assertThat(fromSqlite).isEqualTo(columns(postgres));
        } finally {
            TestDatabases.dropPostgresDatabase(pg);
        }
    }

    private static java.util.SortedMap<String, java.util.SortedSet<String>> columns(javax.sql.DataSource ds)
            throws SQLException {
        java.util.SortedMap<String, java.util.SortedSet<String>> out = new java.util.TreeMap<>();
        try (Connection c = ds.getConnection();
                var rs = c.getMetaData().getColumns(null, null, "%", "%")) {
            while (rs.next()) {
                String schema = rs.getString("TABLE_SCHEM");
                if (schema != null && !schema.equals("public")) {
                    continue;
                }
                String table = rs.getString("TABLE_NAME").toLowerCase(java.util.Locale.ROOT);
                if (table.startsWith("flyway") || table.startsWith("sqlite_")) {
                    continue;
                }
                out.computeIfAbsent(table, t -> new java.util.TreeSet<>())
                        .add(rs.getString("COLUMN_NAME").toLowerCase(java.util.Locale.ROOT));
            }
        }
        return out;
    }

    private static boolean sqlite() {
        return !TestDatabases.postgres();
    }

    @Test
    void an_empty_database_is_not_up_to_date_and_a_migrated_one_is() {
        assertThat(Database.upToDate(ds)).isFalse();
        Database.migrate(ds, sqlite());
        assertThat(Database.upToDate(ds)).isTrue();
        Database.migrate(ds, sqlite()); // the shortcut: nothing to do, nothing fails
        assertThat(Database.upToDate(ds)).isTrue();
    }

    @Test
    void a_database_one_migration_behind_is_brought_up_to_date() throws SQLException {
        Database.migrate(ds, sqlite());
        try (Connection c = ds.getConnection();
                var st = c.createStatement()) {
            // undo V13 as if this database were made by the previous release
            st.execute("ALTER TABLE instances DROP COLUMN disk_over");
            st.execute("DELETE FROM \"flyway_schema_history\" WHERE \"version\" = '" + Database.SCHEMA_VERSION + "'");
        }
        assertThat(Database.upToDate(ds)).isFalse();
        Database.migrate(ds, sqlite());
        assertThat(Database.upToDate(ds)).isTrue();
        try (Connection c = ds.getConnection();
                var st = c.createStatement()) {
            st.executeQuery("SELECT id, state, sha256, restore_into, restore_started FROM backups")
                    .close();
        }
    }

    @Test
    void a_failed_migration_in_the_history_sends_the_start_to_flyway() throws SQLException {
        Database.migrate(ds, sqlite());
        try (Connection c = ds.getConnection();
                var st = c.createStatement()) {
            st.execute("UPDATE \"flyway_schema_history\" SET \"success\" = FALSE WHERE \"version\" = '6'");
        }
        assertThat(Database.upToDate(ds)).isFalse();
    }
}
