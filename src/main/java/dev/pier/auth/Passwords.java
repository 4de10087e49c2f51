package dev.pier.auth;

import com.nulabinc.zxcvbn.Strength;
import com.nulabinc.zxcvbn.Zxcvbn;
import dev.pier.errors.PierException;
import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.params.Argon2Parameters;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Argon2id password hashing with OWASP's parameters (19 MiB, 2 passes, 1 lane), in the PHC string
 * format, and the policy every new password meets. Hashing is bounded by a semaphore sized to the
 * CPUs: a flood of password checks queues (briefly) and then fails with 503 instead of starving every
 * other request of CPU and memory.
 *
 * <p>The policy (NIST SP 800-63B): at least {@value #MIN_LENGTH} characters, which is enough because a
 * Pier password is never a single factor (every user has a TOTP secret, and the password path needs
 * its code too); not on zxcvbn's lists of common passwords, and estimated by zxcvbn (a maintained
 * port, {@code com.nulab-inc:zxcvbn}) to need at least 10^6 guesses, the user's own name and email
 * counted as known words. No composition rules.
 */
public final class Passwords implements AuthService.PasswordCheck {
    public static final int MIN_LENGTH = 8;
    public static final int MAX_LENGTH = 1024;
    /** zxcvbn's score 2: "somewhat guessable", at least 10^6 guesses. */
    static final int MIN_SCORE = 2;
    /** zxcvbn's own advice: its matching grows with length, and what follows 100 characters adds no risk. */
    private static final int ESTIMATE_CHARS = 100;

    private static final Zxcvbn ZXCVBN = new Zxcvbn();
    private static final int MEMORY_KIB = 19 * 1024;
    private static final int ITERATIONS = 2;
    private static final int PARALLELISM = 1;
    private static final int SALT_BYTES = 16;
    private static final int HASH_BYTES = 32;
    private static final Base64.Encoder B64 = Base64.getEncoder().withoutPadding();
    private static final Base64.Decoder B64D = Base64.getDecoder();

    private final Semaphore slots;
    private final SecureRandom random = new SecureRandom();
    private final String dummyHash;

    public Passwords() {
        this(Math.max(1, Runtime.getRuntime().availableProcessors()));
    }

    public Passwords(int concurrent) {
        this.slots = new Semaphore(concurrent, true);
        // Checking a password costs the derivation, whatever the stored bytes: a well-formed hash with
        // the same parameters and no password behind it makes an unknown user cost the same as a known one.
        this.dummyHash = "$argon2id$v=19$m=" + MEMORY_KIB + ",t=" + ITERATIONS + ",p=" + PARALLELISM + "$"
                + B64.encodeToString(new byte[SALT_BYTES]) + "$" + B64.encodeToString(new byte[HASH_BYTES]);
    }

    /**
     * Hashes a new password after checking it against the policy.
     *
     * @param userInputs what an attacker knows of the user (username, email): a password built from them is weak
     * @throws PierException.Invalid naming what is wrong with the password
     */
    public String hash(String password, String... userInputs) {
        check(password, userInputs);
        return bounded(() -> hashUnchecked(password));
    }

    /** The policy alone, for a form that wants to answer before anything else happens. */
    public static void check(String password, String... userInputs) {
        if (password == null || password.codePointCount(0, password.length()) < MIN_LENGTH) {
            throw new PierException.Invalid("password must be at least " + MIN_LENGTH + " characters");
        }
        if (password.length() > MAX_LENGTH) {
            throw new PierException.Invalid("password must be at most " + MAX_LENGTH + " characters");
        }
        if (password.chars().anyMatch(Character::isISOControl)) {
            throw new PierException.Invalid("password must not contain control characters");
        }
        List<String> known = new ArrayList<>();
        for (String input : userInputs) {
            if (input != null && !input.isBlank()) {
                known.add(input.toLowerCase(Locale.ROOT));
                // "alice@example.com": its parts are known words too
                for (String part : input.toLowerCase(Locale.ROOT).split("[^\\p{L}\\p{N}]+")) {
                    if (part.length() >= 3) {
                        known.add(part);
                    }
                }
            }
        }
        String judged = password.length() > ESTIMATE_CHARS ? password.substring(0, ESTIMATE_CHARS) : password;
        Strength strength = ZXCVBN.measure(judged, known);
        if (strength.getScore() < MIN_SCORE) {
            boolean common = strength.getSequence().size() == 1
                    && "passwords".equals(strength.getSequence().getFirst().dictionaryName);
            String warning = strength.getFeedback().getWarning(Locale.ENGLISH);
            throw new PierException.Invalid("password is too easy to guess"
                    + (common
                            ? ": it is one of the most common passwords"
                            : warning == null || warning.isBlank()
                                    ? ""
                                    : ": " + lowerFirst(warning.strip()).replaceAll("\\.$", ""))
                    + "; use a longer phrase of unrelated words");
        }
    }

    private static String lowerFirst(String s) {
        return s.isEmpty() ? s : Character.toLowerCase(s.charAt(0)) + s.substring(1);
    }

    /** Verifies in constant time; a null stored hash is checked against a dummy so timing matches. */
    @Override
    public boolean verify(String password, String storedHash) {
        if (password == null || password.length() > MAX_LENGTH) {
            return false;
        }
        String target = storedHash == null ? dummyHash : storedHash;
        boolean ok = bounded(() -> verifyUnchecked(password, target));
        return ok && storedHash != null;
    }

    private String hashUnchecked(String password) {
        byte[] salt = new byte[SALT_BYTES];
        random.nextBytes(salt);
        byte[] out = derive(password, salt, MEMORY_KIB, ITERATIONS, PARALLELISM, HASH_BYTES);
        return "$argon2id$v=19$m=" + MEMORY_KIB + ",t=" + ITERATIONS + ",p=" + PARALLELISM + "$"
                + B64.encodeToString(salt) + "$" + B64.encodeToString(out);
    }

    private static boolean verifyUnchecked(String password, String phc) {
        String[] parts = phc.split("\\$");
        // ["", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash]
        if (parts.length != 6 || !parts[1].equals("argon2id")) {
            return false;
        }
        int m = 0;
        int t = 0;
        int p = 0;
        for (String kv : parts[3].split(",")) {
            String[] x = kv.split("=");
            switch (x[0]) {
                case "m" -> m = Integer.parseInt(x[1]);
                case "t" -> t = Integer.parseInt(x[1]);
                case "p" -> p = Integer.parseInt(x[1]);
                default -> {
                    return false;
                }
            }
        }
        byte[] salt = B64D.decode(parts[4]);
        byte[] expected = B64D.decode(parts[5]);
        byte[] actual = derive(password, salt, m, t, p, expected.length);
        return MessageDigest.isEqual(expected, actual);
    }

    private static byte[] derive(
            String password, byte[] salt, int memoryKib, int iterations, int parallelism, int len) {
        Argon2BytesGenerator gen = new Argon2BytesGenerator();
        gen.init(new Argon2Parameters.Builder(Argon2Parameters.ARGON2_id)
                .withVersion(Argon2Parameters.ARGON2_VERSION_13)
                .withMemoryAsKB(memoryKib)
                .withIterations(iterations)
                .withParallelism(parallelism)
                .withSalt(salt)
                .build());
        byte[] out = new byte[len];
        gen.generateBytes(password.getBytes(StandardCharsets.UTF_8), out);
        return out;
    }

    private <T> T bounded(java.util.function.Supplier<T> work) {
        boolean acquired;
        try {
            acquired = slots.tryAcquire(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PierException.Unavailable("interrupted while waiting to check a password");
        }
        if (!acquired) {
            throw new PierException.Unavailable("too many password checks in progress; try again shortly");
        }
        try {
            return work.get();
        } finally {
            slots.release();
        }
    }
}
