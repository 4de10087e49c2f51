package dev.pier.cli;

import dev.pier.config.Config;
import dev.pier.config.ConfigLoader;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** Where the data lives: shared by every command that opens the database. */
final class DataOptions {
    @Option(names = "--data", paramLabel = "DIR", description = "Data directory (default: $PIER_DATA or ./pier-data)")
    Path dataDir;

    @Option(
            names = "--db",
            paramLabel = "JDBC_URL",
            description =
                    "Database URL, e.g. jdbc:postgresql://localhost/pier (default: $PIER_DB_URL or the embedded SQLite database)")
    String dbUrl;

    Config load(Integer port, Path tls) {
        return new ConfigLoader(System.getenv()).load(new ConfigLoader.Overrides(port, dataDir, dbUrl, tls));
    }
}
