package dev.pier.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.pier.config.Config;
import dev.pier.crypto.MasterKey;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;

import javax.sql.DataSource;
import java.nio.file.Path;

/**
 * The connection pool, migrated schema and Jdbi handle of one process.
 *
 * <p>The embedded H2 database runs with {@code AUTO_SERVER=TRUE}: the first process to open the file
 * serves it on a loopback port and every later process (the CLI while {@code pier serve} runs, or the
 * reverse) connects through it, so both can work on one data directory at once. Its password is
 * derived from the master key, so only someone who can read the key file can open the database.
 */
public final class Database implements AutoCloseable {
    private final HikariDataSource pool;
    private final Jdbi jdbi;

    private Database(HikariDataSource pool) {
        this.pool = pool;
        this.jdbi = Jdbi.create(pool).installPlugin(new SqlObjectPlugin());
        jdbi.registerArgument(new UuidArgumentFactory());
    }

    public static Database open(Config config, MasterKey masterKey, int maxPoolSize) {
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
        HikariDataSource ds = new HikariDataSource(hc);
        try {
            migrate(ds);
        } catch (RuntimeException e) {
            ds.close();
            throw e;
        }
        return new Database(ds);
    }

    static String h2Url(Path dataDir) {
        // AUTO_SERVER's TCP listener accepts loopback connections only (H2's default without -tcpAllowOthers).
        return "jdbc:h2:file:" + dataDir.toAbsolutePath().resolve("pier") + ";AUTO_SERVER=TRUE;LOCK_TIMEOUT=10000";
    }

    public static void migrate(DataSource ds) {
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
