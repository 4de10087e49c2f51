package dev.pier.instances;

import dev.pier.errors.PierException;
import dev.pier.errors.Reason;

import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * Serializes operations on one instance. A user action that finds the instance busy is refused with
 * 409 rather than queued (the caller sees the conflict and retries); the reconciler skips a busy
 * instance and comes back on its next pass.
 */
final class InstanceLocks {
    private final Map<UUID, ReentrantLock> locks = new ConcurrentHashMap<>();

    <T> T exclusive(UUID id, Supplier<T> work) {
        ReentrantLock lock = locks.computeIfAbsent(id, k -> new ReentrantLock());
        if (!lock.tryLock()) {
            throw new PierException.Conflict(Reason.CONFLICT, "another operation on this instance is in progress; try again");
        }
        try {
            return work.get();
        } finally {
            lock.unlock();
        }
    }

    /** Runs {@code work} if the instance is free; returns false without running it otherwise. */
    boolean ifFree(UUID id, Runnable work) {
        ReentrantLock lock = locks.computeIfAbsent(id, k -> new ReentrantLock());
        if (!lock.tryLock()) {
            return false;
        }
        try {
            work.run();
            return true;
        } finally {
            lock.unlock();
        }
    }

    void forget(UUID id) {
        locks.remove(id);
    }
}
