package dev.pier.support;

import dev.pier.Core;
import dev.pier.auth.Totp;
import dev.pier.config.Config;
import dev.pier.config.ConfigLoader;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.users.Enrollment;
import dev.pier.users.UserService;
import org.bouncycastle.util.encoders.Base32;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code pier serve} as a real operating-system process, for what an in-process server cannot show:
 * {@code kill -9}, the ports the process listens on, files it leaves behind. Runs the classes under
 * test with the JVM running the tests, on a data directory (and, for PostgreSQL, a database) that
 * outlives {@link #kill9()} and {@link #restart()}; {@link #cli()} opens the same store the way the
 * CLI does, from this process.
 */
public final class ServerProcess implements AutoCloseable {
    private static final Pattern PID = Pattern.compile("pid=(\\d+)");
    private final Path dataDir;
    private final String pgUrl;
    private final Map<String, String> env;
    private final Path log;
    private Process process;
    private int port;
    private Http http;

    private ServerProcess(Path dataDir, String pgUrl, Map<String, String> env) throws IOException {
        this.dataDir = dataDir;
        this.pgUrl = pgUrl;
        this.env = env;
        this.log = Files.createTempFile("pier-process", ".log");
    }

    /** A server on a new data directory and, when the run is on PostgreSQL, a new database. */
    public static ServerProcess start(Map<String, String> env) throws IOException {
        Path dir = Files.createTempDirectory("pier-process");
        String pg = TestDatabases.postgres() ? TestDatabases.createPostgresDatabase() : null;
        ServerProcess p = new ServerProcess(dir.resolve("data"), pg, env);
        p.launch();
        return p;
    }

    /** A server with its (embedded) data in {@code dataDir}, e.g. on a file system the test made. */
    public static ServerProcess on(Path dataDir, Map<String, String> env) throws IOException {
        ServerProcess p = new ServerProcess(dataDir, null, env);
        p.launch();
        return p;
    }

    /** A server on the PostgreSQL database at {@code jdbcUrl} (user and password {@code pier}). */
    public static ServerProcess onDatabase(String jdbcUrl, Map<String, String> env) throws IOException {
        Map<String, String> all = new HashMap<>(env);
        all.put("PIER_DB_URL", jdbcUrl);
        all.put("PIER_DB_USER", "pier");
        all.put("PIER_DB_PASSWORD", "pier");
        ServerProcess p =
                new ServerProcess(Files.createTempDirectory("pier-process").resolve("data"), null, all);
        p.launch();
        return p;
    }

    public static ServerProcess start() throws IOException {
        return start(Map.of());
    }

    private Map<String, String> environment() {
        Map<String, String> e = new HashMap<>();
        e.put("PIER_HOST", "127.0.0.1");
        e.put("PIER_LOG_LEVEL", "INFO");
        if (pgUrl != null) {
            e.put("PIER_DB_URL", pgUrl);
            e.put("PIER_DB_USER", TestDatabases.pgUser());
            e.put("PIER_DB_PASSWORD", TestDatabases.pgPassword());
        }
        e.putAll(env);
        return e;
    }

    private void launch() throws IOException {
        port = freePort();
        String java = ProcessHandle.current().info().command().orElse("java");
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(
                java,
                "-Xmx256m",
                "-XX:+UseSerialGC",
                "-cp",
                classpath,
                "dev.pier.Main",
                "serve",
                "--port",
                Integer.toString(port),
                "--data",
                dataDir.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().keySet().removeIf(k -> k.startsWith("PIER_"));
        pb.environment().putAll(environment());
        process = pb.start();
        http = new Http("http://127.0.0.1:" + port);
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("pier serve exited with " + process.exitValue() + ":\n" + logTail());
            }
            try {
                if (http.get("/healthz").status() == 200) {
                    return;
                }
            } catch (AssertionError notYet) {
                // not listening yet
            }
            sleep(100);
        }
        throw new IllegalStateException("pier serve did not answer within 60 s:\n" + logTail());
    }

    /** SIGKILL: no shutdown hook, no checkpoint, no flush; returns once the process is gone. */
    public void kill9() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the server did not die");
        }
    }

    /** Starts the server again on the same data (a new port). */
    public void restart() throws IOException {
        if (process.isAlive()) {
            throw new IllegalStateException("still running");
        }
        launch();
    }

    public Http http() {
        return http;
    }

    public int port() {
        return port;
    }

    public long pid() {
        return process.pid();
    }

    public Path dataDir() {
        return dataDir;
    }

    /** The settings the process runs with, for opening its store from here. */
    public Config config() {
        return new ConfigLoader(environment()).load(new ConfigLoader.Overrides(null, dataDir, null, null));
    }

    /** Makes the owner through the CLI's store and logs it in with a real TOTP code; returns its access token. */
    public String ownerToken() {
        Enrollment owner;
        try (Core cli = cli()) {
            owner = cli.users.create(
                    Principal.system(), new UserService.NewUser(null, "owner", Role.OWNER, null, null));
        }
        return login(http(), owner);
    }

    /** Logs a user in through the Matrix API with the current TOTP code; returns the access token. */
    public static String login(Http http, Enrollment e) {
        String b32 = e.secretBase32();
        int rem = b32.length() % 8;
        byte[] secret = Base32.decode(rem == 0 ? b32 : b32 + "=".repeat(8 - rem));
        String code = Totp.code(secret, Totp.step(java.time.Instant.now()));
        Http.Response r = http.postJson(
                "/api/v1/user/auth", "{\"username\":\"" + e.user().username() + "\",\"code\":\"" + code + "\"}");
        org.assertj.core.api.Assertions.assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json().get("access_token").asText();
    }

    /** The store, opened as the CLI opens it (another process than the server). Close it after use. */
    public Core cli() {
        return Core.forCli(config());
    }

    /** The TCP ports this process listens on, as {@code ss} sees them. */
    public List<Integer> listeningPorts() throws IOException, InterruptedException {
        Process ss = new ProcessBuilder("ss", "-H", "-ltnp")
                .redirectErrorStream(true)
                .start();
        String out = new String(ss.getInputStream().readAllBytes());
        ss.waitFor();
        List<Integer> ports = new ArrayList<>();
        for (String line : out.split("\n")) {
            Matcher m = PID.matcher(line);
            boolean ours = false;
            while (m.find()) {
                ours |= Long.parseLong(m.group(1)) == process.pid();
            }
            if (ours) {
                String[] cols = line.trim().split("\\s+");
                String local = cols[3];
                ports.add(Integer.parseInt(local.substring(local.lastIndexOf(':') + 1)));
            }
        }
        return ports;
    }

    public String logTail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /** The whole log of every run of this server. */
    public String log() throws IOException {
        return Files.readString(log);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        if (process != null && process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(20, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (pgUrl != null) {
            TestDatabases.dropPostgresDatabase(pgUrl);
        }
        TestFiles.deleteTree(dataDir.getParent());
        try {
            Files.deleteIfExists(log);
        } catch (IOException ignored) {
            // best effort
        }
    }
}
