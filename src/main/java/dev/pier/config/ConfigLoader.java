package dev.pier.config;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Builds a {@link Config} from, in order of precedence: command-line options, environment variables
 * ({@code PIER_*}), the file {@code pier.properties} in the data directory, and defaults. Every value is
 * checked here, before anything starts, and a refusal names the setting in both of its spellings. A key
 * in {@code pier.properties} that is no setting is refused (a typo would otherwise be silently ignored);
 * an unknown {@code PIER_*} variable is reported as a warning, since the environment is shared.
 */
public final class ConfigLoader {
    private static final Logger log = LoggerFactory.getLogger(ConfigLoader.class);

    /** Every setting: environment name, then its key in {@code pier.properties}. */
    static final Map<String, String> SETTINGS = settings(
            "PIER_PORT", "port",
            "PIER_HOST", "host",
            "PIER_DATA", "",
            "PIER_DB_URL", "db.url",
            "PIER_DB_USER", "db.user",
            "PIER_DB_PASSWORD", "db.password",
            "PIER_DB_WAIT_MS", "db.wait_ms",
            "PIER_TLS", "tls",
            "PIER_ACCESS_TTL", "access_ttl_seconds",
            "PIER_REFRESH_TTL", "refresh_ttl_seconds",
            "PIER_REQUIRE_PASSWORD", "require_password",
            "PIER_MASTER_KEY", "master_key",
            "PIER_DOCKER_HOST", "docker_host",
            "PIER_DOCKER_SOCKETS", "docker_sockets",
            "PIER_ALLOW_PLAIN_TCP", "allow_plain_tcp",
            "PIER_RECONCILE_SECONDS", "reconcile_seconds",
            "PIER_EVENTS_KEEP_DAYS", "events.keep_days",
            "PIER_EVENTS_KEEP_PER_INSTANCE", "events.keep_per_instance",
            "PIER_LOG_MAX_MIB", "logs.max_mib",
            "PIER_MAX_KEYS_PER_USER", "max_keys_per_user",
            "PIER_MAX_KEY_LIFETIME_DAYS", "max_key_lifetime_days",
            "PIER_VOLUME_GRACE_MINUTES", "volumes.grace_minutes",
            "PIER_HELPER_IMAGE", "helper_image",
            "PIER_BACKUP_DIR", "backups.dir",
            "PIER_BACKUPS_KEEP", "backups.keep");

    /** Variables that are read before Java starts (the launcher) or by the logging set-up. */
    private static final List<String> OTHER_VARIABLES =
            List.of("PIER_LOG_LEVEL", "PIER_JAVA_OPTS", "PIER_CDS", "PIER_JAR", "PIER_BUSYBOX");

    private final Map<String, String> env;

    public ConfigLoader(Map<String, String> env) {
        this.env = env;
    }

    /** Command-line values; null means "not given". */
    public record Overrides(Integer port, Path dataDir, String dbUrl, Path tlsDir) {
        public static final Overrides NONE = new Overrides(null, null, null, null);
    }

    public Config load(Overrides cli) {
        Path data = cli.dataDir() != null ? cli.dataDir() : Path.of(env.getOrDefault("PIER_DATA", "pier-data"));
        Source src = new Source(env, readFile(data.resolve("pier.properties")));
        src.warnAboutUnknownVariables();
        Config base = Config.defaults(data);
        Optional<Path> tls = cli.tlsDir() != null
                ? Optional.of(cli.tlsDir())
                : src.get("PIER_TLS").map(Path::of);
        tls.ifPresent(dir -> {
            if (!Files.isDirectory(dir)) {
                throw new ConfigException("PIER_TLS (tls) names no directory: " + dir);
            }
        });
        return base.with(b -> {
            b.port = cli.port() != null
                    ? cli.port()
                    : src.integer("PIER_PORT", 0, 65535).orElse(base.port());
            b.host = src.get("PIER_HOST").orElse(base.host());
            b.dbUrl = cli.dbUrl() != null ? Optional.of(cli.dbUrl()) : src.get("PIER_DB_URL");
            b.dbUser = src.get("PIER_DB_USER").orElse("");
            b.dbPassword = src.get("PIER_DB_PASSWORD").orElse("");
            b.dbWait = src.integer("PIER_DB_WAIT_MS", 100, 60_000)
                    .map(Duration::ofMillis)
                    .orElse(base.dbWait());
            b.tlsDir = tls;
            b.accessTtl = src.integer("PIER_ACCESS_TTL", 1, Integer.MAX_VALUE)
                    .map(Duration::ofSeconds)
                    .orElse(base.accessTtl());
            b.refreshTtl = src.integer("PIER_REFRESH_TTL", 1, Integer.MAX_VALUE)
                    .map(Duration::ofSeconds)
                    .orElse(base.refreshTtl());
            b.requirePassword = src.bool("PIER_REQUIRE_PASSWORD").orElse(false);
            b.masterKey = src.get("PIER_MASTER_KEY");
            b.dockerHost = src.get("PIER_DOCKER_HOST").orElse(base.dockerHost());
            b.dockerSockets = src.get("PIER_DOCKER_SOCKETS")
                    .map(v -> Arrays.stream(v.split(","))
                            .map(String::strip)
                            .filter(x -> !x.isEmpty())
                            .toList())
                    .orElse(base.dockerSockets());
            b.allowPlainTcp = src.bool("PIER_ALLOW_PLAIN_TCP").orElse(false);
            b.reconcile = src.integer("PIER_RECONCILE_SECONDS", 1, 86_400)
                    .map(Duration::ofSeconds)
                    .orElse(base.reconcile());
            b.eventsMaxAge = src.integer("PIER_EVENTS_KEEP_DAYS", 1, 3650)
                    .map(Duration::ofDays)
                    .orElse(base.eventsMaxAge());
            b.eventsPerInstance =
                    src.integer("PIER_EVENTS_KEEP_PER_INSTANCE", 1, 100_000).orElse(base.eventsPerInstance());
            b.logMaxMib = src.integer("PIER_LOG_MAX_MIB", 3, 1_048_576).orElse(base.logMaxMib());
            b.maxKeysPerUser = src.integer("PIER_MAX_KEYS_PER_USER", 1, 100_000).orElse(base.maxKeysPerUser());
            b.maxKeyLifetime =
                    src.integer("PIER_MAX_KEY_LIFETIME_DAYS", 1, 36_500).map(Duration::ofDays);
            b.volumeGrace = src.integer("PIER_VOLUME_GRACE_MINUTES", 0, 525_600)
                    .map(Duration::ofMinutes)
                    .orElse(base.volumeGrace());
            b.helperImage = src.get("PIER_HELPER_IMAGE").map(String::strip).orElse(base.helperImage());
            b.backupDir = src.get("PIER_BACKUP_DIR")
                    .map(String::strip)
                    .filter(s -> !s.isEmpty())
                    .map(Path::of);
            b.backupsKept = src.integer("PIER_BACKUPS_KEEP", 1, 10_000).orElse(base.backupsKept());
        });
    }

    /** The environment over the file, with each value's name for messages. */
    private static final class Source {
        private final Map<String, String> env;
        private final Properties file;

        Source(Map<String, String> env, Properties file) {
            this.env = env;
            this.file = file;
            List<String> unknown = new ArrayList<>();
            for (String key : new TreeSet<>(file.stringPropertyNames())) {
                if (!SETTINGS.containsValue(key) || key.isEmpty()) {
                    unknown.add(key);
                }
            }
            if (!unknown.isEmpty()) {
                throw new ConfigException("pier.properties has unknown setting(s) " + unknown + "; known: "
                        + SETTINGS.values().stream().filter(k -> !k.isEmpty()).toList());
            }
        }

        void warnAboutUnknownVariables() {
            for (String name : new TreeSet<>(env.keySet())) {
                if (name.startsWith("PIER_")
                        && !SETTINGS.containsKey(name)
                        && !OTHER_VARIABLES.contains(name)
                        && !name.startsWith("PIER_TEST_")
                        && !name.startsWith("PIER_BENCH_")) {
                    log.warn("environment variable {} is not a Pier setting and is ignored", name);
                }
            }
        }

        String name(String envName) {
            String key = SETTINGS.get(envName);
            return key == null || key.isEmpty() ? envName : envName + " (" + key + ")";
        }

        Optional<String> get(String envName) {
            String v = env.get(envName);
            if (v == null || v.isBlank()) {
                String key = SETTINGS.get(envName);
                v = key == null ? null : file.getProperty(key);
            }
            return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.strip());
        }

        Optional<Integer> integer(String envName, int min, int max) {
            return get(envName).map(v -> {
                int n;
                try {
                    n = Integer.parseInt(v);
                } catch (NumberFormatException e) {
                    throw new ConfigException(name(envName) + " must be a whole number, got '" + v + "'");
                }
                if (n < min || n > max) {
                    throw new ConfigException(name(envName) + " must be between " + min + " and " + max + ", got " + n);
                }
                return n;
            });
        }

        Optional<Boolean> bool(String envName) {
            return get(envName)
                    .map(parse(
                            envName,
                            v -> switch (v.toLowerCase(Locale.ROOT)) {
                                case "true", "yes", "1", "on" -> true;
                                case "false", "no", "0", "off" -> false;
                                default -> null;
                            },
                            "true or false"));
        }

        private <T> Function<String, T> parse(String envName, Function<String, T> parser, String expected) {
            return v -> {
                T t = parser.apply(v);
                if (t == null) {
                    throw new ConfigException(name(envName) + " must be " + expected + ", got '" + v + "'");
                }
                return t;
            };
        }
    }

    private static Map<String, String> settings(String... pairs) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            m.put(pairs[i], pairs[i + 1]);
        }
        return m;
    }

    private static Properties readFile(Path file) {
        Properties p = new Properties();
        if (Files.isRegularFile(file)) {
            try (Reader r = Files.newBufferedReader(file)) {
                p.load(r);
            } catch (IOException e) {
                throw new ConfigException("cannot read " + file + ": " + e.getMessage());
            }
        }
        return p;
    }
}
