package dev.pier.auth;

import dev.pier.crypto.Hashing;
import dev.pier.db.Columns;
import dev.pier.errors.PierException;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Brute-force limits for logins and password checks (SPEC §4), kept in the database so a restart does
 * not reset them. Two independent buckets, never one global one:
 * <ul>
 *   <li>per username: after {@value #USER_FREE_FAILURES} consecutive failures the name is refused for
 *       60 s, doubling with each further failure up to 15 minutes; a success resets it;</li>
 *   <li>per client address: {@value #ADDR_MAX_FAILURES} failures within 10 minutes refuse the address
 *       for 10 minutes.</li>
 * </ul>
 * Thread-safe; concurrent failures on one bucket are serialized by a row lock.
 */
public final class LoginGuard {
    static final int USER_FREE_FAILURES = 5;
    static final Duration USER_FIRST_LOCK = Duration.ofSeconds(60);
    static final Duration USER_MAX_LOCK = Duration.ofMinutes(15);
    static final int ADDR_MAX_FAILURES = 30;
    static final Duration ADDR_WINDOW = Duration.ofMinutes(10);
    static final Duration ADDR_LOCK = Duration.ofMinutes(10);
    private static final Pattern PLAIN_KEY = Pattern.compile("[\\x21-\\x7e]{0,128}");

    private final Jdbi jdbi;
    private final Clock clock;

    public LoginGuard(Jdbi jdbi, Clock clock) {
        this.jdbi = jdbi;
        this.clock = clock;
    }

    private record Bucket(int failures, Instant windowStart, Instant lockedUntil) {
    }

    /** @throws PierException.Throttled if either the username or the address is locked now */
    public void check(String username, String clientAddr) {
        Instant now = clock.instant();
        long wait = Math.max(remaining("user", userKey(username), now), remaining("addr", clientAddr, now));
        if (wait > 0) {
            throw new PierException.Throttled(wait);
        }
    }

    public void recordFailure(String username, String clientAddr) {
        update("user", userKey(username), this::nextUserBucket);
        update("addr", clientAddr, this::nextAddrBucket);
    }

    public void recordSuccess(String username) {
        jdbi.useHandle(h -> h.createUpdate("DELETE FROM login_failures WHERE kind = 'user' AND subject = :s")
                .bind("s", userKey(username)).execute());
    }

    private long remaining(String kind, String subject, Instant now) {
        Optional<Instant> until = jdbi.withHandle(h -> h.createQuery(
                        "SELECT locked_until FROM login_failures WHERE kind = :k AND subject = :s")
                .bind("k", kind).bind("s", subject).mapTo(Instant.class).findOne());
        return until.filter(u -> u.isAfter(now))
                .map(u -> Math.max(1, (Duration.between(now, u).toMillis() + 999) / 1000))
                .orElse(0L);
    }

    private Bucket nextUserBucket(Bucket old, Instant now) {
        int failures = old == null ? 1 : old.failures() + 1;
        Instant locked = null;
        if (failures >= USER_FREE_FAILURES) {
            int doublings = Math.min(failures - USER_FREE_FAILURES, 20);
            Duration lock = USER_FIRST_LOCK.multipliedBy(1L << doublings);
            locked = now.plus(lock.compareTo(USER_MAX_LOCK) > 0 ? USER_MAX_LOCK : lock);
        }
        return new Bucket(failures, old == null ? now : old.windowStart(), locked);
    }

    private Bucket nextAddrBucket(Bucket old, Instant now) {
        boolean fresh = old == null || old.windowStart().plus(ADDR_WINDOW).isBefore(now);
        int failures = fresh ? 1 : old.failures() + 1;
        Instant windowStart = fresh ? now : old.windowStart();
        Instant locked = failures >= ADDR_MAX_FAILURES ? now.plus(ADDR_LOCK)
                : (old == null ? null : old.lockedUntil());
        return new Bucket(failures, windowStart, locked);
    }

    private interface Step {
        Bucket next(Bucket old, Instant now);
    }

    private void update(String kind, String subject, Step step) {
        for (int attempt = 0; ; attempt++) {
            try {
                jdbi.useTransaction(h -> apply(h, kind, subject, step));
                return;
            } catch (UnableToExecuteStatementException e) {
                // Two first failures raced to insert the same bucket; the loser retries as an update.
                if (attempt >= 3) {
                    throw e;
                }
            }
        }
    }

    private void apply(Handle h, String kind, String subject, Step step) {
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        Optional<Bucket> old = h.createQuery("""
                        SELECT failures, window_start, locked_until FROM login_failures
                        WHERE kind = :k AND subject = :s""")
                .bind("k", kind).bind("s", subject)
                .map((rs, ctx) -> new Bucket(rs.getInt(1), Columns.instant(rs, 2, ctx), Columns.instant(rs, 3, ctx)))
                .findOne();
        Bucket next = step.next(old.orElse(null), now);
        if (old.isPresent()) {
            h.createUpdate("""
                            UPDATE login_failures SET failures = :f, window_start = :w, locked_until = :l
                            WHERE kind = :k AND subject = :s""")
                    .bind("f", next.failures()).bind("w", next.windowStart()).bind("l", next.lockedUntil())
                    .bind("k", kind).bind("s", subject).execute();
        } else {
            h.createUpdate("""
                            INSERT INTO login_failures (kind, subject, failures, window_start, locked_until)
                            VALUES (:k, :s, :f, :w, :l)""")
                    .bind("f", next.failures()).bind("w", next.windowStart()).bind("l", next.lockedUntil())
                    .bind("k", kind).bind("s", subject).execute();
        }
    }

    private static String userKey(String username) {
        String u = username == null ? "" : username.trim().toLowerCase(Locale.ROOT);
        // Any other name (control characters, NUL, over-long) is kept by its digest: PostgreSQL refuses a
        // NUL in text, the column holds 128 characters, and two long names must not share a bucket.
        return PLAIN_KEY.matcher(u).matches() ? u : "#" + Hashing.sha256Hex(u);
    }
}
