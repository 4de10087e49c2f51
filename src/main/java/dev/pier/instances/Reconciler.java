package dev.pier.instances;

import dev.pier.nodes.Node;
import dev.pier.nodes.NodeService;
import dev.pier.runtime.ContainerConflictException;
import dev.pier.runtime.ContainerNotFoundException;
import dev.pier.runtime.ContainerRuntime;
import dev.pier.runtime.ContainerRuntimeException;
import dev.pier.runtime.ContainerState;
import dev.pier.runtime.ContainerStatus;
import dev.pier.runtime.ContainerSummary;
import dev.pier.runtime.RuntimeEvent;
import dev.pier.runtime.RuntimeUnavailableException;
import dev.pier.runtime.VolumeSummary;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Converges Docker's observed state onto Pier's desired state, per node: driven by the engine's
 * events (a container died: account for it and schedule its restart) and by a periodic full pass
 * (anything the events missed). One pass lists the node's Pier-labelled containers once and compares
 * them with the node's records:
 * <ul>
 *   <li>a record marked for deletion: remove its container, then the record (finishes a crashed delete);</li>
 *   <li>a record without container: create it (a crashed deploy, or removed behind Pier's back);</li>
 *   <li>a container that died while desired running: restart it after a back-off that doubles while it
 *       keeps dying ({@link Backoff}), showing {@link ObservedState#CRASHLOOP} and its exit code;</li>
 *   <li>a container the engine refuses to start, again and again: remove it and create it anew;</li>
 *   <li>a paused container desired running: unpause it;</li>
 *   <li>a running container desired stopped or suspended: stop it;</li>
 *   <li>a container with Pier's labels and no record: remove it (an orphan).</li>
 * </ul>
 * Busy instances (a user action in progress) are skipped until the next pass.
 *
 * <p>Nothing stops it but {@link #close()}: every periodic and event-driven task catches what it throws,
 * logs it through a {@link FailureLog} (once per kind of failure, then once a minute) and goes on. Each
 * node's last completed pass is kept for {@code /readyz} ({@link #health()}) and {@code /metrics}
 * ({@code pier_reconcile_last_pass_age_seconds}, {@code pier_reconcile_failed_passes_total}). Thread-safe.
 */
public final class Reconciler implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Reconciler.class);
    /** Completed passes may be this many intervals apart before a node's reconciliation counts as stale. */
    static final int STALE_INTERVALS = 3;
    /** Added to the stale limit: a pass that stops a container may wait out its grace period. */
    static final Duration STALE_MARGIN = InstanceService.STOP_GRACE;
    /** When an event finds its instance busy with a user action, how soon it is looked at again. */
    static final Duration BUSY_RETRY = Duration.ofSeconds(1);

    private final InstanceStore store;
    private final InstanceLocks locks;
    private final Containers containers;
    private final NodeService nodes;
    private final Clock clock;
    private final EventRetention retention;
    private final MeterRegistry metrics;
    private final FailureLog failures = new FailureLog(log, System::nanoTime);
    private final Map<UUID, Closeable> subscriptions = new ConcurrentHashMap<>();
    private final Map<UUID, ScheduledFuture<?>> wakeups = new ConcurrentHashMap<>();
    private final ExecutorService work = Executors.newVirtualThreadPerTaskExecutor();
    private final ScheduledThreadPoolExecutor timer;
    private final long createdNanos = System.nanoTime();
    /** Per node: when its last pass completed, and when it last came online (System.nanoTime). */
    private final Map<UUID, Long> completedAt = new ConcurrentHashMap<>();

    private final Map<UUID, Long> onlineAt = new ConcurrentHashMap<>();
    private final Map<UUID, Tracked> tracked = new ConcurrentHashMap<>();
    /** Volumes without an owner ("node id/volume name"), and since when (System.nanoTime). */
    private final Map<String, Long> orphanSince = new ConcurrentHashMap<>();

    private final Duration volumeGrace;
    private volatile Duration staleAfter;
    private volatile boolean closed;

    /** How long instance events are kept: by age, and by count per instance. */
    public record EventRetention(Duration maxAge, int perInstance) {
        public EventRetention {
            if (maxAge.isNegative() || maxAge.isZero() || perInstance < 1) {
                throw new IllegalArgumentException("event retention needs a positive age and count");
            }
        }
    }

    /** A node's gauges and counter, registered once. */
    private record Tracked(String name, Gauge age, Gauge online, Counter failedPasses) {}

    /**
     * @param clock       times restarts: the containers' real runs, so not a clock a test moves by hand
     * @param volumeGrace how long a volume no instance owns is kept before it is removed
     */
    public Reconciler(
            InstanceStore store,
            InstanceLocks locks,
            Containers containers,
            NodeService nodes,
            Clock clock,
            EventRetention retention,
            Duration volumeGrace,
            MeterRegistry metrics) {
        this.store = store;
        this.locks = locks;
        this.containers = containers;
        this.nodes = nodes;
        this.clock = clock;
        this.retention = retention;
        this.volumeGrace = volumeGrace;
        this.metrics = metrics;
        // no thread until something is scheduled: a CLI process never starts one
        this.timer = new ScheduledThreadPoolExecutor(2, r -> {
            Thread t = new Thread(r, "pier-reconciler");
            t.setDaemon(true);
            return t;
        });
        timer.setRemoveOnCancelPolicy(true);
        nodes.onOnline(n -> {
            onlineAt.put(n.id(), System.nanoTime());
            submit("reconcile pass on node '" + n.name() + "'", () -> {
                subscribe(n);
                pass(n);
            });
        });
    }

    /** Starts the periodic node checks, full passes and the events' retention. */
    public synchronized void start(long nodeCheckMillis, long passMillis) {
        if (staleAfter != null || closed) {
            return;
        }
        staleAfter = Duration.ofMillis(passMillis).multipliedBy(STALE_INTERVALS).plus(STALE_MARGIN);
        timer.scheduleWithFixedDelay(guarded("node check", nodes::checkAll), 0, nodeCheckMillis, TimeUnit.MILLISECONDS);
        timer.scheduleWithFixedDelay(
                guarded("reconcile passes", this::passAll), passMillis, passMillis, TimeUnit.MILLISECONDS);
        long pruneMillis = Math.max(passMillis, 1000);
        timer.scheduleWithFixedDelay(
                guarded("instance event retention", this::pruneEvents),
                pruneMillis,
                pruneMillis,
                TimeUnit.MILLISECONDS);
    }

    /** One full pass over every online node; one node's failure does not keep the others from theirs. */
    public void passAll() {
        List<Node> all = nodes.list();
        forgetRemoved(all);
        for (Node n : all) {
            track(n);
            if (nodes.isOnline(n)) {
                guarded("reconcile pass on node '" + n.name() + "'", () -> pass(n))
                        .run();
            }
        }
    }

    /**
     * A full pass over one node; returns what it changed (for tests and the bench). It completes (and
     * counts for {@link #health()}) when every record was looked at without an unexpected failure; a
     * failure of one record does not keep the others from being converged.
     */
    public Result pass(Node node) {
        Result result = new Result();
        Tracked t = track(node);
        boolean completed = false;
        try {
            completed = passOnce(node, result);
        } finally {
            if (completed) {
                completedAt.put(node.id(), System.nanoTime());
            } else if (!result.unreachable) {
                t.failedPasses().increment();
            }
        }
        return result;
    }

    private boolean passOnce(Node node, Result result) {
        ContainerRuntime runtime = nodes.runtime(node);
        List<ContainerSummary> listed;
        try {
            // containers of another installation sharing this engine are not ours to judge
            listed = runtime.listManaged().stream().filter(containers::ours).toList();
        } catch (RuntimeUnavailableException e) {
            nodes.reportUnreachable(node, e);
            result.unreachable = true;
            return false;
        }
        List<Instance> records = store.listByNode(node.id());
        Map<UUID, String> recorded = new HashMap<>();
        for (Instance r : records) {
            r.containerId().ifPresent(cid -> recorded.put(r.id(), cid));
        }
        Map<UUID, ContainerSummary> byInstance = new HashMap<>();
        for (ContainerSummary c : listed) {
            c.instanceId().ifPresent(id -> {
                ContainerSummary prev = byInstance.get(id);
                if (prev == null) {
                    byInstance.put(id, c);
                    return;
                }
                // two containers for one instance cannot come from Pier, but never keep a duplicate; keep the one
                // the record names (the listing is newest first: a stray copy would otherwise win)
                ContainerSummary drop = c;
                if (c.id().equals(recorded.get(id))) {
                    byInstance.put(id, c);
                    drop = prev;
                }
                removeQuietly(runtime, drop, "duplicate container of instance " + id, node, id);
                result.removed++;
            });
        }
        Instant now = clock.instant();
        String task = "reconcile pass on node '" + node.name() + "'";
        for (Instance inst : records) {
            ContainerSummary c = byInstance.remove(inst.id());
            try {
                if (settled(inst, c, now)) {
                    // nothing to do by this listing: no lock, no re-read (a pass over a calm node is one listing
                    // and one query); a user action since will do its own work, and the next pass sees it
                    inst.restarts().nextAttemptAt().ifPresent(at -> wakeAt(node, inst.id(), at));
                    continue;
                }
                // converge on the record as it is now, under the lock: the listing above may be seconds old, and a
                // user action since (a stop, a delete) must not be undone by it
                boolean ran = ifFreeAndOpen(
                        inst.id(),
                        () -> store.find(inst.id())
                                .filter(fresh -> fresh.nodeId().equals(node.id()))
                                .ifPresent(fresh -> converge(runtime, node, fresh, Optional.ofNullable(c), result)));
                if (!ran) {
                    result.busy++;
                }
                failures.succeeded(task + " at instance " + inst.name());
            } catch (RuntimeException e) {
                // one record's trouble (a database error, a bug) must not keep the others from converging
                result.failed++;
                failures.failed(task + " at instance " + inst.name(), e);
            }
        }
        for (ContainerSummary orphan : byInstance.values()) {
            if (closed) {
                break;
            }
            UUID id = orphan.instanceId().orElseThrow();
            // a record may have appeared since the listing (a deploy in progress): check before removing
            if (store.find(id).isEmpty()) {
                removeQuietly(runtime, orphan, "orphan container without a record", node, id);
                result.removed++;
            }
        }
        for (ContainerSummary c : listed) {
            if (c.instanceId().isEmpty()) {
                removeQuietly(runtime, c, "Pier-labelled container without a valid instance id", node, null);
                result.removed++;
            }
        }
        try {
            sweepVolumes(runtime, node, result);
        } catch (RuntimeUnavailableException e) {
            nodes.reportUnreachable(node, e);
            result.unreachable = true;
            return false;
        }
        return result.failed == 0;
    }

    /**
     * Removes this installation's volumes that no instance on the node owns, once they have been seen
     * without an owner for the grace period (in this process: a restart starts the wait again). A volume
     * holds someone's data: the wait lets a deploy or a restore that is making one finish, and gives an
     * operator who restored the database from an older copy time to notice before anything is lost. A
     * volume still in use is left for a later pass.
     */
    private void sweepVolumes(ContainerRuntime runtime, Node node, Result result) {
        long now = System.nanoTime();
        Set<String> orphans = new HashSet<>();
        for (VolumeSummary v : runtime.listManagedVolumes()) {
            if (closed) {
                return;
            }
            if (!containers.ours(v)) {
                continue;
            }
            boolean owned = v.instanceId()
                    .flatMap(store::find)
                    .filter(i -> i.nodeId().equals(node.id()))
                    .flatMap(Instance::volume)
                    .filter(v.name()::equals)
                    .isPresent();
            String key = node.id() + "/" + v.name();
            if (owned) {
                orphanSince.remove(key);
                continue;
            }
            orphans.add(key);
            long since = orphanSince.computeIfAbsent(key, k -> now);
            if (now - since < volumeGrace.toNanos()) {
                continue;
            }
            try {
                runtime.removeVolume(v.name());
                orphanSince.remove(key);
                result.volumesRemoved++;
                log.info("removed volume {} on {}: no instance owns it", v.name(), node.name());
                store.event(
                        v.instanceId().orElse(null),
                        node.id(),
                        "orphan_volume_removed",
                        "volume without an instance, unused for " + seconds(volumeGrace) + ": " + v.name());
            } catch (ContainerConflictException inUse) {
                log.info("volume {} on {} has no instance but is in use; left for now", v.name(), node.name());
            }
        }
        String prefix = node.id() + "/";
        orphanSince.keySet().removeIf(k -> k.startsWith(prefix) && !orphans.contains(k));
    }

    /**
     * Runs {@code work} under the instance's lock when the instance is free and this reconciler is not
     * closed. Closing stops the background the way a dead process's stops: a task already running when
     * {@link #close} is called may be past its last interruption point, and it must not act on an instance
     * a user action was in the middle of (a delete that removed the container and had not yet dropped the
     * record, say). The check is made under the lock, so once close returns no instance is changed by this
     * reconciler that was not already being changed.
     */
    private boolean ifFreeAndOpen(UUID id, Runnable work) {
        return locks.ifFree(id, () -> {
            if (!closed) {
                work.run();
            }
        });
    }

    /**
     * Converges one instance now, after an event about one of its containers; skipped if a user
     * action holds it. The container is inspected, not listed: the listing can lag the event.
     */
    public void reconcile(Node node, UUID instanceId, String containerId) {
        if (!nodes.isOnline(node)) {
            return;
        }
        ContainerRuntime runtime = nodes.runtime(node);
        try {
            Optional<ContainerSummary> c = runtime.inspect(containerId)
                    .map(st -> new ContainerSummary(st.id(), st.name(), st.image(), st.status(), st.labels()))
                    .filter(containers::ours);
            Optional<Instance> inst = store.find(instanceId);
            if (inst.isEmpty()) {
                if (c.isPresent()) {
                    removeQuietly(runtime, c.get(), "orphan container without a record", node, instanceId);
                }
                return;
            }
            if (!inst.get().nodeId().equals(node.id())) {
                return;
            }
            boolean ran = ifFreeAndOpen(
                    instanceId,
                    () -> store.find(instanceId).ifPresent(fresh -> {
                        if (fresh.containerId().isPresent()
                                && !fresh.containerId().get().equals(containerId)) {
                            // about another container than the recorded one (a stray copy, or one replaced since):
                            // never re-point the record at it; the full pass removes duplicates
                            return;
                        }
                        converge(runtime, node, fresh, c, new Result());
                    }));
            if (!ran) {
                // a user action (a deploy whose container died at once, say) holds it: look again shortly
                // rather than leave the event to the next full pass
                wakeAt(node, instanceId, clock.instant().plus(BUSY_RETRY));
            }
        } catch (RuntimeUnavailableException e) {
            nodes.reportUnreachable(node, e);
        }
    }

    private void converge(
            ContainerRuntime runtime, Node node, Instance inst, Optional<ContainerSummary> container, Result result) {
        try {
            if (inst.desiredState() == DesiredState.DELETED) {
                if (container.isPresent()) {
                    runtime.remove(container.get().id(), true);
                }
                containers.removeVolume(runtime, inst);
                store.delete(inst.id());
                event(inst, node, "delete_finished", "a delete interrupted earlier was completed");
                result.deleted++;
                return;
            }
            boolean wantRunning = inst.wantsRunning();
            if (container.isEmpty()) {
                String cid = containers.create(runtime, inst);
                boolean hadOne = inst.containerId().isPresent();
                event(
                        inst,
                        node,
                        hadOne ? "recreated" : "created",
                        hadOne
                                ? "container " + inst.containerId().get() + " was missing; created " + cid
                                : "container created by the reconciler after an interrupted deploy: " + cid);
                result.created++;
                if (wantRunning) {
                    startDue(runtime, node, inst, cid, result);
                } else {
                    store.setObserved(inst.id(), ObservedState.STOPPED, null);
                }
                return;
            }
            ContainerSummary c = container.get();
            if (inst.containerId().isEmpty() || !inst.containerId().get().equals(c.id())) {
                store.setContainer(inst.id(), c.id());
            }
            if (wantRunning) {
                switch (c.status()) {
                    case RUNNING, RESTARTING -> running(runtime, inst, c);
                    case PAUSED -> unpause(runtime, node, inst, c.id(), result);
                    case CREATED -> startDue(runtime, node, inst, c.id(), result);
                    case EXITED, DEAD -> died(runtime, node, inst, c.id(), result);
                    case REMOVING, UNKNOWN ->
                        show(
                                inst,
                                c.status() == ContainerStatus.REMOVING
                                        ? ObservedState.DELETING
                                        : ObservedState.UNKNOWN);
                }
            } else if (c.running()
                    || c.status() == ContainerStatus.PAUSED
                    || c.status() == ContainerStatus.RESTARTING) {
                runtime.stop(c.id(), InstanceService.STOP_GRACE);
                store.setObserved(inst.id(), ObservedState.STOPPED, null);
                result.stopped++;
            } else {
                show(inst, observedWhileStopped(c.status()));
            }
        } catch (RuntimeUnavailableException e) {
            nodes.reportUnreachable(node, e);
        } catch (ContainerRuntimeException e) {
            log.warn("reconcile {} on {}: {}", inst.name(), node.name(), e.getMessage());
            store.setObserved(inst.id(), ObservedState.FAILED, e.getMessage());
            event(inst, node, "failed", e.getMessage());
        }
    }

    /** Paused (behind Pier's back) while desired running: shown as paused, and resumed. */
    private void unpause(ContainerRuntime runtime, Node node, Instance inst, String cid, Result result) {
        try {
            runtime.unpause(cid);
        } catch (RuntimeUnavailableException | ContainerNotFoundException e) {
            throw e;
        } catch (ContainerRuntimeException e) {
            // it is paused, not failed: say so, and try again on the next pass
            if (inst.observedState() != ObservedState.PAUSED) {
                store.setObserved(
                        inst.id(), ObservedState.PAUSED, "the engine refused to unpause it: " + e.getMessage());
                event(inst, node, "unpause_failed", e.getMessage());
            }
            return;
        }
        event(inst, node, "unpaused", "container " + cid + " was paused while desired running");
        store.started(inst.id());
        result.unpaused++;
    }

    /** Desired running and running: report it, and end a crash loop once the run has lasted. */
    private void running(ContainerRuntime runtime, Instance inst, ContainerSummary c) {
        if (inst.observedState() != ObservedState.RUNNING
                || inst.restarts().nextAttemptAt().isPresent()) {
            // started by someone else (a user's docker start) while a restart was scheduled: nothing is due now
            store.started(inst.id());
        }
        if (inst.restarts().crashes() > 0) {
            Optional<Instant> started = runtime.inspect(c.id()).flatMap(ContainerState::startedAt);
            if (started.isPresent() && !started.get().plus(Backoff.RESET_AFTER).isAfter(clock.instant())) {
                store.resetCrashes(inst.id());
            }
        }
    }

    /**
     * A container that ran and ended while desired running. A death not yet accounted for (nothing is
     * scheduled) counts towards the crash loop and schedules the restart; once the time comes, the
     * container is started.
     */
    private void died(ContainerRuntime runtime, Node node, Instance inst, String cid, Result result) {
        Restarts r = inst.restarts();
        if (r.nextAttemptAt().isPresent()) {
            startDue(runtime, node, inst, cid, result);
            return;
        }
        Optional<ContainerState> st = runtime.inspect(cid);
        if (st.isEmpty()) {
            return; // gone since it was listed: the next pass creates it anew
        }
        ContainerState s = st.get();
        if (s.status() != ContainerStatus.EXITED && s.status() != ContainerStatus.DEAD) {
            // the listing was older than a start since: nothing died; the next look sees what runs
            return;
        }
        if (s.startedAt().isEmpty()) {
            startDue(runtime, node, inst, cid, result); // never ran: nothing crashed
            return;
        }
        Instant now = clock.instant();
        Duration ran = Duration.between(s.startedAt().get(), s.finishedAt().orElse(now));
        int crashes = Backoff.crashesAfter(r.crashes(), ran);
        Duration delay = Backoff.delay(crashes);
        ObservedState shown = crashes >= Backoff.CRASHLOOP_AFTER ? ObservedState.CRASHLOOP : ObservedState.EXITED;
        store.crashed(inst.id(), shown, s.exitCode(), crashes, now.plus(delay));
        event(
                inst,
                node,
                "crashed",
                "exited with code " + s.exitCode() + (s.oomKilled() ? " (out of memory)" : "")
                        + " after running " + seconds(ran) + "; "
                        + (crashes > 1 ? "death " + crashes + " in a row; " : "")
                        + "next start in " + seconds(delay));
        result.crashed++;
        if (delay.isZero()) {
            attemptStart(runtime, node, inst, cid, result);
        } else {
            wakeAt(node, inst.id(), now.plus(delay));
        }
    }

    /** Starts the container if no back-off is waiting; a refusal counts and, repeated, escalates to a recreate. */
    private void startDue(ContainerRuntime runtime, Node node, Instance inst, String cid, Result result) {
        Optional<Instant> next = inst.restarts().nextAttemptAt();
        if (next.isPresent() && next.get().isAfter(clock.instant())) {
            wakeAt(node, inst.id(), next.get());
            return;
        }
        attemptStart(runtime, node, inst, cid, result);
    }

    private void attemptStart(ContainerRuntime runtime, Node node, Instance inst, String cid, Result result) {
        try {
            runtime.start(cid);
        } catch (RuntimeUnavailableException | ContainerNotFoundException e) {
            throw e;
        } catch (ContainerRuntimeException e) {
            startRefused(runtime, node, inst, cid, e, result);
            return;
        }
        store.started(inst.id());
        event(inst, node, "restarted", "container " + cid + " started");
        result.started++;
    }

    /**
     * The engine refused to start the container. Every {@link Backoff#RECREATE_AFTER}-th refusal in a row
     * removes it and creates it again (an engine killed hard can keep a stale task that refuses every start
     * of that container); the others schedule the next try.
     */
    private void startRefused(
            ContainerRuntime runtime,
            Node node,
            Instance inst,
            String cid,
            ContainerRuntimeException e,
            Result result) {
        int failures = inst.restarts().startFailures() + 1;
        if (failures % Backoff.RECREATE_AFTER == 0) {
            event(
                    inst,
                    node,
                    "recreating",
                    "the engine refused to start container " + cid + " " + failures + " times in a row ("
                            + e.getMessage() + "); removing it and creating it again");
            runtime.remove(cid, true);
            String fresh = containers.create(runtime, inst);
            result.created++;
            try {
                runtime.start(fresh);
            } catch (RuntimeUnavailableException | ContainerNotFoundException again) {
                throw again;
            } catch (ContainerRuntimeException again) {
                scheduleStart(node, inst, failures + 1, again);
                return;
            }
            store.started(inst.id());
            event(inst, node, "recreated", "container " + cid + " replaced by " + fresh + ", which started");
            result.started++;
            return;
        }
        scheduleStart(node, inst, failures, e);
    }

    private void scheduleStart(Node node, Instance inst, int failures, ContainerRuntimeException e) {
        Duration delay = Backoff.delay(failures);
        Instant next = clock.instant().plus(delay);
        store.startFailed(inst.id(), failures, next, "the engine refused to start the container: " + e.getMessage());
        event(
                inst,
                node,
                "start_failed",
                e.getMessage() + "; refusal " + failures + " in a row, next try in " + seconds(delay));
        wakeAt(node, inst.id(), next);
    }

    /** Records {@code state} as the observed state if it is not already. */
    private void show(Instance inst, ObservedState state) {
        if (inst.observedState() != state) {
            store.setObserved(
                    inst.id(),
                    state,
                    inst.lastError().filter(x -> state == ObservedState.FAILED).orElse(null));
        }
    }

    /**
     * Whether {@link #converge} would change nothing for this record and this container: it runs as
     * desired, or is stopped as desired, or waits for a restart that is not due yet, and the record says so.
     */
    static boolean settled(Instance inst, ContainerSummary c, Instant now) {
        if (c == null || inst.desiredState() == DesiredState.DELETED) {
            return false;
        }
        if (inst.containerId().isEmpty() || !inst.containerId().get().equals(c.id())) {
            return false;
        }
        ContainerStatus s = c.status();
        if (inst.wantsRunning()) {
            return switch (s) {
                // a crash count waits for the run to last long enough to end the loop
                case RUNNING, RESTARTING ->
                    inst.observedState() == ObservedState.RUNNING
                            && inst.restarts().crashes() == 0;
                case EXITED, DEAD, CREATED -> inst.restarts().waiting(now);
                default -> false;
            };
        }
        return s != ContainerStatus.RUNNING
                && s != ContainerStatus.PAUSED
                && s != ContainerStatus.RESTARTING
                && observedWhileStopped(s) == inst.observedState();
    }

    private static ObservedState observedWhileStopped(ContainerStatus s) {
        return switch (s) {
            case REMOVING -> ObservedState.DELETING;
            case UNKNOWN -> ObservedState.UNKNOWN;
            default -> ObservedState.STOPPED;
        };
    }

    /** Makes sure the instance is looked at again at {@code at} (an earlier wake-up already scheduled will do). */
    private void wakeAt(Node node, UUID instanceId, Instant at) {
        long delayMs = Math.max(0, Duration.between(clock.instant(), at).toMillis()) + 20;
        wakeups.compute(instanceId, (id, prev) -> {
            if (prev != null && !prev.isDone() && prev.getDelay(TimeUnit.MILLISECONDS) <= delayMs) {
                return prev;
            }
            if (prev != null) {
                prev.cancel(false);
            }
            try {
                return timer.schedule(
                        () -> {
                            wakeups.remove(id);
                            submit(
                                    "reconcile on node '" + node.name() + "'",
                                    () -> store.find(id)
                                            .flatMap(Instance::containerId)
                                            .ifPresent(cid -> reconcile(node, id, cid)));
                        },
                        delayMs,
                        TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException closedAlready) {
                return null;
            }
        });
    }

    private void removeQuietly(ContainerRuntime runtime, ContainerSummary c, String why, Node node, UUID instanceId) {
        try {
            runtime.remove(c.id(), true);
            log.info("removed container {} on {}: {}", c.id(), node.name(), why);
            store.event(instanceId, node.id(), "orphan_removed", why + ": " + c.id());
        } catch (ContainerRuntimeException e) {
            log.warn("could not remove {} on {}: {}", c.id(), node.name(), e.getMessage());
        }
    }

    private void event(Instance inst, Node node, String kind, String detail) {
        log.info("instance {} on {}: {} ({})", inst.name(), node.name(), kind, detail);
        store.event(inst.id(), node.id(), kind, detail);
    }

    /** Applies the events' retention (a periodic task; never per request). */
    void pruneEvents() {
        int n = store.pruneEvents(store.now().minus(retention.maxAge()), retention.perInstance());
        if (n > 0) {
            log.debug("pruned {} instance events", n);
        }
    }

    private void subscribe(Node node) {
        subscriptions.computeIfAbsent(node.id(), id -> nodes.runtime(node).events(e -> onEvent(node, e)));
    }

    private void onEvent(Node node, RuntimeEvent e) {
        switch (e.kind()) {
            case RESYNC -> submit("reconcile pass on node '" + node.name() + "'", () -> pass(node));
            case DIE, STOP, START, DESTROY, OOM ->
                e.instanceId()
                        .ifPresent(id -> submit(
                                "reconcile on node '" + node.name() + "'", () -> reconcile(node, id, e.containerId())));
        }
    }

    /** Runs a task on a virtual thread, guarded; dropped once closed. */
    private void submit(String task, Runnable body) {
        try {
            work.submit(guarded(task, body));
        } catch (RejectedExecutionException closedAlready) {
            // closed: this reconciler converges nothing any more
        }
    }

    /**
     * The task, such that nothing it throws escapes: an exception escaping a task of
     * {@code scheduleWithFixedDelay} would silently end every later run of it.
     */
    private Runnable guarded(String task, Runnable body) {
        return () -> {
            try {
                body.run();
                failures.succeeded(task);
            } catch (Throwable t) {
                if (closed) {
                    return; // shutting down: interrupted calls are no failures
                }
                failures.failed(task, t);
                if (task.startsWith("reconcile passes")) {
                    failedPassesOfAll().increment();
                }
            }
        };
    }

    // ---- health: each node's last completed pass

    /** One node's reconciliation, for {@code /readyz}. */
    public record NodeHealth(String node, boolean online, Duration lastPassAge, boolean stale) {}

    /**
     * Every node: online or not, how long ago its last pass completed (or, before its first, since the
     * reconciler started watching it), and whether that is stale: longer than {@link #STALE_INTERVALS}
     * pass intervals plus {@link #STALE_MARGIN} for an online node of a started reconciler.
     */
    public List<NodeHealth> health() {
        Duration limit = staleAfter;
        List<NodeHealth> out = new ArrayList<>();
        for (Node n : nodes.list()) {
            track(n);
            boolean online = nodes.isOnline(n);
            Duration age = age(n.id());
            out.add(new NodeHealth(
                    n.name(), online, age, online && limit != null && !closed && age.compareTo(limit) > 0));
        }
        return out;
    }

    /** How old a pass may get before {@link #health()} calls it stale; empty until {@link #start}. */
    public Optional<Duration> staleAfter() {
        return Optional.ofNullable(staleAfter);
    }

    private Duration age(UUID nodeId) {
        long since = Math.max(
                createdNanos,
                Math.max(
                        completedAt.getOrDefault(nodeId, Long.MIN_VALUE),
                        onlineAt.getOrDefault(nodeId, Long.MIN_VALUE)));
        return Duration.ofNanos(System.nanoTime() - since);
    }

    private Tracked track(Node n) {
        return tracked.computeIfAbsent(
                n.id(),
                id -> new Tracked(
                        n.name(),
                        Gauge.builder(
                                        "pier.reconcile.last.pass.age",
                                        this,
                                        r -> r.age(id).toMillis() / 1000.0)
                                .description(
                                        "seconds since the node's last completed reconcile pass (or since it was first watched)")
                                .baseUnit("seconds")
                                .tag("node", n.name())
                                .register(metrics),
                        Gauge.builder(
                                        "pier.node.online",
                                        nodes,
                                        s -> s.list().stream()
                                                .filter(x -> x.id().equals(id))
                                                .mapToDouble(x -> s.isOnline(x) ? 1.0 : 0.0)
                                                .findFirst()
                                                .orElse(0.0))
                                .description("1 when the node answers, 0 otherwise")
                                .tag("node", n.name())
                                .register(metrics),
                        Counter.builder("pier.reconcile.failed.passes")
                                .description("reconcile passes that did not complete")
                                .tag("node", n.name())
                                .register(metrics)));
    }

    private Counter failedPassesOfAll() {
        return Counter.builder("pier.reconcile.failed.passes")
                .description("reconcile passes that did not complete")
                .tag("node", "*")
                .register(metrics);
    }

    /** Drops what is kept about nodes that were removed. */
    private void forgetRemoved(List<Node> all) {
        Set<UUID> present = new HashSet<>();
        all.forEach(n -> present.add(n.id()));
        for (UUID id : List.copyOf(tracked.keySet())) {
            if (!present.contains(id)) {
                Tracked t = tracked.remove(id);
                if (t != null) {
                    metrics.remove(t.age());
                    metrics.remove(t.online());
                    metrics.remove(t.failedPasses());
                }
                completedAt.remove(id);
                onlineAt.remove(id);
                Closeable sub = subscriptions.remove(id);
                if (sub != null) {
                    closeQuietly(sub);
                }
            }
        }
    }

    private static String seconds(Duration d) {
        long ms = Math.max(0, d.toMillis()); // the engine's own times may be a hair out of order
        return ms < 10_000 ? String.format(java.util.Locale.ROOT, "%.1f s", ms / 1000.0) : (ms / 1000) + " s";
    }

    /** Counts of what one pass changed. */
    public static final class Result {
        public int created;
        public int started;
        public int stopped;
        public int removed;
        public int deleted;
        public int crashed;
        public int unpaused;
        public int volumesRemoved;
        public int busy;
        /** Records whose convergence failed unexpectedly: the pass does not count as completed. */
        public int failed;
        /** The node did not answer the listing. */
        public boolean unreachable;

        @Override
        public String toString() {
            return "created=" + created + " started=" + started + " stopped=" + stopped + " removed=" + removed
                    + " deleted=" + deleted + " crashed=" + crashed + " unpaused=" + unpaused + " busy=" + busy
                    + " volumesRemoved=" + volumesRemoved + " failed=" + failed + (unreachable ? " unreachable" : "");
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        stopBackground();
    }

    /**
     * Stops what runs by itself (the timers, the event subscriptions, work already queued) and leaves
     * {@link #passAll} and {@link #reconcile} to a caller that drives the passes itself, as some tests do.
     * Unlike {@link #close}, a pass so driven still acts.
     */
    public synchronized void stopBackground() {
        timer.shutdownNow();
        subscriptions.values().forEach(Reconciler::closeQuietly);
        subscriptions.clear();
        work.shutdownNow();
    }

    private static void closeQuietly(Closeable c) {
        try {
            c.close();
        } catch (IOException | RuntimeException ignored) {
            // shutting down, or the node is gone
        }
    }
}
