package dev.pier.instances;

import dev.pier.errors.PierException;
import dev.pier.errors.Reason;

import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * Serializes operations on one instance. A user action that finds another user action in progress is
 * refused with 409 rather than queued (the caller sees the conflict and retries); one that finds the
 * reconciler at work on the instance (handling the events of the deploy that just made it, say) waits for
 * it, up to {@link #RECONCILER_WAIT}: the reconciler's housekeeping must not make user actions fail. The
 * reconciler skips a busy instance and comes back on its next pass.
 */
public final class InstanceLocks {
    /** How long a user action waits for the reconciler to be done with an instance. */
    static final Duration RECONCILER_WAIT = Duration.ofSeconds(15);

    private static final class Slot {
        final ReentrantLock lock = new ReentrantLock();
        /** Whether the holder is the reconciler. */
        volatile boolean reconciling;
    }

    private final Map<UUID, Slot> slots = new ConcurrentHashMap<>();

    <T> T exclusive(UUID id, Supplier<T> work) {
        Slot slot = slots.computeIfAbsent(id, k -> new Slot());
        if (!slot.lock.tryLock() && !(slot.reconciling && awaitReconciler(slot))) {
            throw new PierException.Conflict(
                    Reason.CONFLICT, "another operation on this instance is in progress; try again");
        }
        try {
            return work.get();
        } finally {
            slot.lock.unlock();
        }
    }

    private static boolean awaitReconciler(Slot slot) {
        try {
            return slot.lock.tryLock(RECONCILER_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** For the reconciler: runs {@code work} if the instance is free; returns false without running it otherwise. */
    boolean ifFree(UUID id, Runnable work) {
        Slot slot = slots.computeIfAbsent(id, k -> new Slot());
        if (!slot.lock.tryLock()) {
            return false;
        }
        slot.reconciling = true;
        try {
            work.run();
            return true;
        } finally {
            slot.reconciling = false;
            slot.lock.unlock();
        }
    }

    void forget(UUID id) {
        slots.remove(id);
    }
}
