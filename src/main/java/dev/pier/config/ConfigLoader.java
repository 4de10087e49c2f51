package dev.pier.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * Builds a {@link Config} from, in order of precedence: command-line options, environment variables
 * ({@code PIER_*}), the file {@code pier.properties} in the data directory, and defaults.
 */
public final class ConfigLoader {
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
        Properties file = readFile(data.resolve("pier.properties"));
        Config base = Config.defaults(data);
        int port = cli.port() != null ? cli.port() : intSetting(file, "PIER_PORT", "port", base.port());
        String host = setting(file, "PIER_HOST", "host").orElse(base.host());
        Optional<String> dbUrl = cli.dbUrl() != null ? Optional.of(cli.dbUrl()) : setting(file, "PIER_DB_URL", "db.url");
        String dbUser = setting(file, "PIER_DB_USER", "db.user").orElse("");
        String dbPassword = setting(file, "PIER_DB_PASSWORD", "db.password").orElse("");
        Optional<Path> tls = cli.tlsDir() != null ? Optional.of(cli.tlsDir())
                : setting(file, "PIER_TLS", "tls").map(Path::of);
        Duration access = Duration.ofSeconds(intSetting(file, "PIER_ACCESS_TTL", "access_ttl_seconds",
                (int) base.accessTtl().toSeconds()));
        Duration refresh = Duration.ofSeconds(intSetting(file, "PIER_REFRESH_TTL", "refresh_ttl_seconds",
                (int) base.refreshTtl().toSeconds()));
        boolean requirePassword = setting(file, "PIER_REQUIRE_PASSWORD", "require_password")
                .map(v -> parseBool("PIER_REQUIRE_PASSWORD", v)).orElse(false);
        Optional<String> masterKey = setting(file, "PIER_MASTER_KEY", "master_key");
        tls.ifPresent(dir -> {
            if (!Files.isDirectory(dir)) {
                throw new ConfigException("TLS directory (--tls / PIER_TLS) does not exist: " + dir);
            }
        });
        String dockerHost = setting(file, "PIER_DOCKER_HOST", "docker_host").orElse(base.dockerHost());
        Duration reconcile = Duration.ofSeconds(intSetting(file, "PIER_RECONCILE_SECONDS", "reconcile_seconds",
                (int) base.reconcile().toSeconds()));
        return new Config(port, host, data, dbUrl, dbUser, dbPassword, tls, access, refresh, requirePassword,
                masterKey, base.maxBodyBytes(), base.cachePoll(), dockerHost, base.nodeCheck(), reconcile);
    }

    private Optional<String> setting(Properties file, String envName, String fileKey) {
        String v = env.get(envName);
        if (v == null || v.isBlank()) {
            v = file.getProperty(fileKey);
        }
        return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.trim());
    }

    private int intSetting(Properties file, String envName, String fileKey, int fallback) {
        return setting(file, envName, fileKey).map(v -> {
            try {
                return Integer.parseInt(v);
            } catch (NumberFormatException e) {
                throw new ConfigException(envName + " (" + fileKey + ") must be a whole number, got '" + v + "'");
            }
        }).orElse(fallback);
    }

    private static boolean parseBool(String name, String v) {
        return switch (v.toLowerCase()) {
            case "true", "yes", "1", "on" -> true;
            case "false", "no", "0", "off" -> false;
            default -> throw new ConfigException(name + " must be true or false, got '" + v + "'");
        };
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
