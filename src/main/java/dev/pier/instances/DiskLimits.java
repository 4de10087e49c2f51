package dev.pier.instances;

import dev.pier.nodes.Node;
import dev.pier.nodes.NodeService;
import dev.pier.runtime.ContainerRuntime;
import dev.pier.runtime.ContainerRuntimeException;
import dev.pier.runtime.RuntimeUnavailableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Measures instances' volumes (the engine's disk usage report) and holds each instance to its
 * {@code disk_mib}: one over its limit is stopped, with an event that says why, and may not start (its
 * actions refuse, and it no longer wants to run) until a measure finds it under the limit again or the limit
 * is raised. An instance without a limit ({@code disk_mib} 0) is measured, never stopped. The last measure
 * of each instance is kept in memory for the APIs. Thread-safe.
 */
public final class DiskLimits {
    private static final Logger log = LoggerFactory.getLogger(DiskLimits.class);
    /** How often every node's volumes are measured. */
    public static final Duration EVERY = Duration.ofMinutes(1);

    private final InstanceStore store;
    private final InstanceLocks locks;
    private final NodeService nodes;
    private final Clock clock;
    private final FailureLog failures = new FailureLog(log, System::nanoTime);
    private final Map<UUID, Usage> usage = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "pier-disk-limits");
        t.setDaemon(true);
        return t;
    });

    /** What an instance's volume held when it was last measured. */
    public record Usage(long bytes, Instant at) {}

    public DiskLimits(InstanceStore store, InstanceLocks locks, NodeService nodes, Clock clock) {
        this.store = store;
        this.locks = locks;
        this.nodes = nodes;
        this.clock = clock;
    }

    /** Measures every {@link #EVERY}, from now on (a server; never a CLI process). */
    public void start() {
        timer.scheduleWithFixedDelay(this::checkAllGuarded, 0, EVERY.toMillis(), TimeUnit.MILLISECONDS);
    }

    public void close() {
        timer.shutdownNow();
    }

    public Optional<Usage> usage(UUID instance) {
        return Optional.ofNullable(usage.get(instance));
    }

    private void checkAllGuarded() {
        try {
            checkAll();
            failures.succeeded("disk limits");
        } catch (RuntimeException e) {
            failures.failed("disk limits", e);
        }
    }

    /** Measures the volumes of every online node once and applies the limits. */
    public void checkAll() {
        for (Node node : nodes.list()) {
            if (nodes.isOnline(node)) {
                check(node);
            }
        }
    }

    private void check(Node node) {
        ContainerRuntime runtime = nodes.runtime(node);
        Map<String, Long> sizes;
        try {
            sizes = runtime.volumeSizes();
        } catch (RuntimeUnavailableException e) {
            nodes.reportUnreachable(node, e);
            return;
        }
        Instant now = clock.instant();
        for (Instance inst : store.listByNode(node.id())) {
            Long bytes = inst.volume().map(sizes::get).orElse(null);
            if (bytes == null) {
                continue;
            }
            usage.put(inst.id(), new Usage(bytes, now));
            boolean over = inst.diskMib() > 0 && bytes > ((long) inst.diskMib() << 20);
            if (over != inst.diskOver()) {
                try {
                    locks.exclusive(inst.id(), () -> {
                        apply(runtime, node, store.require(inst.id()), bytes, over);
                        return null;
                    });
                } catch (RuntimeException busy) {
                    // an action holds it; the next measure applies the limit
                    log.debug("disk limit of {} left for the next measure: {}", inst.name(), busy.getMessage());
                }
            }
        }
        usage.keySet().removeIf(id -> store.find(id).isEmpty());
    }

    private void apply(ContainerRuntime runtime, Node node, Instance inst, long bytes, boolean over) {
        if (inst.desiredState() == DesiredState.DELETED) {
            return;
        }
        String use = mib(bytes) + " MiB of its " + inst.diskMib() + " MiB disk limit";
        if (!over) {
            store.setDiskOver(inst.id(), false);
            store.event(inst.id(), node.id(), "disk_limit_ok", "uses " + use + "; it may start again");
            log.info("instance {} is under its disk limit again: {}", inst.name(), use);
            return;
        }
        store.setDiskOver(inst.id(), true);
        if (inst.desiredState() == DesiredState.RUNNING) {
            store.setDesired(inst.id(), DesiredState.STOPPED);
        }
        String why = "stopped: its volume uses " + use;
        try {
            if (inst.containerId().isPresent()) {
                runtime.stop(inst.containerId().get(), InstanceService.STOP_GRACE);
            }
            store.setObserved(inst.id(), ObservedState.STOPPED, why);
        } catch (ContainerRuntimeException e) {
            // it no longer wants to run: the reconciler stops it once the node lets it
            log.warn("could not stop {} over its disk limit: {}", inst.name(), e.getMessage());
        }
        store.event(inst.id(), node.id(), "disk_limit", why);
        log.warn("instance {} {}", inst.name(), why);
    }

    static long mib(long bytes) {
        return (bytes + (1 << 20) - 1) >> 20;
    }
}
