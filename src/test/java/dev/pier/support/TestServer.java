package dev.pier.support;

import dev.pier.App;
import dev.pier.Core;
import dev.pier.auth.Totp;
import dev.pier.config.Config;
import dev.pier.nodes.NodeService;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.users.Enrollment;
import dev.pier.users.UserService;
import io.javalin.Javalin;
import org.bouncycastle.util.encoders.Base32;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * A real Pier server on a free port, over a fresh data directory and database (SQLite or PostgreSQL,
 * see {@link TestDatabases}), with a clock the test controls. {@link #restart()} keeps the data.
 */
public final class TestServer implements AutoCloseable {
    public final MutableClock clock = MutableClock.startingNow();
    private final Path dataDir;
    private final String pgUrl;
    private final UnaryOperator<Config> tweak;
    private final NodeService.RuntimeFactory runtimes;
    private Core core;
    private Javalin app;
    private Http http;

    private TestServer(UnaryOperator<Config> tweak, NodeService.RuntimeFactory runtimes) {
        this.tweak = tweak;
        this.runtimes = runtimes;
        try {
            this.dataDir = Files.createTempDirectory("pier-test");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        this.pgUrl = TestDatabases.postgres() ? TestDatabases.createPostgresDatabase() : null;
        boot();
    }

    public static TestServer start() {
        return new TestServer(UnaryOperator.identity(), null);
    }

    public static TestServer start(UnaryOperator<Config> tweak) {
        return new TestServer(tweak, null);
    }

    /** A server whose nodes are reached through {@code runtimes} (e.g. Docker wrapped with fault hooks), also after {@link #restart()}. */
    public static TestServer startWithRuntimes(NodeService.RuntimeFactory runtimes) {
        return new TestServer(UnaryOperator.identity(), runtimes);
    }

    public static TestServer startWithRuntimes(UnaryOperator<Config> tweak, NodeService.RuntimeFactory runtimes) {
        return new TestServer(tweak, runtimes);
    }

    public Config config() {
        Config c = Config.defaults(dataDir).withPort(0);
        c = c.withHost("127.0.0.1").withIntervals(Duration.ofMillis(100), Duration.ofMillis(500), Duration.ofHours(1));
        // no registry is reachable in tests: the file helpers run the local test image
        c = c.with(b -> b.helperImage = "pier-test/busybox:latest");
        if (pgUrl != null) {
            c = c.withDb(pgUrl, TestDatabases.pgUser(), TestDatabases.pgPassword());
        }
        return tweak.apply(c);
    }

    private void boot() {
        core = runtimes == null ? Core.forServer(config(), clock) : Core.forServer(config(), clock, runtimes);
        app = App.create(core).start();
        core.startReconciler();
        http = new Http("http://127.0.0.1:" + app.port());
    }

    /** Stops and starts the server on the same data and database (a new port). */
    public void restart() {
        app.stop();
        core.close();
        boot();
    }

    public Core core() {
        return core;
    }

    public Http http() {
        return http;
    }

    public int port() {
        return app.port();
    }

    public Path dataDir() {
        return dataDir;
    }

    /** A user created as the CLI would, with its enrolment. */
    public Enrollment createUser(String name, Role role) {
        return core.users.create(Principal.system(), new UserService.NewUser(null, name, role, null, null));
    }

    /** The TOTP code of an enrolment for the server clock's current step (plus {@code offset} steps). */
    public String code(Enrollment e, int offset) {
        byte[] secret = Base32.decode(pad(e.secretBase32()));
        return Totp.code(secret, Totp.step(clock.instant()) + offset);
    }

    public String code(Enrollment e) {
        return code(e, 0);
    }

    private static String pad(String b32) {
        int rem = b32.length() % 8;
        return rem == 0 ? b32 : b32 + "=".repeat(8 - rem);
    }

    /** Logs in through the Matrix API and returns the access token. */
    public Http.Response login(Enrollment e) {
        return http.postJson(
                "/api/v1/user/auth", "{\"username\":\"" + e.user().username() + "\",\"code\":\"" + code(e) + "\"}");
    }

    public String accessToken(Enrollment e) {
        Http.Response r = login(e);
        if (r.status() != 200) {
            throw new IllegalStateException("login failed: " + r.status() + " " + r.body());
        }
        // a later login of the same user must use a later step: move the clock past this one
        clock.advance(Duration.ofSeconds(Totp.STEP_SECONDS));
        return r.json().get("access_token").asText();
    }

    @Override
    public void close() {
        app.stop();
        core.close();
        if (pgUrl != null) {
            TestDatabases.dropPostgresDatabase(pgUrl);
        }
        try (Stream<Path> s = Files.walk(dataDir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // temp dir cleanup is best effort
        }
    }
}
