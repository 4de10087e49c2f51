package dev.pier.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Every setting of a Pier process, validated once at start. Immutable: a changed copy is made with
 * {@link #with(Consumer)}, and the canonical constructor validates every copy, so no invalid
 * configuration can exist. {@link ConfigLoader} reads it from the environment and the data directory's
 * {@code pier.properties}; each setting's environment name is in its message when it is refused.
 *
 * @param port            HTTP(S) port; 0 picks a free one (tests)
 * @param host            address to bind
 * @param dataDir         holds the embedded database, the master key and the database secret
 * @param dbUrl           JDBC URL; empty means the embedded SQLite database in {@code dataDir}
 * @param dbUser          database user for {@code dbUrl}
 * @param dbPassword      database password for {@code dbUrl}
 * @param tlsDir          directory with a {@code *.crt} and a {@code *.key}; empty means plain HTTP
 * @param accessTtl       lifetime of an access token ({@code expires_in})
 * @param refreshTtl      lifetime of a refresh token
 * @param requirePassword whether Matrix logins need a password as well as a TOTP code
 * @param masterKey       base64 AES-256 key from the environment; empty means the key file in {@code dataDir}
 * @param maxBodyBytes    largest accepted request body
 * @param cachePoll       how often the server looks for changes made by other processes (the CLI)
 * @param dockerHost      the local Docker engine that node {@code local} is registered on at first start
 * @param nodeCheck       how often every node is pinged (offline detection)
 * @param reconcile       how often a full reconcile pass runs over every node
 * @param dbWait          how long a request waits for a database connection before it is answered 503
 * @param dockerSockets   unix sockets (absolute paths) nodes may be registered on, besides the socket of
 *                        {@code dockerHost}, which is always allowed
 * @param allowPlainTcp   whether nodes may be reached over plain TCP (no TLS) at addresses other than loopback
 * @param eventsMaxAge    how long the reconciler keeps instance events (restarts, recreations, removals)
 * @param eventsPerInstance how many events the reconciler keeps per instance, the newest
 * @param logMaxMib       how much of its output a new container keeps (MiB, in three rotated files)
 * @param maxKeysPerUser  how many API keys one user may hold
 * @param maxKeyLifetime  the longest an API key may live; empty: keys may never expire (the documents' default)
 * @param volumeGrace     how long the reconciler keeps a data volume that no instance owns before removing it
 * @param helperImage     the image of the throwaway containers that work on volumes (files): a shell with find,
 *                        stat and tar; pulled on a node that lacks it
 * @param backupDir       where backups are kept; empty means {@code backups} in {@code dataDir}
 * @param backupsKept     how many completed backups of one instance are kept, the newest
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
        Duration reconcile,
        Duration dbWait,
        List<String> dockerSockets,
        boolean allowPlainTcp,
        Duration eventsMaxAge,
        int eventsPerInstance,
        int logMaxMib,
        int maxKeysPerUser,
        Optional<Duration> maxKeyLifetime,
        Duration volumeGrace,
        String helperImage,
        Optional<Path> backupDir,
        int backupsKept) {

    public static final int DEFAULT_PORT = 1337;

    public Config {
        if (port < 0 || port > 65535) {
            throw new ConfigException("PIER_PORT (port) must be between 0 and 65535, got " + port);
        }
        require(host != null && !host.isBlank(), "PIER_HOST (host) must not be empty");
        require(dataDir != null, "PIER_DATA must name a directory");
        positive(accessTtl, "PIER_ACCESS_TTL (access_ttl_seconds)");
        positive(refreshTtl, "PIER_REFRESH_TTL (refresh_ttl_seconds)");
        if (refreshTtl.compareTo(accessTtl) < 0) {
            throw new ConfigException("PIER_REFRESH_TTL (refresh_ttl_seconds) must not be shorter than "
                    + "PIER_ACCESS_TTL (access_ttl_seconds)");
        }
        if (dbUrl.isPresent() && !dbUrl.get().startsWith("jdbc:postgresql:")) {
            throw new ConfigException("PIER_DB_URL (db.url) must be a PostgreSQL JDBC URL, e.g. "
                    + "jdbc:postgresql://host:5432/pier; leave it unset for the embedded database");
        }
        require(maxBodyBytes >= 1024, "the largest request body must be at least 1 KiB");
        positive(cachePoll, "the change poll interval");
        require(
                dockerHost != null && (dockerHost.startsWith("unix://") || dockerHost.startsWith("tcp://")),
                "PIER_DOCKER_HOST (docker_host) must be unix:///path/to/docker.sock or tcp://host:port, got '"
                        + dockerHost + "'");
        positive(nodeCheck, "the node check interval");
        positive(reconcile, "PIER_RECONCILE_SECONDS (reconcile_seconds)");
        positive(dbWait, "PIER_DB_WAIT_MS (db.wait_ms)");
        positive(eventsMaxAge, "PIER_EVENTS_KEEP_DAYS (events.keep_days)");
        if (eventsPerInstance < 1) {
            throw new ConfigException(
                    "PIER_EVENTS_KEEP_PER_INSTANCE (events.keep_per_instance) must be at least 1, got "
                            + eventsPerInstance);
        }
        require(
                logMaxMib >= 3 && logMaxMib <= 1_048_576,
                "PIER_LOG_MAX_MIB (logs.max_mib) must be between 3 and 1048576, got " + logMaxMib);
        require(dockerSockets != null, "PIER_DOCKER_SOCKETS (docker_sockets) must be a list");
        dockerSockets = List.copyOf(dockerSockets);
        for (String socket : dockerSockets) {
            require(
                    socket.startsWith("/")
                            && socket.chars().noneMatch(Character::isISOControl)
                            && !socket.contains("/../")
                            && !socket.endsWith("/.."),
                    "PIER_DOCKER_SOCKETS (docker_sockets) must list absolute socket paths separated by commas, got '"
                            + socket + "'");
        }
        require(
                maxKeysPerUser >= 1,
                "PIER_MAX_KEYS_PER_USER (max_keys_per_user) must be at least 1, got " + maxKeysPerUser);
        require(maxKeyLifetime != null, "PIER_MAX_KEY_LIFETIME_DAYS (max_key_lifetime_days) must be set or empty");
        maxKeyLifetime.ifPresent(d -> positive(d, "PIER_MAX_KEY_LIFETIME_DAYS (max_key_lifetime_days)"));
        require(
                volumeGrace != null && !volumeGrace.isNegative(),
                "PIER_VOLUME_GRACE_MINUTES (volumes.grace_minutes) must be zero or more");
        require(
                helperImage != null && !helperImage.isBlank() && helperImage.equals(helperImage.strip()),
                "PIER_HELPER_IMAGE (helper_image) must be a Docker image reference, e.g. busybox:1.37");
        require(backupDir != null, "PIER_BACKUP_DIR (backups.dir) must name a directory or be empty");
        require(
                backupsKept >= 1 && backupsKept <= 10_000,
                "PIER_BACKUPS_KEEP (backups.keep) must be between 1 and 10000, got " + backupsKept);
    }

    /** Where backups are kept. */
    public Path backupStore() {
        return backupDir.orElse(dataDir.resolve("backups"));
    }

    /** The unix sockets nodes may use: those listed, and the one of {@code dockerHost}. */
    public List<String> allowedSockets() {
        List<String> all = new ArrayList<>(dockerSockets);
        if (dockerHost.startsWith("unix://")) {
            all.add(dockerHost.substring("unix://".length()));
        }
        return List.copyOf(all);
    }

    /** Defaults for a data directory: what {@code pier serve} uses with no settings. */
    public static Config defaults(Path dataDir) {
        return new Config(
                DEFAULT_PORT,
                "0.0.0.0",
                dataDir,
                Optional.empty(),
                "",
                "",
                Optional.empty(),
                Duration.ofHours(2),
                Duration.ofDays(30),
                false,
                Optional.empty(),
                1024 * 1024,
                Duration.ofMillis(250),
                "unix:///var/run/docker.sock",
                Duration.ofSeconds(2),
                Duration.ofSeconds(10),
                Duration.ofMillis(1500),
                List.of(),
                false,
                Duration.ofDays(30),
                100,
                30,
                100,
                Optional.empty(),
                Duration.ofHours(1),
                DEFAULT_HELPER_IMAGE,
                Optional.empty(),
                7);
    }

    /** The helper image unless told otherwise: BusyBox, a shell and the tools in about 4 MiB. */
    public static final String DEFAULT_HELPER_IMAGE = "busybox:1.37";

    public boolean embedded() {
        return dbUrl.isEmpty();
    }

    /** A copy with some settings changed; validated like any other. */
    public Config with(Consumer<Builder> change) {
        Builder b = new Builder(this);
        change.accept(b);
        return b.build();
    }

    public Config withPort(int p) {
        return with(b -> b.port = p);
    }

    public Config withHost(String bindHost) {
        return with(b -> b.host = bindHost);
    }

    public Config withDb(String url, String user, String password) {
        return with(b -> {
            b.dbUrl = Optional.ofNullable(url);
            b.dbUser = user;
            b.dbPassword = password;
        });
    }

    public Config withTls(Path dir) {
        return with(b -> b.tlsDir = Optional.ofNullable(dir));
    }

    public Config withIntervals(Duration cachePollEvery, Duration nodeCheckEvery, Duration reconcileEvery) {
        return with(b -> {
            b.cachePoll = cachePollEvery;
            b.nodeCheck = nodeCheckEvery;
            b.reconcile = reconcileEvery;
        });
    }

    public Config withTokenLifetimes(Duration access, Duration refresh) {
        return with(b -> {
            b.accessTtl = access;
            b.refreshTtl = refresh;
        });
    }

    public Config withRequirePassword(boolean required) {
        return with(b -> b.requirePassword = required);
    }

    public Config withKeyLimits(int maxKeys, Duration maxLifetime) {
        return with(b -> {
            b.maxKeysPerUser = maxKeys;
            b.maxKeyLifetime = Optional.ofNullable(maxLifetime);
        });
    }

    public Config withMasterKey(String base64) {
        return with(b -> b.masterKey = Optional.ofNullable(base64));
    }

    /** The settings of a {@link Config} as mutable fields, for {@link #with(Consumer)}. */
    public static final class Builder {
        public int port;
        public String host;
        public Path dataDir;
        public Optional<String> dbUrl;
        public String dbUser;
        public String dbPassword;
        public Optional<Path> tlsDir;
        public Duration accessTtl;
        public Duration refreshTtl;
        public boolean requirePassword;
        public Optional<String> masterKey;
        public long maxBodyBytes;
        public Duration cachePoll;
        public String dockerHost;
        public Duration nodeCheck;
        public Duration reconcile;
        public Duration dbWait;
        public List<String> dockerSockets;
        public boolean allowPlainTcp;
        public Duration eventsMaxAge;
        public int eventsPerInstance;
        public int logMaxMib;
        public int maxKeysPerUser;
        public Optional<Duration> maxKeyLifetime;
        public Duration volumeGrace;
        public String helperImage;
        public Optional<Path> backupDir;
        public int backupsKept;

        Builder(Config c) {
            port = c.port;
            host = c.host;
            dataDir = c.dataDir;
            dbUrl = c.dbUrl;
            dbUser = c.dbUser;
            dbPassword = c.dbPassword;
            tlsDir = c.tlsDir;
            accessTtl = c.accessTtl;
            refreshTtl = c.refreshTtl;
            requirePassword = c.requirePassword;
            masterKey = c.masterKey;
            maxBodyBytes = c.maxBodyBytes;
            cachePoll = c.cachePoll;
            dockerHost = c.dockerHost;
            nodeCheck = c.nodeCheck;
            reconcile = c.reconcile;
            dbWait = c.dbWait;
            dockerSockets = c.dockerSockets;
            allowPlainTcp = c.allowPlainTcp;
            eventsMaxAge = c.eventsMaxAge;
            eventsPerInstance = c.eventsPerInstance;
            logMaxMib = c.logMaxMib;
            maxKeysPerUser = c.maxKeysPerUser;
            maxKeyLifetime = c.maxKeyLifetime;
            volumeGrace = c.volumeGrace;
            helperImage = c.helperImage;
            backupDir = c.backupDir;
            backupsKept = c.backupsKept;
        }

        Config build() {
            return new Config(
                    port,
                    host,
                    dataDir,
                    dbUrl,
                    dbUser,
                    dbPassword,
                    tlsDir,
                    accessTtl,
                    refreshTtl,
                    requirePassword,
                    masterKey,
                    maxBodyBytes,
                    cachePoll,
                    dockerHost,
                    nodeCheck,
                    reconcile,
                    dbWait,
                    dockerSockets,
                    allowPlainTcp,
                    eventsMaxAge,
                    eventsPerInstance,
                    logMaxMib,
                    maxKeysPerUser,
                    maxKeyLifetime,
                    volumeGrace,
                    helperImage,
                    backupDir,
                    backupsKept);
        }
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new ConfigException(message);
        }
    }

    private static void positive(Duration d, String name) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new ConfigException(name + " must be positive, got " + d);
        }
    }
}
