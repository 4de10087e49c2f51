package dev.pier.instances;

import dev.pier.db.ChangeFeed;
import dev.pier.db.Topic;
import dev.pier.errors.PierException;
import org.jdbi.v3.core.Jdbi;

import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * The instance records and their events: what the instance service, placement and the reconciler read
 * and write, one statement per call. Every write of a record signals the change in its own transaction
 * ({@link ChangeFeed#bump}), so that every process's list follows, whichever process wrote; {@link #list()}
 * is served from memory and dropped after every change. Thread-safe.
 */
public final class InstanceStore {
    /** The longest {@code last_error} and event detail kept (the columns' width). */
    static final int MAX_TEXT = 1024;

    private final Jdbi jdbi;
    private final Clock clock;
    private volatile List<Instance> cached;

    public InstanceStore(Jdbi jdbi, ChangeFeed changes, Clock clock) {
        this.jdbi = jdbi;
        this.clock = clock;
        changes.onChange(Topic.INSTANCES, this::invalidate);
    }

    /** Every instance, oldest first, from memory (refreshed after any change). */
    List<Instance> list() {
        List<Instance> l = cached;
        if (l == null) {
            l = jdbi.withHandle(h -> h.attach(InstanceDao.class).listAll().stream()
                    .map(InstanceRow::toInstance)
                    .toList());
            cached = l;
        }
        return l;
    }

    /** The records of one node, read now (not from memory). */
    List<Instance> listByNode(UUID nodeId) {
        return jdbi.withHandle(h -> h.attach(InstanceDao.class).listByNode(nodeId).stream()
                .map(InstanceRow::toInstance)
                .toList());
    }

    Optional<Instance> find(UUID id) {
        return jdbi.withHandle(h -> h.attach(InstanceDao.class).findById(id).map(InstanceRow::toInstance));
    }

    Instance require(UUID id) {
        return find(id).orElseThrow(() -> new PierException.NotFound("instance " + id + " not found"));
    }

    Optional<Instance> findByName(String name) {
        return jdbi.withHandle(h -> h.attach(InstanceDao.class).findByName(name).map(InstanceRow::toInstance));
    }

    void setObserved(UUID id, ObservedState state, String error) {
        write(dao -> dao.setObserved(id, state.column(), state.condition(), clip(error), now()));
    }

    /** A user's decision; also ends any back-off (the user asked for this state now). */
    void setDesired(UUID id, DesiredState desired) {
        write(dao -> dao.setDesired(id, desired.wire(), now()));
    }

    void setSuspended(UUID id, boolean suspended, DesiredState desired) {
        write(dao -> dao.setSuspended(id, suspended, desired.wire(), now()));
    }

    void setContainer(UUID id, String containerId) {
        write(dao -> dao.setContainer(id, containerId, now()));
    }

    void reinstalled(UUID id, UUID imageId, String imageRef, List<String> command, String dataPath) {
        write(dao -> dao.reinstalled(id, imageId, imageRef, command, dataPath, now()));
    }

    void setDiskOver(UUID id, boolean over) {
        write(dao -> dao.setDiskOver(id, over, now()));
    }

    void markDeleting(UUID id) {
        write(dao -> dao.markDeleting(id, now()));
    }

    void delete(UUID id) {
        write(dao -> dao.delete(id));
    }

    /** The container died after a run; the reconciler tries again at {@code next}. */
    void crashed(UUID id, ObservedState shown, int exitCode, int crashes, Instant next) {
        write(dao -> dao.crashed(id, shown.column(), shown.condition(), exitCode, crashes, next, now()));
    }

    /** The container runs after a start: nothing scheduled, no start failure. */
    void started(UUID id) {
        write(dao -> dao.started(id, now()));
    }

    /** The engine refused to start the container for the {@code failures}-th time in a row. */
    void startFailed(UUID id, int failures, Instant next, String error) {
        write(dao -> dao.startFailed(id, failures, next, clip(error), now()));
    }

    /** The container ran long enough: a later death is a new case, not the next step of a loop. */
    void resetCrashes(UUID id) {
        write(dao -> dao.resetCrashes(id, now()));
    }

    /** Records what happened to an instance that nobody asked for (instance or node may be null). */
    void event(UUID instanceId, UUID nodeId, String kind, String detail) {
        jdbi.useHandle(h -> h.attach(InstanceDao.class).event(instanceId, nodeId, now(), kind, clip(detail)));
    }

    /**
     * Applies the events' retention: drops those older than {@code before}, and all but the newest
     * {@code keepPerInstance} of each instance (and of the events about no instance). Returns how many went.
     */
    int pruneEvents(Instant before, int keepPerInstance) {
        return jdbi.withHandle(h -> {
            InstanceDao dao = h.attach(InstanceDao.class);
            int n = dao.deleteEventsBefore(before);
            for (UUID id : dao.instancesWithMoreEventsThan(keepPerInstance)) {
                Optional<Long> cut = dao.firstEventBeyond(id, keepPerInstance);
                if (cut.isPresent()) {
                    n += dao.deleteEventsUpTo(id, cut.get());
                }
            }
            Optional<Long> cut = dao.firstUnattachedEventBeyond(keepPerInstance);
            if (cut.isPresent()) {
                n += dao.deleteUnattachedEventsUpTo(cut.get());
            }
            return n;
        });
    }

    /** Runs {@code work} on a DAO in one transaction that also signals the change (placement's check and insert). */
    <T> T inTransaction(java.util.function.Function<InstanceDao, T> work) {
        try {
            return jdbi.inTransaction(h -> {
                T result = work.apply(h.attach(InstanceDao.class));
                ChangeFeed.bump(h, Topic.INSTANCES);
                return result;
            });
        } finally {
            invalidate();
        }
    }

    Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }

    void invalidate() {
        cached = null;
    }

    private void write(Consumer<InstanceDao> change) {
        jdbi.useTransaction(h -> {
            change.accept(h.attach(InstanceDao.class));
            ChangeFeed.bump(h, Topic.INSTANCES);
        });
        invalidate();
    }

    private static String clip(String s) {
        return s == null || s.length() <= MAX_TEXT ? s : s.substring(0, MAX_TEXT);
    }
}
