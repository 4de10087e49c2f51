package dev.pier.errors;

/**
 * Root of every domain error. Services throw these; each API family maps them to its own error shape
 * in one place. The {@link Reason} lets a family pick the exact code its document uses.
 */
public abstract sealed class PierException extends RuntimeException
        permits PierException.Invalid,
                PierException.NotFound,
                PierException.Conflict,
                PierException.Denied,
                PierException.Unauthenticated,
                PierException.Throttled,
                PierException.Unavailable,
                PierException.Unprocessable,
                PierException.InsufficientStorage {

    private final Reason reason;

    PierException(Reason reason, String message) {
        super(message, null, false, false);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }

    /** Bad input: 400. */
    public static final class Invalid extends PierException {
        public Invalid(Reason reason, String message) {
            super(reason, message);
        }

        public Invalid(String message) {
            this(Reason.INVALID_FIELD, message);
        }
    }

    /** The named thing does not exist (or the caller may not know it does): 404. */
    public static final class NotFound extends PierException {
        public NotFound(Reason reason, String message) {
            super(reason, message);
        }

        public NotFound(String message) {
            this(Reason.NOT_FOUND, message);
        }
    }

    /** The request conflicts with current state: 409. */
    public static final class Conflict extends PierException {
        public Conflict(Reason reason, String message) {
            super(reason, message);
        }
    }

    /** Authenticated, but not allowed: 403. */
    public static final class Denied extends PierException {
        public Denied(Reason reason, String message) {
            super(reason, message);
        }

        public Denied(String message) {
            this(Reason.ACCESS_DENIED, message);
        }
    }

    /** No valid credential: 401. */
    public static final class Unauthenticated extends PierException {
        public Unauthenticated(Reason reason, String message) {
            super(reason, message);
        }
    }

    /** Too many failures: 429 with Retry-After. */
    public static final class Throttled extends PierException {
        private final long retryAfterSeconds;

        public Throttled(long retryAfterSeconds) {
            super(Reason.RATE_LIMITED, "too many failed attempts; retry in " + retryAfterSeconds + " s");
            this.retryAfterSeconds = retryAfterSeconds;
        }

        public long retryAfterSeconds() {
            return retryAfterSeconds;
        }
    }

    /** A dependency (a node, the database) cannot be reached: 503, with {@code Retry-After} when known. */
    public static final class Unavailable extends PierException {
        private final long retryAfterSeconds;

        public Unavailable(String message) {
            this(Reason.UNAVAILABLE, message, 0);
        }

        public Unavailable(Reason reason, String message, long retryAfterSeconds) {
            super(reason, message);
            this.retryAfterSeconds = retryAfterSeconds;
        }

        /** Seconds to wait before trying again; 0 when unknown. */
        public long retryAfterSeconds() {
            return retryAfterSeconds;
        }
    }

    /** Well-formed, but cannot be done as asked (an Idempotency-Key reused for another request): 422. */
    public static final class Unprocessable extends PierException {
        public Unprocessable(Reason reason, String message) {
            super(reason, message);
        }
    }

    /** No space left to record the change: 507, with {@code Retry-After}. Nothing was changed. */
    public static final class InsufficientStorage extends PierException {
        public InsufficientStorage(String message) {
            super(Reason.STORE_FULL, message);
        }
    }
}
