package dev.pier.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.pier.config.Config;
import dev.pier.config.ConfigException;
import dev.pier.crypto.DataDirectory;
import dev.pier.crypto.MasterKey;
import dev.pier.http.Json;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

import javax.sql.DataSource;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;

/**
 * The connection pool, migrated schema and Jdbi handle of one process.
 *
 * <p>The embedded store is one SQLite file in the data directory, {@value #EMBEDDED_FILE}. It listens on
 * no port: the server and the CLI open the same file and SQLite's own locking keeps them apart. Every
 * commit is durable before it returns (write-ahead log, {@code synchronous=FULL}), so whatever Pier has
 * answered survives {@code kill -9} and a power cut. A transaction takes the write lock when it begins
 * ({@code BEGIN IMMEDIATE}); one that has to wait longer than {@link Config#dbWait()} fails, and the
 * request gets 503. PostgreSQL is the production store; both run the same migrations from version 6 on.
 */
public final class Database implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Database.class);
    /** The embedded database file, in the data directory. */
    public static final String EMBEDDED_FILE = "pier.db";

    private final HikariDataSource pool;
    private final Jdbi jdbi;
    private final boolean embedded;

    private Database(HikariDataSource pool, boolean embedded) {
        this.pool = pool;
        this.embedded = embedded;
        this.jdbi = configure(Jdbi.create(pool), embedded);
    }

    /** The Jdbi set-up of both stores: SQL objects, and how UUIDs and instants are kept. */
    static Jdbi configure(Jdbi jdbi, boolean sqlite) {
        jdbi.installPlugin(new SqlObjectPlugin());
        JsonColumns.install(jdbi, Json.MAPPER);
        if (sqlite) {
            SqliteTypes.install(jdbi);
        } else {
            jdbi.registerArgument(new UuidArgumentFactory());
        }
        return jdbi;
    }

    public static Database open(Config config, MasterKey masterKey, int maxPoolSize) {
        HikariConfig hc = new HikariConfig();
        if (config.embedded()) {
            Path file = embeddedFile(config.dataDir());
            if (!Files.exists(file) && LegacyH2Import.present(config.dataDir())) {
                LegacyH2Import.run(config.dataDir(), masterKey, file);
            }
            createPrivate(file);
            hc.setDataSource(sqlite(file, config.dbWait()));
        } else {
            hc.setJdbcUrl(config.dbUrl().orElseThrow());
            hc.setUsername(config.dbUser());
            hc.setPassword(config.dbPassword());
        }
        hc.setMaximumPoolSize(maxPoolSize);
        hc.setMinimumIdle(1);
        hc.setPoolName("pier");
        // a request waits this long for a connection, then is answered 503 (not 500 after 10 s)
        hc.setConnectionTimeout(Math.max(250, config.dbWait().toMillis()));
        hc.setInitializationFailTimeout(15_000);
        if (!config.embedded()) {
            probe(config, hc);
        }
        HikariDataSource ds;
        try {
            ds = new HikariDataSource(hc);
        } catch (RuntimeException e) {
            throw explain(config, e);
        }
        try {
            migrate(ds, config.embedded());
        } catch (RuntimeException e) {
            ds.close();
            throw e;
        }
        return new Database(ds, config.embedded());
    }

    /**
     * One direct attempt first: the pool retries every failure for its whole start-up timeout, which helps
     * a database that is still starting but only delays a wrong password.
     */
    private static void probe(Config config, HikariConfig hc) {
        try (Connection ignored = DriverManager.getConnection(hc.getJdbcUrl(), hc.getUsername(), hc.getPassword())) {
            // reachable, and the credentials work
        } catch (SQLException e) {
            if (e.getSQLState() != null && e.getSQLState().startsWith("28")) { // invalid authorization
                throw explain(config, e);
            }
        }
    }

    /** An SQLite data source with the settings every connection of Pier's needs. */
    static SQLiteDataSource sqlite(Path file, Duration busyWait) {
        SQLiteConfig c = new SQLiteConfig();
        c.setJournalMode(SQLiteConfig.JournalMode.WAL);
        c.setSynchronous(SQLiteConfig.SynchronousMode.FULL);
        c.setBusyTimeout((int) Math.max(250, busyWait.toMillis()));
        c.enforceForeignKeys(true);
        c.setTransactionMode(SQLiteConfig.TransactionMode.IMMEDIATE);
        SQLiteDataSource ds = new SQLiteDataSource(c);
        ds.setUrl("jdbc:sqlite:" + file.toAbsolutePath());
        return ds;
    }

    /**
     * Creates the (empty) database file readable by its owner only, before SQLite opens it: SQLite gives
     * its log and shared-memory files the database file's mode, and the file holds password and key
     * hashes and sealed secrets that no other local user should read.
     */
    static void createPrivate(Path file) {
        if (Files.exists(file)) {
            return;
        }
        try {
            DataDirectory.create(file.getParent());
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (FileAlreadyExistsException raced) {
            // another process (the CLI, the server) made it first, the same way
        } catch (UnsupportedOperationException notPosix) {
            // not a POSIX file system: SQLite creates the file itself
        } catch (IOException e) {
            throw new ConfigException("cannot create the database " + file + ": " + e.getMessage());
        }
    }

    public static Path embeddedFile(Path dataDir) {
        return dataDir.resolve(EMBEDDED_FILE);
    }

    /** Whether the data directory already holds an embedded database (or one of Pier 0.1 to import). */
    public static boolean embeddedExists(Path dataDir) {
        return Files.exists(embeddedFile(dataDir)) || LegacyH2Import.present(dataDir);
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
            return new ConfigException(
                    "cannot open the database " + embeddedFile(config.dataDir()) + ": " + sql.getMessage());
        }
        // the URL may carry a password: name only its host part
        return new ConfigException("cannot connect to the database at "
                + redacted(config.dbUrl().orElse("")) + " as " + config.dbUser() + ": " + sql.getMessage());
    }

    static String redacted(String url) {
        int q = url.indexOf('?');
        return q < 0 ? url : url.substring(0, q) + "?…";
    }

    /** The newest migration; {@code MigrationsTest} keeps the two in step. */
    static final int SCHEMA_VERSION = 13;

    /**
     * Brings the schema to {@link #SCHEMA_VERSION}. A database that already has it is left alone
     * without starting Flyway, whose scan of the jar for migration files took most of a second of every
     * start; Flyway runs (and validates every applied migration) whenever there is one to apply.
     */
    public static void migrate(DataSource ds, boolean sqlite) {
        if (!upToDate(ds)) {
            flyway(ds, sqlite);
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

    /**
     * The migrations of a store: versions 1-5 were written for H2 and PostgreSQL and SQLite starts from
     * an equivalent baseline at 5 (see {@code db/migration/sqlite}); every later version is one file
     * that both stores run ({@code db/migration/common}).
     */
    static void flyway(DataSource ds, boolean sqlite) {
        Flyway.configure()
                .dataSource(ds)
                .locations(
                        "classpath:db/migration/" + (sqlite ? "sqlite" : "postgresql"), "classpath:db/migration/common")
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

    /** Whether this is the embedded SQLite store (some statements differ, e.g. row locks). */
    public boolean embedded() {
        return embedded;
    }

    public boolean ping() {
        try {
            return jdbi.withHandle(
                            h -> h.createQuery("SELECT 1").mapTo(Integer.class).one())
                    == 1;
        } catch (RuntimeException e) {
            return false;
        }
    }

    @Override
    public void close() {
        if (embedded) {
            // fold the write-ahead log into the database file, so a stopped server leaves one file
            try {
                jdbi.useHandle(h -> h.execute("PRAGMA wal_checkpoint(TRUNCATE)"));
            } catch (RuntimeException e) {
                log.debug("checkpoint on close failed: {}", e.toString());
            }
        }
        pool.close();
    }
}
