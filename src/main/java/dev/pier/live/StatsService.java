package dev.pier.live;

import dev.pier.errors.PierException;
import dev.pier.instances.Instance;
import dev.pier.instances.InstanceService;
import dev.pier.instances.ObservedState;
import dev.pier.nodes.Node;
import dev.pier.nodes.NodeService;
import dev.pier.runtime.ContainerNotFoundException;
import dev.pier.runtime.ContainerRuntime;
import dev.pier.runtime.ContainerRuntimeException;
import dev.pier.runtime.RuntimeUnavailableException;
import dev.pier.runtime.StatsReader;
import dev.pier.runtime.StatsSample;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Resource use of instances. Nothing is collected while nobody asks: a follower of an instance's stats
 * opens that instance's one engine stats stream (shared by all its followers, closed with the last one),
 * and a one-off question ({@code GET /api/v1/stats}, a {@code /metrics} scrape) takes fresh samples of the
 * instances it needs, reusing any sample younger than {@link #FRESH}.
 */
public final class StatsService implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(StatsService.class);
    /** How often a follower gets a sample. */
    public static final Duration INTERVAL = Duration.ofSeconds(2);
    /** A sample this young answers a one-off question. */
    public static final Duration FRESH = Duration.ofSeconds(5);
    /** Samples a follower may have waiting before it counts as too slow. */
    static final int FOLLOWER_BACKLOG = 16;
    /**
     * One-off samples taken at once. The engine answers each at its next collection (it collects every
     * second), or at the one after for a first sample (see {@link #EARLIER}), so many instances take about
     * a second per {@code PARALLEL} of them. Each holds one of the engine connections ({@code
     * JettyDockerHttpClient}'s pool has 64), so some are always left for everything else.
     */
    static final int PARALLEL = 32;
    /**
     * A one-off sample measures CPU use since the instance's last sample, when that is this young and of the
     * same container, and so needs one of the engine's collections instead of two.
     */
    static final Duration EARLIER = Duration.ofMinutes(1);

    /** One sample of one instance, in the API's terms. */
    public record Sample(UUID instanceId, UUID nodeId, String containerId, double cpuLimitCores, StatsSample raw) {
        /** CPU use in percent of the instance's own limit (100 = all of it). */
        public double cpuLimitPercent() {
            return cpuLimitCores > 0 ? raw.cpuPercent() / cpuLimitCores : 0;
        }
    }

    private final InstanceService instances;
    private final NodeService nodes;
    private final Clock clock;
    private final MeterRegistry metrics;
    private final Map<UUID, Sample> latest = new ConcurrentHashMap<>();
    private final Map<UUID, Hub> hubs = new ConcurrentHashMap<>();
    private final Set<UUID> gauged = ConcurrentHashMap.newKeySet();
    private final ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
    private final Semaphore parallel = new Semaphore(PARALLEL);
    private volatile boolean closed;

    public StatsService(InstanceService instances, NodeService nodes, Clock clock, MeterRegistry metrics) {
        this.instances = instances;
        this.nodes = nodes;
        this.clock = clock;
        this.metrics = metrics;
    }

    /** One sample of the instance now (or from the last {@link #FRESH} seconds). */
    public Sample once(Instance inst) {
        Sample s = latest.get(inst.id());
        if (s != null && fresh(s)) {
            return s;
        }
        if (!runs(inst)) {
            throw new PierException.Conflict(
                    dev.pier.errors.Reason.CONFLICT,
                    "instance '" + inst.name() + "' is not running ("
                            + inst.observedState().wire() + ")");
        }
        Node node = nodes.require(inst.nodeId());
        ContainerRuntime runtime = nodes.onlineRuntime(node);
        try {
            String cid = inst.containerId().get();
            StatsSample earlier = s != null
                            && cid.equals(s.containerId())
                            && s.raw().time().plus(EARLIER).isAfter(clock.instant())
                    ? s.raw()
                    : null;
            return record(inst, runtime.statsOnce(cid, earlier));
        } catch (RuntimeUnavailableException e) {
            nodes.reportUnreachable(node, e);
            throw new PierException.Unavailable("node '" + node.name() + "' is unreachable: " + e.getMessage());
        } catch (ContainerNotFoundException e) {
            throw new PierException.Conflict(
                    dev.pier.errors.Reason.CONFLICT, "instance '" + inst.name() + "' has no container now");
        }
    }

    /**
     * The latest sample of each of these instances that runs, taking fresh ones as needed, at most
     * {@link #PARALLEL} at a time. An instance whose node does not answer is left out.
     */
    public List<Sample> latest(List<Instance> of) {
        List<Future<Optional<Sample>>> pending = new ArrayList<>();
        for (Instance inst : of) {
            if (!runs(inst)) {
                continue;
            }
            Sample s = latest.get(inst.id());
            if (s != null && fresh(s)) {
                pending.add(java.util.concurrent.CompletableFuture.completedFuture(Optional.of(s)));
                continue;
            }
            pending.add(pool.submit(() -> {
                parallel.acquire();
                try {
                    return Optional.of(once(inst));
                } catch (PierException | ContainerRuntimeException e) {
                    return Optional.<Sample>empty();
                } finally {
                    parallel.release();
                }
            }));
        }
        List<Sample> out = new ArrayList<>();
        for (Future<Optional<Sample>> f : pending) {
            try {
                f.get(30, TimeUnit.SECONDS).ifPresent(out::add);
            } catch (Exception e) {
                f.cancel(true);
            }
        }
        return out;
    }

    /** Drops what is known of instances that are gone (their samples and series). */
    public void forgetGone() {
        Set<UUID> live = ConcurrentHashMap.newKeySet();
        for (Instance i : instances.list()) {
            live.add(i.id());
        }
        latest.keySet().removeIf(id -> !live.contains(id));
        for (UUID id : List.copyOf(gauged)) {
            if (!live.contains(id)) {
                gauged.remove(id);
                metrics.find("pier.instance.cpu.percent")
                        .tag("instance_id", id.toString())
                        .meters()
                        .forEach(metrics::remove);
                metrics.find("pier.instance.memory.bytes")
                        .tag("instance_id", id.toString())
                        .meters()
                        .forEach(metrics::remove);
            }
        }
    }

    private static boolean runs(Instance i) {
        return i.containerId().isPresent()
                && (i.observedState() == ObservedState.RUNNING || i.observedState() == ObservedState.PAUSED);
    }

    private boolean fresh(Sample s) {
        return s.raw().time().plus(FRESH).isAfter(clock.instant());
    }

    private Sample record(Instance inst, StatsSample raw) {
        Sample s = new Sample(inst.id(), inst.nodeId(), inst.containerId().orElse(null), inst.cpu(), raw);
        latest.put(inst.id(), s);
        if (gauged.add(inst.id())) {
            String id = inst.id().toString();
            Gauge.builder("pier.instance.cpu.percent", latest, m -> value(m, inst.id(), true))
                    .description("CPU use of the instance's container, percent of one core (last sample)")
                    .tag("instance_id", id)
                    .tag("instance", inst.name())
                    .register(metrics);
            Gauge.builder("pier.instance.memory.bytes", latest, m -> value(m, inst.id(), false))
                    .description("memory use of the instance's container as docker stats shows it (last sample)")
                    .tag("instance_id", id)
                    .tag("instance", inst.name())
                    .register(metrics);
        }
        return s;
    }

    private static double value(Map<UUID, Sample> m, UUID id, boolean cpu) {
        Sample s = m.get(id);
        if (s == null) {
            return Double.NaN;
        }
        return cpu ? s.raw().cpuPercent() : s.raw().memoryBytes();
    }

    /** Follows an instance's stats: a sample about every {@link #INTERVAL}. */
    public Follower follow(Instance inst) {
        if (closed) {
            throw new PierException.Unavailable("the server is stopping");
        }
        while (true) {
            Hub hub = hubs.computeIfAbsent(inst.id(), Hub::new);
            Follower f = hub.join();
            if (f != null) {
                return f;
            }
            hubs.remove(inst.id(), hub);
        }
    }

    /** How many engine stats streams are open. */
    public int openStreams() {
        return hubs.size();
    }

    @Override
    public void close() {
        closed = true;
        for (Hub h : hubs.values()) {
            h.stop();
        }
        pool.shutdownNow();
    }

    /** What a stats follower receives: a sample, or its end. */
    public sealed interface Item {}

    public record Next(Sample sample) implements Item {}

    public record End(StreamGuard.Ending why) implements Item {}

    /** One follower of one instance's stats. */
    public final class Follower implements AutoCloseable {
        private final Hub hub;
        private final LinkedBlockingQueue<Item> queue = new LinkedBlockingQueue<>();
        private volatile boolean ended;

        Follower(Hub hub) {
            this.hub = hub;
        }

        public Item poll(long millis) throws InterruptedException {
            return queue.poll(millis, TimeUnit.MILLISECONDS);
        }

        public void end(StreamGuard.Ending why) {
            if (!ended) {
                ended = true;
                queue.add(new End(why));
                hub.leave(this);
            }
        }

        void offer(Sample s) {
            if (ended) {
                return;
            }
            if (queue.size() >= FOLLOWER_BACKLOG) {
                end(new StreamGuard.Ending("too_slow", "this client fell too far behind and was dropped"));
                return;
            }
            queue.add(new Next(s));
        }

        @Override
        public void close() {
            ended = true;
            hub.leave(this);
        }
    }

    /** The one engine stats stream of one instance. */
    private final class Hub {
        private final UUID instanceId;
        private final Set<Follower> followers = ConcurrentHashMap.newKeySet();
        private final Object lock = new Object();
        private boolean ending;
        private Thread worker;
        private volatile StatsReader reader;

        Hub(UUID instanceId) {
            this.instanceId = instanceId;
        }

        Follower join() {
            Follower f = new Follower(this);
            synchronized (lock) {
                if (ending) {
                    return null;
                }
                followers.add(f);
                if (worker == null) {
                    worker = Thread.ofVirtual().name("pier-stats " + instanceId).start(this::run);
                }
            }
            // the newest sample at once, so a new follower does not wait for the next one
            Sample s = latest.get(instanceId);
            if (s != null && fresh(s)) {
                f.offer(s);
            }
            return f;
        }

        void leave(Follower f) {
            followers.remove(f);
            synchronized (lock) {
                if (followers.isEmpty() && !ending) {
                    stop();
                }
            }
        }

        void stop() {
            synchronized (lock) {
                ending = true;
                hubs.remove(instanceId, this);
                lock.notifyAll();
                // closing the engine stream and the notify above wake the worker (no interrupt: it could land
                // in a database call and break its connection)
                StatsReader r = reader;
                if (r != null) {
                    r.close();
                }
            }
        }

        private void run() {
            long backoff = 1_000;
            Instant lastSent = Instant.MIN;
            while (!ending) {
                Optional<Instance> found;
                try {
                    found = instances.find(instanceId);
                } catch (RuntimeException e) {
                    if (!pause(2_000)) {
                        return;
                    }
                    continue;
                }
                if (found.isEmpty()) {
                    return; // the streams' guard ends the followers
                }
                Instance inst = found.get();
                if (!runs(inst)) {
                    if (!pause(2_000)) {
                        return;
                    }
                    continue;
                }
                Node node = nodes.require(inst.nodeId());
                try {
                    ContainerRuntime runtime = nodes.onlineRuntime(node);
                    StatsReader r = runtime.readStats(inst.containerId().orElseThrow());
                    synchronized (lock) {
                        if (ending) {
                            r.close();
                            return;
                        }
                        reader = r;
                    }
                    try {
                        StatsSample raw;
                        while ((raw = r.next()) != null) {
                            Sample s = record(inst, raw);
                            // the engine sends one a second; followers get one every INTERVAL
                            if (!raw.time().isBefore(lastSent.plus(INTERVAL).minusMillis(200))) {
                                lastSent = raw.time();
                                for (Follower f : followers) {
                                    f.offer(s);
                                }
                            }
                        }
                    } finally {
                        reader = null;
                        r.close();
                    }
                    backoff = 1_000;
                } catch (RuntimeUnavailableException e) {
                    if (ending) {
                        return;
                    }
                    nodes.reportUnreachable(node, e);
                    backoff = Math.min(backoff * 2, 10_000);
                } catch (PierException | ContainerRuntimeException e) {
                    backoff = Math.min(backoff * 2, 10_000);
                } catch (RuntimeException e) {
                    if (!ending) {
                        log.warn("following the stats of instance {} failed: {}", instanceId, e.toString());
                    }
                    backoff = Math.min(backoff * 2, 10_000);
                }
                if (!pause(backoff)) {
                    return;
                }
            }
        }

        private boolean pause(long millis) {
            synchronized (lock) {
                if (ending) {
                    return false;
                }
                try {
                    lock.wait(millis);
                } catch (InterruptedException e) {
                    return false;
                }
                return !ending;
            }
        }
    }

    /** Per node: the sum of its instances' samples, against its capacity. */
    public static Map<String, Object> nodeTotals(Node node, List<Sample> samples, int cpus) {
        double cpu = 0;
        long memory = 0;
        int n = 0;
        for (Sample s : samples) {
            if (s.nodeId().equals(node.id())) {
                cpu += s.raw().cpuPercent();
                memory += s.raw().memoryBytes();
                n++;
            }
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("node_id", node.id().toString());
        m.put("node", node.name());
        m.put("instances", n);
        m.put("cpu_percent", round(cpu));
        m.put("cpu_capacity_percent", cpus > 0 ? cpus * 100 : null);
        m.put("memory_bytes", memory);
        m.put("memory_capacity_bytes", node.ramMib() > 0 ? node.ramMib() * 1024L * 1024L : null);
        return m;
    }

    static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
