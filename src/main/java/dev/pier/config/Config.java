package dev.pier.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Every setting of a Pier process, validated once at start. Immutable.
 *
 * @param port          HTTP(S) port; 0 picks a free one (tests)
 * @param host          address to bind
 * @param dataDir       holds the embedded database, the master key and the database secret
 * @param dbUrl         JDBC URL; empty means the embedded H2 database in {@code dataDir}
 * @param dbUser        database user for {@code dbUrl}
 * @param dbPassword    database password for {@code dbUrl}
 * @param tlsDir        directory with a {@code *.crt} and a {@code *.key}; empty means plain HTTP
 * @param accessTtl     lifetime of an access token ({@code expires_in})
 * @param refreshTtl    lifetime of a refresh token
 * @param requirePassword whether Matrix logins need a password as well as a TOTP code
 * @param masterKey     base64 AES-256 key from the environment; empty means the key file in {@code dataDir}
 * @param maxBodyBytes  largest accepted request body
 * @param cachePoll     how often the server looks for credential changes made by other processes
 * @param dockerHost    the local Docker engine that node {@code local} is registered on at first start
 * @param nodeCheck     how often every node is pinged (offline detection)
 * @param reconcile     how often a full reconcile pass runs over every node
 */
public record Config(
        int port,
        String host,
        Path dataDir,
        Optional<String> dbUrl,
        String dbUser,
        String dbPassword,
        Optional<Path> tlsDir,
        Duration accessTtl,
        Duration refreshTtl,
        boolean requirePassword,
        Optional<String> masterKey,
        long maxBodyBytes,
        Duration cachePoll,
        String dockerHost,
        Duration nodeCheck,
        Duration reconcile) {

    public static final int DEFAULT_PORT = 1337;

    public Config {
        if (port < 0 || port > 65535) {
            throw new ConfigException("port (PIER_PORT) must be between 0 and 65535, got " + port);
        }
        if (accessTtl.isNegative() || accessTtl.isZero()) {
            throw new ConfigException("access token lifetime (PIER_ACCESS_TTL) must be positive");
        }
        if (refreshTtl.compareTo(accessTtl) < 0) {
            throw new ConfigException("refresh token lifetime (PIER_REFRESH_TTL) must not be shorter than the access token's");
        }
        if (dbUrl.isPresent() && !dbUrl.get().startsWith("jdbc:")) {
            throw new ConfigException("database URL (PIER_DB_URL) must be a JDBC URL, e.g. jdbc:postgresql://host/db");
        }
    }

    /** Defaults for a data directory: what {@code pier serve} uses with no settings. */
    public static Config defaults(Path dataDir) {
        return new Config(DEFAULT_PORT, "0.0.0.0", dataDir, Optional.empty(), "", "", Optional.empty(),
                Duration.ofHours(2), Duration.ofDays(30), false, Optional.empty(), 1024 * 1024,
                Duration.ofMillis(250), "unix:///var/run/docker.sock", Duration.ofSeconds(2), Duration.ofSeconds(10));
    }

    public boolean embedded() {
        return dbUrl.isEmpty();
    }

    public Config withPort(int p) {
        return new Config(p, host, dataDir, dbUrl, dbUser, dbPassword, tlsDir, accessTtl, refreshTtl,
                requirePassword, masterKey, maxBodyBytes, cachePoll, dockerHost, nodeCheck, reconcile);
    }

    public Config withDb(String url, String user, String password) {
        return new Config(port, host, dataDir, Optional.ofNullable(url), user, password, tlsDir, accessTtl, refreshTtl,
                requirePassword, masterKey, maxBodyBytes, cachePoll, dockerHost, nodeCheck, reconcile);
    }

    public Config withTls(Path dir) {
        return new Config(port, host, dataDir, dbUrl, dbUser, dbPassword, Optional.ofNullable(dir), accessTtl,
                refreshTtl, requirePassword, masterKey, maxBodyBytes, cachePoll, dockerHost, nodeCheck, reconcile);
    }

    public Config withIntervals(Duration cachePollEvery, Duration nodeCheckEvery, Duration reconcileEvery) {
        return new Config(port, host, dataDir, dbUrl, dbUser, dbPassword, tlsDir, accessTtl, refreshTtl,
                requirePassword, masterKey, maxBodyBytes, cachePollEvery, dockerHost, nodeCheckEvery, reconcileEvery);
    }

    public Config withHost(String bindHost) {
        return new Config(port, bindHost, dataDir, dbUrl, dbUser, dbPassword, tlsDir, accessTtl, refreshTtl,
                requirePassword, masterKey, maxBodyBytes, cachePoll, dockerHost, nodeCheck, reconcile);
    }

    public Config withTokenLifetimes(Duration access, Duration refresh) {
        return new Config(port, host, dataDir, dbUrl, dbUser, dbPassword, tlsDir, access, refresh,
                requirePassword, masterKey, maxBodyBytes, cachePoll, dockerHost, nodeCheck, reconcile);
    }

    public Config withRequirePassword(boolean required) {
        return new Config(port, host, dataDir, dbUrl, dbUser, dbPassword, tlsDir, accessTtl, refreshTtl,
                required, masterKey, maxBodyBytes, cachePoll, dockerHost, nodeCheck, reconcile);
    }

    public Config withMasterKey(String base64) {
        return new Config(port, host, dataDir, dbUrl, dbUser, dbPassword, tlsDir, accessTtl, refreshTtl,
                requirePassword, Optional.ofNullable(base64), maxBodyBytes, cachePoll, dockerHost, nodeCheck, reconcile);
    }
}
