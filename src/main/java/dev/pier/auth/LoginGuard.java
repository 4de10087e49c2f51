package dev.pier.auth;

import dev.pier.crypto.Hashing;
import dev.pier.errors.PierException;
import dev.pier.users.UserService;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;

/**
 * Brute-force limits for logins and password checks (SPEC §4), kept in the database so a restart does
 * not reset them. Two independent buckets, never one global one:
 * <ul>
 *   <li>per username: after {@value #USER_FREE_FAILURES} consecutive failures the name is refused for
 *       60 s, doubling with each further failure up to 15 minutes;</li>
 *   <li>per client address: {@value #ADDR_MAX_FAILURES} failures within 10 minutes refuse the address
 *       for 10 minutes.</li>
 * </ul>
 *
 * <p>An attempt is <em>admitted</em> before any credential is looked at, by one conditional UPDATE per
 * bucket that also reserves it (counts it in flight): the check and the count cannot be separated by
 * parallel attempts, so 200 parallel wrong codes for one user evaluate at most
 * {@value #USER_FREE_FAILURES}. Every later statement is a single UPDATE too, so no row is ever read
 * and then written (no {@code SELECT … FOR UPDATE}, which SQLite lacks).
 *
 * <p>The username bucket counts code failures and password failures apart: failures of either factor
 * count toward the same lock (their sum), and a success clears only the count of the factors it
 * proved, so knowing the password never resets the count of wrong TOTP codes. Thread-safe.
 */
public final class LoginGuard {
    static final int USER_FREE_FAILURES = 5;
    static final Duration USER_FIRST_LOCK = Duration.ofSeconds(60);
    static final Duration USER_MAX_LOCK = Duration.ofMinutes(15);
    static final int ADDR_MAX_FAILURES = 30;
    static final Duration ADDR_WINDOW = Duration.ofMinutes(10);
    static final Duration ADDR_LOCK = Duration.ofMinutes(10);
    /** A reservation older than this belongs to a process that died mid-attempt: it no longer counts. */
    static final Duration STALE_RESERVATION = Duration.ofMinutes(1);

    private static final Pattern PLAIN_KEY = Pattern.compile("[\\x21-\\x7e]{0,128}");

    /** Which factor failed, or which factors a success proved. */
    public enum Factor {
        CODE,
        PASSWORD
    }

    private final Jdbi jdbi;
    private final Clock clock;

    public LoginGuard(Jdbi jdbi, Clock clock) {
        this.jdbi = jdbi;
        this.clock = clock;
    }

    /**
     * An admitted attempt. Exactly one of {@link #failed}, {@link #succeeded} or {@link #close} ends it
     * (close after either is a no-op), so a reservation is never left behind by an exception.
     */
    public final class Attempt implements AutoCloseable {
        private final String user;
        private final String addr;
        private boolean done;

        private Attempt(String user, String addr) {
            this.user = user;
            this.addr = addr;
        }

        /** Counts one failure of {@code factor} in both buckets, and locks them when they reach their limits. */
        public void failed(Factor factor) {
            if (done) {
                return;
            }
            done = true;
            Instant now = now();
            jdbi.useTransaction(h -> {
                countUserFailure(h, user, factor, now);
                countAddrFailure(h, addr, now);
            });
        }

        /** Clears the failure counts of the factors this success proved (and only those). */
        public void succeeded(boolean code, boolean password) {
            if (done) {
                return;
            }
            done = true;
            jdbi.useTransaction(h -> {
                h.createUpdate("""
                                UPDATE login_failures SET
                                    failures = CASE WHEN :code THEN 0 ELSE failures END,
                                    password_failures = CASE WHEN :password THEN 0 ELSE password_failures END,
                                    in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 ELSE 0 END
                                WHERE kind = 'user' AND subject = :s""")
                        .bind("code", code)
                        .bind("password", password)
                        .bind("s", user)
                        .execute();
                release(h, "addr", addr);
            });
        }

        /** Gives the reservation back without counting anything (the attempt was not judged). */
        @Override
        public void close() {
            if (done) {
                return;
            }
            done = true;
            jdbi.useTransaction(h -> {
                release(h, "user", user);
                release(h, "addr", addr);
            });
        }
    }

    /**
     * Admits one attempt for {@code username} from {@code clientAddr}, or refuses it.
     *
     * @throws PierException.Throttled if either bucket is locked, or already has as many attempts in
     *                                 flight as it may still fail
     */
    public Attempt admit(String username, String clientAddr) {
        String user = userKey(username);
        String addr = addrKey(clientAddr);
        Instant now = now();
        if (!reserve("user", user, now)) {
            throw new PierException.Throttled(retryAfter("user", user, now));
        }
        boolean addrOk;
        try {
            addrOk = reserve("addr", addr, now);
        } catch (RuntimeException e) {
            jdbi.useHandle(h -> release(h, "user", user));
            throw e;
        }
        if (!addrOk) {
            jdbi.useHandle(h -> release(h, "user", user));
            throw new PierException.Throttled(retryAfter("addr", addr, now));
        }
        return new Attempt(user, addr);
    }

    /**
     * Admits or refuses in the database (so every process shares the decision), one attempt per bucket at a
     * time within this process: a burst of attempts for one name then waits here, in memory, instead of
     * holding every pooled connection on the same row's lock while the rest of the server waits for one.
     */
    private boolean reserve(String kind, String subject, Instant now) {
        ReentrantLock stripe = STRIPES[Math.floorMod((kind + ':' + subject).hashCode(), STRIPES.length)];
        stripe.lock();
        try {
            return reserveInDatabase(kind, subject, now);
        } finally {
            stripe.unlock();
        }
    }

    private static final ReentrantLock[] STRIPES = stripes(64);

    private static ReentrantLock[] stripes(int n) {
        ReentrantLock[] locks = new ReentrantLock[n];
        for (int i = 0; i < n; i++) {
            locks[i] = new ReentrantLock();
        }
        return locks;
    }

    /** The conditional UPDATE that admits and reserves in one step; inserts the bucket on first use. */
    private boolean reserveInDatabase(String kind, String subject, Instant now) {
        Instant stale = now.minus(STALE_RESERVATION);
        for (int attempt = 0; ; attempt++) {
            int updated = jdbi.withHandle(h -> h.createUpdate("""
                            UPDATE login_failures SET
                                in_flight = CASE WHEN reserved_at IS NULL OR reserved_at < :stale THEN 1
                                                 ELSE in_flight + 1 END,
                                reserved_at = :now
                            WHERE kind = :k AND subject = :s
                              AND (locked_until IS NULL OR locked_until <= :now)
                              AND (""" + (kind.equals("user") ? USER_ROOM : ADDR_ROOM) + ")")
                    .bind("k", kind)
                    .bind("s", subject)
                    .bind("now", now)
                    .bind("stale", stale)
                    .bind("free", kind.equals("user") ? USER_FREE_FAILURES : ADDR_MAX_FAILURES)
                    .bind("windowStart", now.minus(ADDR_WINDOW))
                    .execute());
            if (updated == 1) {
                return true;
            }
            boolean exists = jdbi.withHandle(
                            h -> h.createQuery("SELECT COUNT(*) FROM login_failures WHERE kind = :k AND subject = :s")
                                    .bind("k", kind)
                                    .bind("s", subject)
                                    .mapTo(Integer.class)
                                    .one())
                    > 0;
            if (exists) {
                return false;
            }
            try {
                jdbi.useHandle(h -> h.createUpdate("""
                                INSERT INTO login_failures (kind, subject, failures, password_failures, window_start,
                                                            locked_until, in_flight, reserved_at)
                                VALUES (:k, :s, 0, 0, :now, NULL, 1, :now)""")
                        .bind("k", kind)
                        .bind("s", subject)
                        .bind("now", now)
                        .execute());
                return true;
            } catch (UnableToExecuteStatementException e) {
                // a parallel first attempt inserted the bucket: be admitted (or not) by the UPDATE
                if (attempt >= 3) {
                    throw e;
                }
            }
        }
    }

    /**
     * Room in a username bucket: fewer than {@value #USER_FREE_FAILURES} failures and reservations
     * together; once past them (and past the lock), one attempt at a time.
     */
    private static final String USER_ROOM = """
            failures + password_failures
                + CASE WHEN reserved_at IS NULL OR reserved_at < :stale THEN 0 ELSE in_flight END < :free
            OR (failures + password_failures >= :free
                AND (in_flight = 0 OR reserved_at IS NULL OR reserved_at < :stale))""";

    /** Room in an address bucket: failures within the window and reservations stay below the limit. */
    private static final String ADDR_ROOM = """
            CASE WHEN window_start < :windowStart THEN 0 ELSE failures END
                + CASE WHEN reserved_at IS NULL OR reserved_at < :stale THEN 0 ELSE in_flight END < :free""";

    private void countUserFailure(Handle h, String subject, Factor factor, Instant now) {
        // every right-hand side sees the row as it was: one statement counts, releases and locks
        h.createUpdate("""
                        UPDATE login_failures SET
                            failures = failures + :code,
                            password_failures = password_failures + :password,
                            in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 ELSE 0 END,
                            locked_until = CASE
                                WHEN failures + password_failures + 1 < :free THEN locked_until
                                WHEN failures + password_failures + 1 = :free THEN :lock0
                                WHEN failures + password_failures + 1 = :free + 1 THEN :lock1
                                WHEN failures + password_failures + 1 = :free + 2 THEN :lock2
                                WHEN failures + password_failures + 1 = :free + 3 THEN :lock3
                                ELSE :lockMax END
                        WHERE kind = 'user' AND subject = :s""")
                .bind("code", factor == Factor.CODE ? 1 : 0)
                .bind("password", factor == Factor.PASSWORD ? 1 : 0)
                .bind("free", USER_FREE_FAILURES)
                .bind("lock0", now.plus(userLock(0)))
                .bind("lock1", now.plus(userLock(1)))
                .bind("lock2", now.plus(userLock(2)))
                .bind("lock3", now.plus(userLock(3)))
                .bind("lockMax", now.plus(USER_MAX_LOCK))
                .bind("s", subject)
                .execute();
    }

    /** 60 s, doubled {@code doublings} times, at most 15 minutes. */
    static Duration userLock(int doublings) {
        Duration lock = USER_FIRST_LOCK.multipliedBy(1L << Math.min(doublings, 20));
        return lock.compareTo(USER_MAX_LOCK) > 0 ? USER_MAX_LOCK : lock;
    }

    private void countAddrFailure(Handle h, String subject, Instant now) {
        Instant windowStart = now.minus(ADDR_WINDOW);
        h.createUpdate("""
                        UPDATE login_failures SET
                            failures = CASE WHEN window_start < :windowStart THEN 1 ELSE failures + 1 END,
                            window_start = CASE WHEN window_start < :windowStart THEN :now ELSE window_start END,
                            in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 ELSE 0 END,
                            locked_until = CASE
                                WHEN window_start >= :windowStart AND failures + 1 >= :max THEN :lock
                                ELSE locked_until END
                        WHERE kind = 'addr' AND subject = :s""")
                .bind("windowStart", windowStart)
                .bind("now", now)
                .bind("max", ADDR_MAX_FAILURES)
                .bind("lock", now.plus(ADDR_LOCK))
                .bind("s", subject)
                .execute();
    }

    private static void release(Handle h, String kind, String subject) {
        h.createUpdate("""
                        UPDATE login_failures SET in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 ELSE 0 END
                        WHERE kind = :k AND subject = :s""").bind("k", kind).bind("s", subject).execute();
    }

    /** Seconds until a refused bucket may be tried again: its lock, or a moment while others are judged. */
    private long retryAfter(String kind, String subject, Instant now) {
        Optional<Instant> until = jdbi.withHandle(
                h -> h.createQuery("SELECT locked_until FROM login_failures WHERE kind = :k AND subject = :s")
                        .bind("k", kind)
                        .bind("s", subject)
                        .mapTo(Instant.class)
                        .findOne());
        return until.filter(u -> u.isAfter(now))
                .map(u -> Math.max(1, (Duration.between(now, u).toMillis() + 999) / 1000))
                .orElse(1L);
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }

    /** The bucket of a name: the same normalization as the user lookup, so no spelling gets its own bucket. */
    static String userKey(String username) {
        String u = username == null ? "" : UserService.key(username.strip());
        // Any other name (control characters, NUL, over-long) is kept by its digest: PostgreSQL refuses a
        // NUL in text, the column holds 128 characters, and two long names must not share a bucket.
        return PLAIN_KEY.matcher(u).matches() ? u : "#" + Hashing.sha256Hex(u);
    }

    private static String addrKey(String clientAddr) {
        String a = clientAddr == null ? "" : clientAddr;
        return PLAIN_KEY.matcher(a).matches() ? a : "#" + Hashing.sha256Hex(a);
    }
}
