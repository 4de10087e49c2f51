package dev.pier.instances;

import dev.pier.nodes.Node;
import dev.pier.nodes.NodeService;
import dev.pier.runtime.ContainerRuntime;
import dev.pier.runtime.ContainerRuntimeException;
import dev.pier.runtime.ContainerStatus;
import dev.pier.runtime.ContainerSummary;
import dev.pier.runtime.RuntimeEvent;
import dev.pier.runtime.RuntimeUnavailableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Converges Docker's observed state onto Pier's desired state, per node: driven by the engine's
 * events (a container died: restart it at once) and by a periodic full pass (anything the events
 * missed). One pass lists the node's Pier-labelled containers once and compares them with the
 * node's records:
 * <ul>
 *   <li>a record marked for deletion: remove its container, then the record (finishes a crashed delete);</li>
 *   <li>a record without container: create it (a crashed deploy, or removed behind Pier's back);</li>
 *   <li>a container not running while desired running: start it, and record the event;</li>
 *   <li>a running container desired stopped or suspended: stop it;</li>
 *   <li>a container with Pier's labels and no record: remove it (an orphan).</li>
 * </ul>
 * Busy instances (a user action in progress) are skipped until the next pass. Thread-safe.
 */
public final class Reconciler implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Reconciler.class);
    private final InstanceService instances;
    private final NodeService nodes;
    private final Map<UUID, Closeable> subscriptions = new ConcurrentHashMap<>();
    private final ExecutorService work = Executors.newVirtualThreadPerTaskExecutor();
    private ScheduledExecutorService timer;

    public Reconciler(InstanceService instances, NodeService nodes) {
        this.instances = instances;
        this.nodes = nodes;
        nodes.onOnline(n -> {
            try {
                work.submit(() -> {
                    subscribe(n);
                    pass(n);
                });
            } catch (java.util.concurrent.RejectedExecutionException closed) {
                // closed: this reconciler converges nothing any more
            }
        });
    }

    /** Starts the periodic node checks and full passes. */
    public synchronized void start(long nodeCheckMillis, long passMillis) {
        if (timer != null) {
            return;
        }
        timer = Executors.newScheduledThreadPool(2, r -> {
            Thread t = new Thread(r, "pier-reconciler");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(this::checkNodes, 0, nodeCheckMillis, TimeUnit.MILLISECONDS);
        timer.scheduleWithFixedDelay(this::passAll, passMillis, passMillis, TimeUnit.MILLISECONDS);
    }

    private void checkNodes() {
        try {
            nodes.checkAll();
        } catch (RuntimeException e) {
            log.warn("node check failed: {}", e.toString());
        }
    }

    /** One full pass over every online node. */
    public void passAll() {
        for (Node n : nodes.list()) {
            if (nodes.isOnline(n)) {
                pass(n);
            }
        }
    }

    /** A full pass over one node; returns what it changed (for tests and the bench). */
    public Result pass(Node node) {
        Result result = new Result();
        ContainerRuntime runtime = nodes.runtime(node);
        List<ContainerSummary> containers;
        try {
            // containers of another installation sharing this engine are not ours to judge
            containers = runtime.listManaged().stream().filter(instances::ours).toList();
        } catch (RuntimeUnavailableException e) {
            nodes.reportUnreachable(node, e);
            return result;
        }
        List<InstanceRow> records = instances.jdbi().withHandle(h -> h.attach(InstanceDao.class).listByNode(node.id()));
        Map<UUID, String> recorded = new HashMap<>();
        for (InstanceRow r : records) {
            if (r.containerId() != null) {
                recorded.put(r.id(), r.containerId());
            }
        }
        Map<UUID, ContainerSummary> byInstance = new HashMap<>();
        for (ContainerSummary c : containers) {
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
        for (InstanceRow row : records) {
            Instance inst = row.toInstance();
            ContainerSummary c = byInstance.remove(inst.id());
            if (settled(inst, c)) {
                // nothing to do by this listing: no lock, no re-read (a pass over a calm node is one listing
                // and one query); a user action since will do its own work, and the next pass sees it
                continue;
            }
            // converge on the record as it is now, under the lock: the listing above may be seconds old, and a
            // user action since (a stop, a delete) must not be undone by it
            boolean ran = instances.locks.ifFree(inst.id(), () -> instances.find(inst.id())
                    .filter(fresh -> fresh.nodeId().equals(node.id()))
                    .ifPresent(fresh -> converge(runtime, node, fresh, Optional.ofNullable(c), result)));
            if (!ran) {
                result.busy++;
            }
        }
        for (ContainerSummary orphan : byInstance.values()) {
            UUID id = orphan.instanceId().orElseThrow();
            // a record may have appeared since the listing (a deploy in progress): check before removing
            if (instances.find(id).isEmpty()) {
                removeQuietly(runtime, orphan, "orphan container without a record", node, id);
                result.removed++;
            }
        }
        for (ContainerSummary c : containers) {
            if (c.instanceId().isEmpty()) {
                removeQuietly(runtime, c, "Pier-labelled container without a valid instance id", node, null);
                result.removed++;
            }
        }
        return result;
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
                    .filter(instances::ours);
            Optional<Instance> inst = instances.find(instanceId);
            if (inst.isEmpty()) {
                if (c.isPresent()) {
                    removeQuietly(runtime, c.get(), "orphan container without a record", node, instanceId);
                }
                return;
            }
            if (!inst.get().nodeId().equals(node.id())) {
                return;
            }
            instances.locks.ifFree(instanceId, () -> instances.find(instanceId).ifPresent(fresh -> {
                if (fresh.containerId().isPresent() && !fresh.containerId().get().equals(containerId)) {
                    // about another container than the recorded one (a stray copy, or one replaced since):
                    // never re-point the record at it; the full pass removes duplicates
                    return;
                }
                converge(runtime, node, fresh, c, new Result());
            }));
        } catch (RuntimeUnavailableException e) {
            nodes.reportUnreachable(node, e);
        }
    }

    private void converge(ContainerRuntime runtime, Node node, Instance inst, Optional<ContainerSummary> container,
                          Result result) {
        try {
            if ("deleted".equals(inst.desiredState())) {
                if (container.isPresent()) {
                    runtime.remove(container.get().id(), true);
                }
                instances.jdbi().useHandle(h -> h.attach(InstanceDao.class).delete(inst.id()));
                event(inst, node, "delete_finished", "a delete interrupted earlier was completed");
                instances.invalidate();
                result.deleted++;
                return;
            }
            boolean wantRunning = "running".equals(inst.desiredState()) && !inst.suspended();
            if (container.isEmpty()) {
                String cid = instances.createContainer(runtime, inst);
                boolean hadOne = inst.containerId().isPresent();
                event(inst, node, hadOne ? "recreated" : "created", hadOne
                        ? "container " + inst.containerId().get() + " was missing; created " + cid
                        : "container created by the reconciler after an interrupted deploy: " + cid);
                if (wantRunning) {
                    runtime.start(cid);
                    instances.setObserved(inst.id(), "running", null);
                } else {
                    instances.setObserved(inst.id(), "stopped", null);
                }
                result.created++;
                return;
            }
            ContainerSummary c = container.get();
            if (inst.containerId().isEmpty() || !inst.containerId().get().equals(c.id())) {
                instances.jdbi().useHandle(h -> h.attach(InstanceDao.class).setContainer(inst.id(), c.id(), instances.now()));
                instances.invalidate();
            }
            if (wantRunning && !c.running()) {
                runtime.start(c.id());
                event(inst, node, "restarted", "container was " + c.status().name().toLowerCase() + " while desired running");
                instances.setObserved(inst.id(), "running", null);
                result.started++;
            } else if (!wantRunning && c.running()) {
                runtime.stop(c.id(), InstanceService.STOP_GRACE);
                instances.setObserved(inst.id(), "stopped", null);
                result.stopped++;
            } else {
                String observed = observed(c.status(), inst);
                if (!observed.equals(inst.observedState())) {
                    instances.setObserved(inst.id(), observed, null);
                }
            }
        } catch (RuntimeUnavailableException e) {
            nodes.reportUnreachable(node, e);
        } catch (ContainerRuntimeException e) {
            log.warn("reconcile {} on {}: {}", inst.name(), node.name(), e.getMessage());
            instances.setObserved(inst.id(), "failed", e.getMessage());
            event(inst, node, "failed", e.getMessage());
        }
    }

    /** Whether {@link #converge} would change nothing for this record and this container. */
    static boolean settled(Instance inst, ContainerSummary c) {
        if (c == null || "deleted".equals(inst.desiredState())) {
            return false;
        }
        if (inst.containerId().isEmpty() || !inst.containerId().get().equals(c.id())) {
            return false;
        }
        boolean wantRunning = "running".equals(inst.desiredState()) && !inst.suspended();
        return wantRunning == c.running() && observed(c.status(), inst).equals(inst.observedState());
    }

    static String observed(ContainerStatus s, Instance inst) {
        return switch (s) {
            case RUNNING, RESTARTING, PAUSED -> "running";
            case EXITED, DEAD -> "running".equals(inst.desiredState()) && !inst.suspended() ? "exited" : "stopped";
            case CREATED -> "stopped";
            case REMOVING -> "deleting";
            case UNKNOWN -> "unknown";
        };
    }

    private void removeQuietly(ContainerRuntime runtime, ContainerSummary c, String why, Node node, UUID instanceId) {
        try {
            runtime.remove(c.id(), true);
            log.info("removed container {} on {}: {}", c.id(), node.name(), why);
            instances.jdbi().useHandle(h -> h.attach(InstanceDao.class).event(instanceId, node.id(), instances.now(),
                    "orphan_removed", why + ": " + c.id()));
        } catch (ContainerRuntimeException e) {
            log.warn("could not remove {} on {}: {}", c.id(), node.name(), e.getMessage());
        }
    }

    private void event(Instance inst, Node node, String kind, String detail) {
        log.info("instance {} on {}: {} ({})", inst.name(), node.name(), kind, detail);
        instances.jdbi().useHandle(h -> h.attach(InstanceDao.class).event(inst.id(), node.id(), instances.now(), kind,
                detail.length() > 1024 ? detail.substring(0, 1024) : detail));
    }

    private void subscribe(Node node) {
        subscriptions.computeIfAbsent(node.id(), id -> nodes.runtime(node).events(e -> onEvent(node, e)));
    }

    private void onEvent(Node node, RuntimeEvent e) {
        switch (e.kind()) {
            case RESYNC -> work.submit(() -> pass(node));
            case DIE, STOP, START, DESTROY, OOM -> e.instanceId().ifPresent(id ->
                    work.submit(() -> reconcile(node, id, e.containerId())));
        }
    }

    /** Counts of what one pass changed. */
    public static final class Result {
        public int created;
        public int started;
        public int stopped;
        public int removed;
        public int deleted;
        public int busy;

        @Override
        public String toString() {
            return "created=" + created + " started=" + started + " stopped=" + stopped + " removed=" + removed
                    + " deleted=" + deleted + " busy=" + busy;
        }
    }

    @Override
    public synchronized void close() {
        if (timer != null) {
            timer.shutdownNow();
            timer = null;
        }
        subscriptions.values().forEach(s -> {
            try {
                s.close();
            } catch (IOException ignored) {
                // shutting down
            }
        });
        subscriptions.clear();
        work.shutdownNow();
    }
}
