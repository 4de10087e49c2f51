package dev.pier.db;

import dev.pier.config.ConfigException;
import dev.pier.crypto.MasterKey;
import org.flywaydb.core.Flyway;
import org.h2.jdbcx.JdbcDataSource;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Update;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteDataSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;

/**
 * Brings a data directory made by Pier 0.1, whose embedded store was H2 ({@code pier.mv.db}), onto
 * SQLite. Runs once, on the first start that finds the H2 file and no {@code pier.db}: it brings the H2
 * schema to version 5 (the last one H2 had), copies every row into a new SQLite database built to the
 * same version, and only when all of it committed moves the new file into place and renames the H2
 * file to {@code pier.mv.db.imported}. A failure leaves the H2 file untouched and no {@code pier.db}
 * behind, so the next start tries again. The master key must be the one the H2 database was made with.
 */
final class LegacyH2Import {
    private static final Logger log = LoggerFactory.getLogger(LegacyH2Import.class);
    private static final String H2_FILE = "pier.mv.db";
    private static final int H2_WRONG_USER_OR_PASSWORD = 28000;
    private static final int H2_IN_USE = 90020;
    /** Parents before children, so every foreign key finds its row. */
    private static final List<String> TABLES = List.of(
            "users",
            "sessions",
            "retired_refresh_tokens",
            "login_failures",
            "audit_log",
            "api_keys",
            "nodes",
            "images",
            "instances",
            "instance_ports",
            "instance_events",
            "installation");

    private LegacyH2Import() {}

    static boolean present(Path dataDir) {
        return Files.exists(dataDir.resolve(H2_FILE));
    }

    static void run(Path dataDir, MasterKey key, Path target) {
        log.info("found the H2 database of an earlier Pier in {}: importing it into {}", dataDir, target.getFileName());
        JdbcDataSource h2 = new JdbcDataSource();
        h2.setURL("jdbc:h2:file:" + dataDir.toAbsolutePath().resolve("pier"));
        h2.setUser("pier");
        h2.setPassword(key.derive("h2-database-password"));
        Path temp = target.resolveSibling(target.getFileName() + ".importing");
        try {
            deleteWithCompanions(temp);
            Flyway.configure()
                    .dataSource(h2)
                    .locations("classpath:db/migration/postgresql")
                    .target("5")
                    .loggers("slf4j")
                    .load()
                    .migrate();
            SQLiteDataSource sqlite = Database.sqlite(temp, Duration.ofSeconds(5));
            Flyway.configure()
                    .dataSource(sqlite)
                    .locations("classpath:db/migration/sqlite")
                    .target("5")
                    .loggers("slf4j")
                    .load()
                    .migrate();
            Jdbi to = Database.configure(Jdbi.create(sqlite), true);
            int rows;
            try (Connection from = h2.getConnection()) {
                rows = to.inTransaction(h -> copy(from, h));
            }
            to.useHandle(h -> h.execute("PRAGMA wal_checkpoint(TRUNCATE)"));
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            deleteWithCompanions(temp);
            Files.move(
                    dataDir.resolve(H2_FILE), dataDir.resolve(H2_FILE + ".imported"), StandardCopyOption.ATOMIC_MOVE);
            log.info(
                    "imported {} rows from H2; the old file is kept as {}.imported (remove it when all is well)",
                    rows,
                    H2_FILE);
        } catch (SQLException | IOException | RuntimeException e) {
            try {
                deleteWithCompanions(temp);
            } catch (IOException ignored) {
                // the import failed; a stale temporary file is removed by the next attempt
            }
            throw explain(dataDir, e);
        }
    }

    private static int copy(Connection from, Handle to) throws SQLException {
        int total = 0;
        for (String table : TABLES) {
            try (Statement st = from.createStatement();
                    ResultSet rs = st.executeQuery("SELECT * FROM " + table)) {
                ResultSetMetaData meta = rs.getMetaData();
                List<String> columns = new ArrayList<>();
                for (int i = 1; i <= meta.getColumnCount(); i++) {
                    columns.add(meta.getColumnName(i).toLowerCase(java.util.Locale.ROOT));
                }
                String sql = "INSERT INTO " + table + " (" + String.join(", ", columns) + ") VALUES ("
                        + String.join(", ", columns.stream().map(c -> "?").toList()) + ")";
                while (rs.next()) {
                    Update insert = to.createUpdate(sql);
                    for (int i = 1; i <= columns.size(); i++) {
                        Object v = value(rs.getObject(i));
                        if (v == null) {
                            insert.bindNull(i - 1, Types.NULL);
                        } else {
                            insert.bindByType(i - 1, v, v.getClass());
                        }
                    }
                    insert.execute();
                    total++;
                }
            }
        }
        // the change counter of the old store is no longer anyone's: start afresh
        to.execute("UPDATE cache_epoch SET epoch = epoch + 1 WHERE id = 1");
        return total;
    }

    /** H2's JDBC values in the types the SQLite set-up binds (times as instants). */
    private static Object value(Object v) {
        return switch (v) {
            case OffsetDateTime t -> t.toInstant();
            case Timestamp t -> t.toInstant();
            case null, default -> v;
        };
    }

    private static ConfigException explain(Path dataDir, Exception e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s && s.getErrorCode() == H2_WRONG_USER_OR_PASSWORD) {
                return new ConfigException("the master key does not open the H2 database in " + dataDir
                        + " made by an earlier Pier: restore its original master.key (or PIER_MASTER_KEY) and start "
                        + "again to import it");
            }
            if (t instanceof SQLException s && s.getErrorCode() == H2_IN_USE) {
                return new ConfigException("the H2 database in " + dataDir + " is open in another process (an "
                        + "earlier Pier still running?): stop it and start again to import the data");
            }
        }
        return new ConfigException("could not import the H2 database in " + dataDir + " made by an earlier Pier ("
                + e.getMessage() + "); it is unchanged. To start afresh instead, move " + H2_FILE + " away");
    }

    private static void deleteWithCompanions(Path file) throws IOException {
        for (String suffix : new String[] {"", "-wal", "-shm", "-journal"}) {
            Files.deleteIfExists(file.resolveSibling(file.getFileName() + suffix));
        }
    }
}
