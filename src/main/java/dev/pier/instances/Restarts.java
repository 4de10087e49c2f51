package dev.pier.instances;

import java.time.Instant;
import java.util.Optional;

/**
 * The reconciler's restart bookkeeping for one instance (see {@link Backoff}). Reset by every user action
 * that sets the desired state.
 *
 * @param crashes       deaths in a row, each after less than {@link Backoff#RESET_AFTER} of running
 * @param startFailures starts in a row that the engine refused
 * @param lastExitCode  the exit code of the container's last run, once it has ended
 * @param nextAttemptAt when the reconciler tries again; empty when nothing is scheduled
 */
public record Restarts(
        int crashes, int startFailures, Optional<Integer> lastExitCode, Optional<Instant> nextAttemptAt) {
    public static final Restarts NONE = new Restarts(0, 0, Optional.empty(), Optional.empty());

    /** Whether an attempt is scheduled after {@code now}. */
    boolean waiting(Instant now) {
        return nextAttemptAt.filter(now::isBefore).isPresent();
    }
}
