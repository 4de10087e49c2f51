package dev.pier.bench;

import dev.pier.Core;
import dev.pier.security.AccessLevel;
import dev.pier.security.Principal;
import dev.pier.auth.Totp;
import dev.pier.config.Config;
import dev.pier.crypto.Hashing;
import dev.pier.errors.PierException;
import dev.pier.keys.ApiKeyService;
import dev.pier.users.Enrollment;
import dev.pier.security.Role;
import dev.pier.users.UserService;
import org.bouncycastle.util.encoders.Base32;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * What checking a credential costs the server per request: {@code Authenticator.resolve} as the
 * request handler calls it, on a real {@link Core} over embedded SQLite in a temporary data directory.
 * <ul>
 *   <li>{@link #knownAccessToken}: a logged-in user's access token, the path of every authenticated
 *       request (SHA-256 of the token, then the in-memory session cache);</li>
 *   <li>{@link #knownApiKey}: an API key ({@code pier_…}): checksum, SHA-256, the key cache;</li>
 *   <li>{@link #unknownToken}: a token nobody issued, which misses the cache and asks the database;</li>
 *   <li>{@link #sha256OfToken}: the hash alone, the floor under both.</li>
 * </ul>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 2, jvmArgsAppend = {"-Xmx256m"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@State(Scope.Benchmark)
public class CredentialCheckBenchmark {
    private static final String CLIENT = "127.0.0.1";

    private Path dir;
    private Core core;
    private String accessToken;
    private String apiKey;
    private String unknownToken;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("pier-jmh");
        core = Core.forServer(Config.defaults(dir).withPort(0), Clock.systemUTC());
        Enrollment e = core.users.create(Principal.system(),
                new UserService.NewUser(null, "bench", Role.OWNER, null, null));
        String b32 = e.secretBase32();
        byte[] secret = Base32.decode(b32 + "=".repeat((8 - b32.length() % 8) % 8));
        String code = Totp.code(secret, Totp.step(Instant.now()));
        accessToken = core.auth.login("bench", code, null, CLIENT).accessToken();
        apiKey = core.keys.create(Principal.system(), "bench",
                new ApiKeyService.NewKey("jmh", true, null, AccessLevel.FULL)).value();
        unknownToken = Hashing.randomToken();
        // fail fast if the setup is wrong, rather than measuring an exception path
        Principal p = core.authenticator.resolve(accessToken, CLIENT, false);
        Principal k = core.authenticator.resolve(apiKey, CLIENT, false);
        if (!"bench".equals(p.username()) || !"bench".equals(k.username())) {
            throw new IllegalStateException("resolved to " + p.username() + " and " + k.username());
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        core.close();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }

    @Benchmark
    public Principal knownAccessToken() {
        return core.authenticator.resolve(accessToken, CLIENT, false);
    }

    @Benchmark
    public Principal knownApiKey() {
        return core.authenticator.resolve(apiKey, CLIENT, false);
    }

    @Benchmark
    public Object unknownToken() {
        try {
            return core.authenticator.resolve(unknownToken, CLIENT, false);
        } catch (PierException.Unauthenticated expected) {
            return expected;
        }
    }

    @Benchmark
    public String sha256OfToken() {
        return Hashing.sha256Hex(accessToken);
    }
}
