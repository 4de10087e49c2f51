package dev.pier.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.pier.config.Config;
import dev.pier.config.ConfigException;
import dev.pier.crypto.MasterKey;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;

import javax.sql.DataSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

/**
 * The connection pool, migrated schema and Jdbi handle of one process.
 *
 * <p>The embedded H2 database runs with {@code AUTO_SERVER=TRUE}: the first process to open the file
 * serves it on a loopback port and every later process (the CLI while {@code pier serve} runs, or the
 * reverse) connects through it, so both can work on one data directory at once. Its password is
 * derived from the master key, so only someone who can read the key file can open the database.
 */
public final class Database implements AutoCloseable {
    private static final int H2_WRONG_USER_OR_PASSWORD = 28000;
    private final HikariDataSource pool;
    private final Jdbi jdbi;

    private Database(HikariDataSource pool) {
        this.pool = pool;
        this.jdbi = Jdbi.create(pool).installPlugin(new SqlObjectPlugin());
        jdbi.registerArgument(new UuidArgumentFactory());
    }

    public static Database open(Config config, MasterKey masterKey, int maxPoolSize) {
        if (config.embedded() && !embeddedExists(config.dataDir())) {
            warmMigrations();
        }
        HikariConfig hc = new HikariConfig();
        if (config.embedded()) {
            hc.setJdbcUrl(h2Url(config.dataDir()));
            hc.setUsername("pier");
            hc.setPassword(masterKey.derive("h2-database-password"));
        } else {
            hc.setJdbcUrl(config.dbUrl().orElseThrow());
            hc.setUsername(config.dbUser());
            hc.setPassword(config.dbPassword());
        }
        hc.setMaximumPoolSize(maxPoolSize);
        hc.setMinimumIdle(1);
        hc.setPoolName("pier");
        hc.setConnectionTimeout(10_000);
        hc.setInitializationFailTimeout(15_000);
        HikariDataSource ds;
        // One direct attempt first: the pool retries every failure for its whole start-up timeout, which
        // helps a database that is still starting but only delays a wrong password. The probe stays open
        // until the pool has its first connection, so the embedded database is opened once, not twice.
        Connection probe = null;
        try {
            probe = DriverManager.getConnection(hc.getJdbcUrl(), hc.getUsername(), hc.getPassword());
        } catch (SQLException e) {
            if (e.getSQLState() != null && e.getSQLState().startsWith("28")) { // invalid authorization
                throw explain(config, e);
            }
        }
        try {
            ds = new HikariDataSource(hc);
        } catch (RuntimeException e) {
            throw explain(config, e);
        } finally {
            closeQuietly(probe);
        }
        try {
            migrate(ds);
        } catch (RuntimeException e) {
            ds.close();
            throw e;
        }
        return new Database(ds);
    }

    /**
     * A first start creates the schema, and Flyway's first run (loading it, scanning the jar, parsing
     * the migrations) is most of that start. The same migrations run on a throw-away in-memory database
     * on a second core while this one opens the file, so the real run finds all of that done.
     */
    private static void warmMigrations() {
        Thread.ofPlatform().daemon().name("pier-migrations-warm-up").start(() -> {
            org.h2.jdbcx.JdbcDataSource memory = new org.h2.jdbcx.JdbcDataSource();
            memory.setURL("jdbc:h2:mem:pier-warm-up");
            try (Connection keepOpen = memory.getConnection()) {
                flyway(memory);
            } catch (Exception | LinkageError ignored) {
                // only a head start: the real migration reports its own failures
            }
        });
    }

    /** Whether the data directory already holds an embedded database. */
    public static boolean embeddedExists(Path dataDir) {
        return Files.exists(dataDir.resolve("pier.mv.db"));
    }

    /** A failure to open the database, told in the terms of the setting that causes it. */
    private static RuntimeException explain(Config config, Exception e) {
        SQLException sql = null;
        for (Throwable t = e; t != null && sql == null; t = t.getCause()) {
            if (t instanceof SQLException s) {
                sql = s;
            }
        }
        if (sql == null) {
            return e instanceof RuntimeException r ? r : new IllegalStateException(e);
        }
        if (config.embedded()) {
            if (sql.getErrorCode() == H2_WRONG_USER_OR_PASSWORD) {
                return new ConfigException("the master key does not open the database in " + config.dataDir()
                        + ": restore the original master.key (or PIER_MASTER_KEY) from your backup");
            }
            return new ConfigException("cannot open the database in " + config.dataDir() + ": " + sql.getMessage());
        }
        // the URL may carry a password: name only its host part
        return new ConfigException("cannot connect to the database at " + redacted(config.dbUrl().orElse(""))
                + " as " + config.dbUser() + ": " + sql.getMessage());
    }

    private static void closeQuietly(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // a probe only
            }
        }
    }

    static String redacted(String url) {
        int q = url.indexOf('?');
        return q < 0 ? url : url.substring(0, q) + "?…";
    }

    static String h2Url(Path dataDir) {
        // AUTO_SERVER's TCP listener accepts loopback connections only (H2's default without -tcpAllowOthers).
        return "jdbc:h2:file:" + dataDir.toAbsolutePath().resolve("pier") + ";AUTO_SERVER=TRUE;LOCK_TIMEOUT=10000";
    }

    /** The newest migration under {@code db/migration}; {@code MigrationsTest} keeps the two in step. */
    static final int SCHEMA_VERSION = 7;

    /**
     * Brings the schema to {@link #SCHEMA_VERSION}. A database that already has it is left alone
     * without starting Flyway, whose scan of the 40 MB jar for migration files took most of a second of
     * every start; Flyway runs (and validates every applied migration) whenever there is one to apply.
     */
    public static void migrate(DataSource ds) {
        if (!upToDate(ds)) {
            flyway(ds);
        }
    }

    static boolean upToDate(DataSource ds) {
        String newest = Integer.toString(SCHEMA_VERSION);
        boolean applied = false;
        try (Connection c = ds.getConnection();
             var st = c.createStatement();
             var rs = st.executeQuery("SELECT \"version\", \"success\" FROM \"flyway_schema_history\"")) {
            while (rs.next()) {
                if (!rs.getBoolean(2)) {
                    return false; // a failed migration: Flyway reports it
                }
                applied |= newest.equals(rs.getString(1));
            }
            return applied;
        } catch (SQLException noHistoryYet) {
            return false;
        }
    }

    static void flyway(DataSource ds) {
        Flyway.configure()
                .dataSource(ds)
                .locations("classpath:db/migration")
                .loggers("slf4j")
                .load()
                .migrate();
    }

    public Jdbi jdbi() {
        return jdbi;
    }

    public DataSource dataSource() {
        return pool;
    }

    public boolean ping() {
        try {
            return jdbi.withHandle(h -> h.createQuery("SELECT 1").mapTo(Integer.class).one()) == 1;
        } catch (RuntimeException e) {
            return false;
        }
    }

    @Override
    public void close() {
        pool.close();
    }
}
