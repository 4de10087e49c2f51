package dev.pier.auth;

import java.time.Duration;

/**
 * The least time a failed login or password check takes. Unknown and known names already do the same
 * work (the same password hash, the same decryption and TOTP checks), but a known name's row is also
 * read and mapped, which on a code-only login is a measurable part (about 0.5 ms of 4 ms here). Every
 * failure is answered no sooner than {@link #FLOOR} after it began, which hides that and any other
 * small difference; successes are not slowed (SPEC §4).
 */
final class FailureFloor {
    static final Duration FLOOR = Duration.ofMillis(25);

    private FailureFloor() {}

    /** Waits out the rest of the floor for an attempt that began at {@code startNanos} ({@link System#nanoTime}). */
    static void await(long startNanos) {
        long left = FLOOR.toNanos() - (System.nanoTime() - startNanos);
        if (left > 0) {
            try {
                Thread.sleep(Duration.ofNanos(left));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
