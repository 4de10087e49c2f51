package dev.pier.bench;

import dev.pier.Core;
import dev.pier.security.AccessLevel;
import dev.pier.security.Principal;
import dev.pier.auth.Totp;
import dev.pier.config.Config;
import dev.pier.crypto.Hashing;
import dev.pier.errors.PierException;
import dev.pier.keys.ApiKeyService;
import dev.pier.keys.KeyFormat;
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
 * An API key against a session token through the same entry point, {@code Authenticator.resolve},
 * on a real {@link Core} over embedded SQLite (SPEC: a key-authenticated request should cost about what a
 * session-authenticated one does). bench/keys measures the same over HTTP.
 * <ul>
 *   <li>{@link #sessionToken}: a logged-in owner's access token (SHA-256, session cache);</li>
 *   <li>{@link #apiKey}: the owner's full-access key (prefix and checksum check, SHA-256, key cache,
 *       expiry and enabled checks, the once-a-minute last-use note);</li>
 *   <li>{@link #mistypedKey}: a key with a wrong checksum, refused before any lookup;</li>
 *   <li>{@link #unknownKey}: a well-formed key nobody issued, which asks the database every time;</li>
 *   <li>{@link #keyFormatCheck}: the prefix and checksum check alone.</li>
 * </ul>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 2, jvmArgsAppend = {"-Xmx256m"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@State(Scope.Benchmark)
public class KeyCheckBenchmark {
    private static final String CLIENT = "127.0.0.1";

    private Path dir;
    private Core core;
    private String accessToken;
    private String apiKey;
    private String mistypedKey;
    private String unknownKey;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("pier-jmh-keys");
        core = Core.forServer(Config.defaults(dir).withPort(0), Clock.systemUTC());
        Enrollment e = core.users.create(Principal.system(),
                new UserService.NewUser(null, "owner", Role.OWNER, null, null));
        String b32 = e.secretBase32();
        byte[] secret = Base32.decode(b32 + "=".repeat((8 - b32.length() % 8) % 8));
        accessToken = core.auth.login("owner", Totp.code(secret, Totp.step(Instant.now())), null, CLIENT).accessToken();
        apiKey = core.keys.create(Principal.system(), "owner",
                new ApiKeyService.NewKey("bench", true, null, AccessLevel.FULL)).value();
        // flip the last body character: the checksum no longer matches
        char last = apiKey.charAt(KeyFormat.LENGTH - 7);
        mistypedKey = apiKey.substring(0, KeyFormat.LENGTH - 7) + (last == 'a' ? 'b' : 'a') + apiKey.substring(KeyFormat.LENGTH - 6);
        String other;
        do {
            other = KeyFormat.generate();
        } while (other.equals(apiKey));
        unknownKey = other;
        // fail fast if the setup is wrong, rather than measuring an exception path
        for (String c : new String[]{accessToken, apiKey}) {
            Principal p = core.authenticator.resolve(c, CLIENT, false);
            if (!"owner".equals(p.username())) {
                throw new IllegalStateException("resolved to " + p.username());
            }
        }
        if (KeyFormat.isValid(mistypedKey) || !KeyFormat.isValid(unknownKey)) {
            throw new IllegalStateException("the mistyped or unknown key is not what it should be");
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
    public Principal sessionToken() {
        return core.authenticator.resolve(accessToken, CLIENT, false);
    }

    @Benchmark
    public Principal apiKey() {
        return core.authenticator.resolve(apiKey, CLIENT, false);
    }

    @Benchmark
    public Object mistypedKey() {
        try {
            return core.authenticator.resolve(mistypedKey, CLIENT, false);
        } catch (PierException.Unauthenticated expected) {
            return expected;
        }
    }

    @Benchmark
    public Object unknownKey() {
        try {
            return core.authenticator.resolve(unknownKey, CLIENT, false);
        } catch (PierException.Unauthenticated expected) {
            return expected;
        }
    }

    @Benchmark
    public boolean keyFormatCheck() {
        return KeyFormat.isValid(apiKey);
    }

    @Benchmark
    public String sha256OfKey() {
        return Hashing.sha256Hex(apiKey);
    }
}
