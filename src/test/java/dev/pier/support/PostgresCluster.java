package dev.pier.support;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A PostgreSQL server of a test's own, which the test may stop and start (an outage) without touching
 * the shared one other tests use: {@code initdb} into a temporary directory, {@code pg_ctl} on a free port
 * on loopback, run as the {@code postgres} system user (PostgreSQL refuses to run as root). Debian's
 * server binaries; the test skips without them (fails with {@code CI=true}).
 */
public final class PostgresCluster implements AutoCloseable {
    private final Path dir;
    private final int port;
    private final Path bin;

    private PostgresCluster(Path dir, int port, Path bin) {
        this.dir = dir;
        this.port = port;
        this.bin = bin;
    }

    public static PostgresCluster start() throws IOException, InterruptedException {
        Path bin = binaries();
        if (bin == null) {
            TestDatabases.requireOrSkip("PostgreSQL's server binaries (initdb, pg_ctl) are not installed");
        }
        if (!"root".equals(System.getProperty("user.name"))) {
            TestDatabases.requireOrSkip(
                    "a test's own PostgreSQL server is started as the postgres user, which needs root");
        }
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "pier-pg-");
        run("chown", "postgres:postgres", dir.toString());
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        PostgresCluster c = new PostgresCluster(dir, port, bin);
        c.asPostgres(
                bin.resolve("initdb") + " -D " + dir.resolve("data") + " -A trust -U postgres --no-sync >/dev/null");
        c.startServer();
        c.asPostgres(bin.resolve("psql") + " -h " + dir + " -p " + port
                + " -U postgres -qc \"CREATE ROLE pier LOGIN PASSWORD 'pier'\"");
        c.asPostgres(bin.resolve("psql") + " -h " + dir + " -p " + port
                + " -U postgres -qc \"CREATE DATABASE pier OWNER pier\"");
        return c;
    }

    /** Starts the server (again), and waits until it takes connections. */
    public void startServer() throws IOException, InterruptedException {
        asPostgres(bin.resolve("pg_ctl") + " -D " + dir.resolve("data") + " -l " + dir.resolve("log") + " -w -t 60"
                + " -o \"-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c fsync=on\" start >/dev/null");
    }

    /** Stops the server at once (connections are cut, as in a crash of the database host's service). */
    public void stopServer() throws IOException, InterruptedException {
        asPostgres(bin.resolve("pg_ctl") + " -D " + dir.resolve("data") + " -m immediate -w stop >/dev/null");
    }

    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/pier";
    }

    private void asPostgres(String command) throws IOException, InterruptedException {
        run("su", "postgres", "-s", "/bin/sh", "-c", "cd /tmp && " + command);
    }

    private static void run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
        }
    }

    private static Path binaries() {
        Path root = Path.of("/usr/lib/postgresql");
        if (!Files.isDirectory(root)) {
            return null;
        }
        try (var versions = Files.list(root)) {
            List<Path> found = versions.map(v -> v.resolve("bin"))
                    .filter(b -> Files.isExecutable(b.resolve("pg_ctl")))
                    .sorted()
                    .toList();
            return found.isEmpty() ? null : found.getLast();
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public void close() {
        try {
            stopServer();
        } catch (IOException | InterruptedException | IllegalStateException ignored) {
            // already stopped
        }
        TestFiles.deleteTree(dir);
    }
}
