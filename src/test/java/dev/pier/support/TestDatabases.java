package dev.pier.support;

import org.junit.jupiter.api.Assumptions;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.UUID;

/**
 * Which database a test run uses: system property {@code pier.test.db} = {@code sqlite} (default, the
 * embedded store) or {@code postgres}. For PostgreSQL each server gets a fresh database, created through
 * {@code PIER_TEST_PG_URL} (default {@code jdbc:postgresql://127.0.0.1:5432/postgres}) as
 * {@code PIER_TEST_PG_USER}/{@code PIER_TEST_PG_PASSWORD} (default pier/pier). Without a reachable
 * server the tests skip, except with {@code CI=true}, where that is a failure.
 */
public final class TestDatabases {
    private TestDatabases() {}

    public static boolean postgres() {
        return "postgres".equals(System.getProperty("pier.test.db", "sqlite").toLowerCase(Locale.ROOT));
    }

    public static String pgAdminUrl() {
        return env("PIER_TEST_PG_URL", "jdbc:postgresql://127.0.0.1:5432/postgres");
    }

    public static String pgUser() {
        return env("PIER_TEST_PG_USER", "pier");
    }

    public static String pgPassword() {
        return env("PIER_TEST_PG_PASSWORD", "pier");
    }

    /** Creates an empty database and returns its JDBC URL. */
    public static String createPostgresDatabase() {
        String name =
                "pier_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
        try (Connection c = DriverManager.getConnection(pgAdminUrl(), pgUser(), pgPassword());
                Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            requireOrSkip("PostgreSQL is not reachable at " + pgAdminUrl() + " as " + pgUser() + ": " + e.getMessage());
        }
        String admin = pgAdminUrl();
        return admin.substring(0, admin.lastIndexOf('/') + 1) + name;
    }

    public static void dropPostgresDatabase(String url) {
        String name = url.substring(url.lastIndexOf('/') + 1);
        try (Connection c = DriverManager.getConnection(pgAdminUrl(), pgUser(), pgPassword());
                Statement s = c.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
        } catch (SQLException ignored) {
            // best effort: a leftover test database is harmless
        }
    }

    /** Skips the test on a laptop without the dependency; fails it in CI. */
    public static void requireOrSkip(String why) {
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            throw new IllegalStateException("CI=true and a test dependency is missing: " + why);
        }
        Assumptions.abort(why);
    }

    private static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? fallback : v;
    }
}
