package dev.pier.instances;

import dev.pier.db.DatabaseHealth;
import dev.pier.errors.PierException;
import dev.pier.runtime.ContainerRuntimeException;
import org.slf4j.Logger;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Logs the failures of background tasks without flooding the log: per task, the first failure of a kind
 * (the exception's class and its root cause's) is logged at once, with a stack trace only when it is no
 * failure Pier expects (a database outage, a bug); the same failure again at most once per
 * {@link #REPEAT_EVERY}, with how often it happened since; the task's next success once. A task that
 * fails on every tick of a 100 ms loop for an hour writes about 60 lines. Thread-safe.
 */
final class FailureLog {
    static final Duration REPEAT_EVERY = Duration.ofMinutes(1);

    private final Logger log;
    private final LongSupplier nanos;
    private final Map<String, Failing> failing = new ConcurrentHashMap<>();

    private static final class Failing {
        final String kind;
        final long since;
        long lastLogged;
        long count = 1;
        long countAtLastLog = 1;

        Failing(String kind, long now) {
            this.kind = kind;
            this.since = now;
            this.lastLogged = now;
        }
    }

    FailureLog(Logger log, LongSupplier nanos) {
        this.log = log;
        this.nanos = nanos;
    }

    /** {@code task} failed with {@code error}. */
    void failed(String task, Throwable error) {
        if (DatabaseHealth.classify(error).isPresent()) {
            // the database is away, busy or full: DatabaseHealth says so once per outage for everything
            log.debug("{} failed: the database is unavailable ({})", task, error.toString());
            return;
        }
        long now = nanos.getAsLong();
        String kind = kind(error);
        boolean[] first = {false};
        boolean[] repeat = {false};
        long[] since = {0};
        Failing f = failing.compute(task, (k, prev) -> {
            if (prev == null || !prev.kind.equals(kind)) {
                first[0] = true;
                return new Failing(kind, now);
            }
            prev.count++;
            if (now - prev.lastLogged >= REPEAT_EVERY.toNanos()) {
                repeat[0] = true;
                since[0] = prev.count - prev.countAtLastLog;
                prev.lastLogged = now;
                prev.countAtLastLog = prev.count;
            }
            return prev;
        });
        if (first[0]) {
            if (expected(error)) {
                log.warn("{} failed: {}", task, describe(error));
            } else {
                log.warn("{} failed: {} (repeats are logged once a minute)", task, describe(error), error);
            }
        } else if (repeat[0]) {
            log.warn(
                    "{} still failing ({} more times in the last {} s, {} in all): {}",
                    task,
                    since[0],
                    REPEAT_EVERY.toSeconds(),
                    f.count,
                    describe(error));
        }
    }

    /** {@code task} went through: logs the recovery if it had been failing. */
    void succeeded(String task) {
        Failing f = failing.remove(task);
        if (f != null) {
            log.info(
                    "{} works again after {} failure(s) over {} s",
                    task,
                    f.count,
                    Duration.ofNanos(nanos.getAsLong() - f.since).toSeconds());
        }
    }

    /** Whether {@code task} is failing now. */
    boolean isFailing(String task) {
        return failing.containsKey(task);
    }

    private static String kind(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return t.getClass().getName() + "/" + root.getClass().getName();
    }

    private static boolean expected(Throwable t) {
        return t instanceof ContainerRuntimeException || t instanceof PierException;
    }

    private static String describe(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String msg = t.toString();
        return root == t ? msg : msg + " (cause: " + root + ")";
    }
}
