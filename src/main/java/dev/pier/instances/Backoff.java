package dev.pier.instances;

import java.time.Duration;

/**
 * How the reconciler spaces out its attempts to bring back a container that keeps dying or that the
 * engine refuses to start: the first retry at once (a container killed once just comes back), the next
 * after {@link #FIRST}, each further one after twice as long as the one before, never more than
 * {@link #CAP}. A container that ran for {@link #RESET_AFTER} before dying is a new case, not the next step
 * of a loop. A container that exits at once is so started about six times in its first minute, then
 * every five minutes.
 */
final class Backoff {
    static final Duration FIRST = Duration.ofSeconds(1);
    static final Duration CAP = Duration.ofMinutes(5);
    /** A run this long ends a crash loop: the next death starts the back-off from {@link #FIRST} again. */
    static final Duration RESET_AFTER = Duration.ofMinutes(10);
    /** Consecutive quick deaths from which an instance shows {@link ObservedState#CRASHLOOP} (one is "exited"). */
    static final int CRASHLOOP_AFTER = 2;
    /**
     * Consecutive refused starts of one container after which it is removed and created again: an engine
     * that lost its runtime state ("task already exists" after a kill -9) never starts it otherwise.
     */
    static final int RECREATE_AFTER = 3;

    private Backoff() {}

    /** Deaths in a row after one that ended a run of {@code ran}: a long run starts the count anew. */
    static int crashesAfter(int previous, Duration ran) {
        return ran.compareTo(RESET_AFTER) >= 0 ? 1 : previous + 1;
    }

    /** The wait before the next attempt after {@code failures} failures (deaths or refused starts) in a row. */
    static Duration delay(int failures) {
        if (failures <= 1) {
            return Duration.ZERO;
        }
        // 2^18 s is far beyond the cap: no overflow, whatever the count
        long seconds = FIRST.toSeconds() << Math.min(failures - 2, 18);
        Duration d = Duration.ofSeconds(seconds);
        return d.compareTo(CAP) > 0 ? CAP : d;
    }
}
