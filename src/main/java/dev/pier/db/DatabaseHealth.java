package dev.pier.db;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Tells a database that is away or full from a bug, and keeps the log to one line per outage: the first
 * failure of an outage is logged (with its cause), later ones are counted, and the first success after
 * it logs how long it lasted and how many failures it cost. Requests that fail this way are answered
 * 503 (away, busy) or 507 (full) with {@code Retry-After}, never 500. Thread-safe.
 */
public final class DatabaseHealth {
    private static final Logger log = LoggerFactory.getLogger("pier.database");

    /** Why the store could not do what was asked. */
    public enum Failure {
        /** unreachable, restarting, or no connection free in time: try again shortly */
        UNAVAILABLE,
        /** another writer held the lock too long (SQLite): try again shortly */
        BUSY,
        /** no space left for the write; reads still work */
        FULL
    }

    private record Outage(Instant since, Failure kind, long failures) {}

    private final Clock clock;
    private final AtomicReference<Outage> outage = new AtomicReference<>();

    public DatabaseHealth(Clock clock) {
        this.clock = clock;
    }

    /** What kind of store failure {@code e} is, if it is one. */
    public static Optional<Failure> classify(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLTransientConnectionException) {
                return Optional.of(Failure.UNAVAILABLE);
            }
            if (t instanceof SQLiteException s) {
                SQLiteErrorCode code = s.getResultCode();
                if (code == SQLiteErrorCode.SQLITE_FULL
                        || code == SQLiteErrorCode.SQLITE_IOERR_WRITE
                        || code == SQLiteErrorCode.SQLITE_IOERR_FSYNC) {
                    return Optional.of(Failure.FULL);
                }
                if (code == SQLiteErrorCode.SQLITE_BUSY
                        || code == SQLiteErrorCode.SQLITE_LOCKED
                        || code.name().startsWith("SQLITE_BUSY")) {
                    return Optional.of(Failure.BUSY);
                }
                if (code.name().startsWith("SQLITE_IOERR") || code == SQLiteErrorCode.SQLITE_CANTOPEN) {
                    return Optional.of(Failure.UNAVAILABLE);
                }
            }
            if (t instanceof SQLException s && s.getSQLState() != null) {
                String state = s.getSQLState();
                if (state.equals("53100")) { // PostgreSQL disk_full
                    return Optional.of(Failure.FULL);
                }
                // 08: connection exceptions; 57P01-03: the server is shutting down or cannot connect now;
                // 53300: too many connections
                if (state.startsWith("08") || state.startsWith("57P") || state.equals("53300")) {
                    return Optional.of(Failure.UNAVAILABLE);
                }
            }
        }
        return Optional.empty();
    }

    /** Records a failure; logs it when it begins an outage. */
    public void failed(Throwable e) {
        Failure kind = classify(e).orElse(Failure.UNAVAILABLE);
        Outage now = new Outage(clock.instant(), kind, 1);
        Outage before = outage.getAndUpdate(o -> o == null ? now : new Outage(o.since(), o.kind(), o.failures() + 1));
        if (before == null) {
            log.warn("database {}: {}; answering 503/507 until it recovers", describe(kind), rootMessage(e));
        }
    }

    /** Records a success; logs the end of an outage. */
    public void succeeded() {
        Outage o = outage.getAndSet(null);
        if (o != null) {
            log.info(
                    "database is back after {} ms ({} failed operation(s) while it was {})",
                    Duration.between(o.since(), clock.instant()).toMillis(),
                    o.failures(),
                    describe(o.kind()));
        }
    }

    /** Whether an outage is going on (for /readyz). */
    public boolean degraded() {
        return outage.get() != null;
    }

    private static String describe(Failure kind) {
        return switch (kind) {
            case UNAVAILABLE -> "unavailable";
            case BUSY -> "busy";
            case FULL -> "full";
        };
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root.getMessage();
        return root.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }
}
