package dev.pier.nodes;

import dev.pier.audit.AuditLog;
import dev.pier.crypto.SecretBox;
import dev.pier.db.ChangeFeed;
import dev.pier.db.DatabaseHealth;
import dev.pier.db.Topic;
import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.runtime.ContainerRuntime;
import dev.pier.runtime.ContainerRuntimeException;
import dev.pier.runtime.DockerEndpoint;
import dev.pier.runtime.EngineAddressPolicy;
import dev.pier.runtime.RuntimeUnavailableException;
import dev.pier.runtime.TlsMaterial;
import dev.pier.security.Policy;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.security.Scope;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * Nodes (Docker engines): registration, removal, and each node's {@link ContainerRuntime}. Knows which
 * nodes answer: {@link #checkAll()} (run every few seconds by the server) pings each one and marks it
 * online or offline, with the reason; actions on an offline node fail fast with 503. Addresses are checked
 * against the {@link EngineAddressPolicy} at registration (400) and again by the runtime on every
 * connection (the node goes offline with the reason). Thread-safe.
 */
public final class NodeService implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(NodeService.class);
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    private static final Pattern HOST = Pattern.compile("[A-Za-z0-9._:\\[\\]-]{1,253}");

    /** Opens a runtime for an endpoint; the server uses Docker, tests may wrap it. */
    public interface RuntimeFactory {
        ContainerRuntime open(DockerEndpoint endpoint);
    }

    private final Jdbi jdbi;
    private final SecretBox box;
    private final AuditLog audit;
    private final Clock clock;
    private final RuntimeFactory factory;
    private final EngineAddressPolicy policy;
    private final Map<UUID, String> reasons = new ConcurrentHashMap<>();
    private final Set<UUID> warned = ConcurrentHashMap.newKeySet();
    private final Map<UUID, ContainerRuntime> runtimes = new ConcurrentHashMap<>();
    private final Map<UUID, NodeStatus> statuses = new ConcurrentHashMap<>();
    private final List<Consumer<Node>> onlineListeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<Node>> statusListeners = new CopyOnWriteArrayList<>();
    private volatile List<Node> cached;
    private final Map<UUID, Instant> seenWritten = new ConcurrentHashMap<>();
    /** Nodes whose current status could not be written (the database was away). */
    private final java.util.Set<UUID> unwritten = ConcurrentHashMap.newKeySet();

    static final int PING_TIMEOUTS_TO_OFFLINE = 2;
    /** Nodes being checked now on behalf of a failed call (see {@link #reportUnreachable}). */
    private final java.util.Set<UUID> checking = ConcurrentHashMap.newKeySet();

    public NodeService(
            Jdbi jdbi,
            SecretBox box,
            AuditLog audit,
            ChangeFeed changes,
            Clock clock,
            RuntimeFactory factory,
            EngineAddressPolicy policy) {
        this.jdbi = jdbi;
        changes.onChange(Topic.NODES, () -> cached = null);
        this.box = box;
        this.audit = audit;
        this.clock = clock;
        this.factory = factory;
        // a lookup at registration answers within seconds, or counts as a name that does not resolve
        this.policy = policy.withResolver(host -> resolveWithin(policy.resolver(), host, Duration.ofSeconds(3)));
    }

    /**
     * What a new node needs; {@code address} is a host (TCP) or a {@code unix://} socket; {@code hostPorts}
     * null means {@link HostPortRange#DEFAULT}.
     */
    public record NewNode(
            String name,
            String tags,
            long ramMib,
            long diskMib,
            String processor,
            String address,
            Integer port,
            TlsMaterial tls,
            HostPortRange hostPorts) {
        public NewNode(
                String name,
                String tags,
                long ramMib,
                long diskMib,
                String processor,
                String address,
                Integer port,
                TlsMaterial tls) {
            this(name, tags, ramMib, diskMib, processor, address, port, tls, null);
        }
    }

    /** Registers node {@code local} on the local Docker socket when no node exists yet (a fresh install). */
    public void ensureLocal(Path dataDir, String endpoint) {
        if (jdbi.withHandle(h -> h.attach(NodeDao.class).count()) > 0) {
            return; // the usual case, read without taking the write lock
        }
        jdbi.useTransaction(h -> {
            NodeDao dao = h.attach(NodeDao.class);
            if (dao.count() > 0) {
                return;
            }
            long ram = totalMemoryMib();
            long disk = dataDir.toFile().getTotalSpace() / (1024 * 1024);
            dao.insert(
                    UUID.randomUUID(),
                    "local",
                    "local",
                    ram,
                    disk,
                    processor(),
                    endpoint,
                    null,
                    null,
                    null,
                    now(),
                    HostPortRange.DEFAULT.min(),
                    HostPortRange.DEFAULT.max());
            ChangeFeed.bump(h, Topic.NODES);
            log.info("registered node 'local' on {} ({} MiB RAM, {} MiB disk)", endpoint, ram, disk);
        });
        cached = null;
    }

    public Node create(Principal actor, NewNode req) {
        Policy.require(actor, Role.ADMIN, Scope.WRITE);
        if (req.name() == null || !NAME.matcher(req.name()).matches()) {
            throw new PierException.Invalid(
                    "name must be 1-64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit");
        }
        if (req.ramMib() <= 0 || req.diskMib() <= 0) {
            throw new PierException.Invalid("ram and disk must be positive numbers of MiB");
        }
        String endpoint = endpoint(req.address(), req.port());
        try {
            policy.checkRegistration(DockerEndpoint.parse(endpoint).uri(), req.tls() != null);
        } catch (IllegalArgumentException e) {
            throw new PierException.Invalid(e.getMessage());
        }
        if (EngineAddressPolicy.plainTcpLeavesTheMachine(URI.create(endpoint), req.tls() != null)) {
            log.warn(
                    "node '{}' is registered on plain TCP without TLS at {}: {}",
                    req.name(),
                    endpoint,
                    PLAIN_TCP_WARNING);
        }
        String tags = clean(req.tags(), 255, "tags");
        String processor = clean(req.processor(), 255, "processor");
        UUID id = UUID.randomUUID();
        HostPortRange hostPorts = req.hostPorts() == null ? HostPortRange.DEFAULT : req.hostPorts();
        try {
            jdbi.useTransaction(h -> {
                NodeDao dao = h.attach(NodeDao.class);
                ChangeFeed.bump(h, Topic.NODES);
                if (dao.findByName(req.name()).isPresent()) {
                    throw new PierException.Conflict(Reason.CONFLICT, "a node named '" + req.name() + "' exists");
                }
                TlsMaterial tls = req.tls();
                dao.insert(
                        id,
                        req.name(),
                        tags,
                        req.ramMib(),
                        req.diskMib(),
                        processor,
                        endpoint,
                        tls == null ? null : tls.caPem(),
                        tls == null ? null : tls.certPem(),
                        tls == null
                                ? null
                                : box.seal(tls.keyPem().getBytes(java.nio.charset.StandardCharsets.UTF_8), aad(id)),
                        now(),
                        hostPorts.min(),
                        hostPorts.max());
                audit.record(
                        h,
                        actor.actor(),
                        "node.create",
                        req.name(),
                        "success",
                        endpoint + (tls == null ? "" : " (TLS)"));
            });
        } catch (UnableToExecuteStatementException e) {
            throw new PierException.Conflict(Reason.CONFLICT, "a node named '" + req.name() + "' exists");
        }
        cached = null;
        Node node = require(id);
        checkOne(node);
        return require(id);
    }

    public void delete(Principal actor, UUID id) {
        Policy.require(actor, Role.ADMIN, Scope.WRITE);
        Node node = require(id);
        jdbi.useTransaction(h -> {
            NodeDao dao = h.attach(NodeDao.class);
            ChangeFeed.bump(h, Topic.NODES);
            int n = dao.countInstances(id);
            if (n > 0) {
                throw new PierException.Conflict(
                        Reason.CONFLICT,
                        "node '" + node.name() + "' still has " + n + " instance(s); delete or move them first");
            }
            dao.delete(id);
            audit.record(h, actor.actor(), "node.delete", node.name(), "success", null);
        });
        cached = null;
        ContainerRuntime rt = runtimes.remove(id);
        statuses.remove(id);
        reasons.remove(id);
        if (rt != null) {
            rt.close();
        }
    }

    /** Every node with its current status, from memory; refreshed after any change. */
    public List<Node> list() {
        List<Node> l = cached;
        if (l == null) {
            l = jdbi.withHandle(h -> h.attach(NodeDao.class).listAll().stream()
                    .map(NodeRow::toNode)
                    .toList());
            cached = l;
        }
        return l;
    }

    public Optional<Node> find(UUID id) {
        return jdbi.withHandle(h -> h.attach(NodeDao.class).findById(id).map(NodeRow::toNode));
    }

    public Optional<Node> findByName(String name) {
        return jdbi.withHandle(h -> h.attach(NodeDao.class).findByName(name).map(NodeRow::toNode));
    }

    /** Why the node is offline, as the last check or call found it; empty while it answers. */
    public Optional<String> statusReason(Node node) {
        return isOnline(node) ? Optional.empty() : Optional.ofNullable(reasons.get(node.id()));
    }

    /** What an admin should know about how Pier reaches the node (plain TCP off the machine). */
    public List<String> warnings(Node node) {
        return EngineAddressPolicy.plainTcpLeavesTheMachine(URI.create(node.endpoint()), node.tls())
                ? List.of(PLAIN_TCP_WARNING)
                : List.of();
    }

    /** By id or by name. */
    public Node resolve(String idOrName) {
        try {
            return require(UUID.fromString(idOrName));
        } catch (IllegalArgumentException notUuid) {
            return findByName(idOrName)
                    .orElseThrow(() -> new PierException.NotFound("node '" + idOrName + "' not found"));
        }
    }

    public Node require(UUID id) {
        return find(id).orElseThrow(() -> new PierException.NotFound("node " + id + " not found"));
    }

    /**
     * The node's status as this process last found it; the stored one until it checked. (A check's write
     * can fail while the database is busy: what the check found is still what the node is.)
     */
    public NodeStatus status(Node node) {
        return statuses.getOrDefault(node.id(), node.status());
    }

    /** The node's runtime, if the node is online; otherwise 503 at once, without trying the engine. */
    public ContainerRuntime onlineRuntime(Node node) {
        if (statuses.getOrDefault(node.id(), node.status()) == NodeStatus.OFFLINE) {
            throw new PierException.Unavailable("node '" + node.name() + "' is offline; try again when it is back");
        }
        return runtime(node);
    }

    /** The node's runtime whatever its status (the reconciler and the monitor use this). */
    public ContainerRuntime runtime(Node node) {
        return runtimes.computeIfAbsent(node.id(), id -> {
            DockerEndpoint ep = endpointOf(id);
            if (EngineAddressPolicy.plainTcpLeavesTheMachine(ep.uri(), ep.tls().isPresent()) && warned.add(id)) {
                log.warn(
                        "node '{}' is reached over plain TCP without TLS at {}: {}",
                        node.name(),
                        ep.uri(),
                        PLAIN_TCP_WARNING);
            }
            return factory.open(ep);
        });
    }

    public boolean isOnline(Node node) {
        return statuses.getOrDefault(node.id(), node.status()) == NodeStatus.ONLINE;
    }

    /**
     * Called with a node each time this process finds it online or offline, whether or not the database
     * could record it (the event feed reports what actions go by).
     */
    public void onStatusChange(Consumer<Node> listener) {
        statusListeners.add(listener);
    }

    /** Called with a node each time it comes (back) online. */
    public void onOnline(Consumer<Node> listener) {
        onlineListeners.add(listener);
    }

    /** Pings every node and records which answer. */
    public void checkAll() {
        List<Node> nodes = list();
        try (var exec = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (Node n : nodes) {
                exec.submit(() -> {
                    try {
                        checkOne(n);
                    } catch (Throwable t) {
                        // a submitted task's failure is otherwise silent: the node would stay as it was, unexplained
                        log.error("checking node '{}' failed", n.name(), t);
                    }
                });
            }
        }
    }

    /** Marks a node offline after a runtime call found it unreachable. */
    public void reportUnreachable(Node node, RuntimeUnavailableException e) {
        // a call that ran out of time may have met an engine that is busy, not gone: the ping decides (one
        // check at a time per node; a check already running decides for this failure too). A node already
        // offline (whose going offline may have cut this very call short) is left to the periodic check.
        if (isOnline(node) && checking.add(node.id())) {
            try {
                checkOne(node);
            } finally {
                checking.remove(node.id());
            }
        }
    }

    void checkOne(Node node) {
        ContainerRuntime rt;
        try {
            rt = runtime(node);
        } catch (RuntimeException e) {
            if (DatabaseHealth.classify(e).isEmpty()) {
                failed(node, e);
            } // else: the database is away, which says nothing about the node
            return;
        }
        // a ping out of time may have met an engine busy starting fifty containers, so it is asked once more
        // at once; two in a row is an engine that stopped answering (offline within the check interval plus
        // two ping deadlines: 6 s with the defaults)
        for (int attempt = 1; ; attempt++) {
            try {
                rt.ping();
                break;
            } catch (RuntimeUnavailableException e) {
                if (e.timedOut() && attempt < PING_TIMEOUTS_TO_OFFLINE && !interrupted(e)) {
                    log.debug("node '{}' did not answer a ping in time, asking again: {}", node.name(), e.getMessage());
                    continue;
                }
                failed(node, e);
                return;
            } catch (RuntimeException e) {
                failed(node, e);
                return;
            }
        }
        setStatus(node, NodeStatus.ONLINE, null);
    }

    /**
     * A call to the node failed: offline, unless this process cut the call short itself (a reconciler
     * closing, a shutdown), which says nothing about the node.
     */
    private void failed(Node node, RuntimeException e) {
        if (!interrupted(e)) {
            setStatus(
                    node,
                    NodeStatus.OFFLINE,
                    e instanceof ContainerRuntimeException
                            ? e.getMessage()
                            : "the check failed inside Pier (" + e.getClass().getSimpleName() + ")");
        }
    }

    private static boolean interrupted(Throwable e) {
        if (Thread.currentThread().isInterrupted()) {
            return true;
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            // not InterruptedIOException in general: SocketTimeoutException is one, and a node that times
            // out is exactly what must go offline
            if (t instanceof InterruptedException || t instanceof java.nio.channels.ClosedByInterruptException) {
                return true;
            }
        }
        return false;
    }

    private void setStatus(Node node, NodeStatus status, String why) {
        String reasonBefore = status == NodeStatus.OFFLINE ? reasons.put(node.id(), why) : reasons.remove(node.id());
        if (status == NodeStatus.OFFLINE && !why.equals(reasonBefore)) {
            cached = null; // the listing shows the reason
        }
        NodeStatus before = statuses.put(node.id(), status);
        Instant now = now();
        Instant lastWrite = seenWritten.get(node.id());
        // status changes are written at once; "last seen" of an online node at most every 30 s
        if (before != status
                || unwritten.contains(node.id())
                || (status == NodeStatus.ONLINE
                        && (lastWrite == null || lastWrite.plusSeconds(30).isBefore(now)))) {
            Instant seen = status == NodeStatus.ONLINE ? now : null;
            try {
                jdbi.useTransaction(h -> {
                    h.attach(NodeDao.class).setStatus(node.id(), status.wire(), seen);
                    ChangeFeed.bump(h, Topic.NODES);
                });
                seenWritten.put(node.id(), now);
                unwritten.remove(node.id());
            } catch (RuntimeException e) {
                // the database is away: the status in memory is right and is what actions go by; it is
                // written by the next check that can (a failed write is no reason to doubt the node)
                unwritten.add(node.id());
                log.debug("could not record node '{}' as {}: {}", node.name(), status.wire(), e.toString());
            }
            cached = null;
        }
        if (before != status) {
            if (status == NodeStatus.OFFLINE) {
                log.warn("node '{}' is offline: {}", node.name(), why);
                ContainerRuntime rt = runtimes.get(node.id());
                if (rt != null) {
                    rt.abortCalls("node '" + node.name() + "' stopped answering (" + why + ")");
                }
            } else {
                log.info("node '{}' is {}", node.name(), status.wire());
            }
            for (Consumer<Node> l : statusListeners) {
                try {
                    l.accept(node);
                } catch (RuntimeException e) {
                    log.warn("a listener of node '{}' changing status failed: {}", node.name(), e.toString());
                }
            }
            if (status == NodeStatus.ONLINE) {
                for (Consumer<Node> l : onlineListeners) {
                    try {
                        l.accept(node);
                    } catch (RuntimeException e) {
                        // a listener's failure is not the node's: it stays online
                        log.warn("a listener of node '{}' coming online failed: {}", node.name(), e.toString());
                    }
                }
            }
        }
    }

    private DockerEndpoint endpointOf(UUID id) {
        NodeRow row = jdbi.withHandle(h -> h.attach(NodeDao.class).findById(id))
                .orElseThrow(() -> new PierException.NotFound("node " + id + " not found"));
        DockerEndpoint ep = DockerEndpoint.parse(row.endpoint()).withPolicy(policy);
        if (row.tlsCert() != null) {
            String key = new String(box.open(row.tlsKey(), aad(id)), java.nio.charset.StandardCharsets.UTF_8);
            ep = ep.withTls(new TlsMaterial(row.tlsCa(), row.tlsCert(), key));
        }
        return ep;
    }

    private static String endpoint(String address, Integer port) {
        if (address == null || address.isBlank()) {
            throw new PierException.Invalid("address is required");
        }
        String a = address.strip();
        if (a.startsWith("unix://")) {
            if (a.length() > 512 || a.chars().anyMatch(Character::isISOControl) || !a.startsWith("unix:///")) {
                throw new PierException.Invalid("address is not a valid unix:// socket path (unix:///absolute/path)");
            }
            try {
                DockerEndpoint.parse(a);
            } catch (IllegalArgumentException e) {
                throw new PierException.Invalid("address is not a valid unix:// socket path (unix:///absolute/path)");
            }
            return a;
        }
        if (a.startsWith("tcp://")) {
            a = a.substring(6);
        }
        if (!HOST.matcher(a).matches()) {
            throw new PierException.Invalid("address must be a host name or IP address");
        }
        if (port == null || port < 1 || port > 65535) {
            throw new PierException.Invalid("port must be 1-65535");
        }
        return "tcp://" + a + ":" + port;
    }

    private static String clean(String s, int max, String field) {
        String v = s == null ? "" : s.strip();
        if (v.length() > max || v.chars().anyMatch(Character::isISOControl)) {
            throw new PierException.Invalid(field + " must be at most " + max + " printable characters");
        }
        return v;
    }

    private static long totalMemoryMib() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize() / (1024 * 1024);
        }
        return 1024;
    }

    private static String processor() {
        return Runtime.getRuntime().availableProcessors() + " cores, " + System.getProperty("os.arch");
    }

    static final String PLAIN_TCP_WARNING = "plain TCP without TLS: anyone on the network between Pier and this "
            + "engine can read and control it (allowed by PIER_ALLOW_PLAIN_TCP)";

    /** A lookup that gives up after {@code limit}, as a name that does not resolve. */
    private static InetAddress[] resolveWithin(EngineAddressPolicy.Resolver resolver, String host, Duration limit)
            throws UnknownHostException {
        CompletableFuture<InetAddress[]> f = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                f.complete(resolver.resolve(host));
            } catch (UnknownHostException | RuntimeException e) {
                f.completeExceptionally(e);
            }
        });
        try {
            return f.get(limit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownHostException u) {
                throw u;
            }
            throw new UnknownHostException(host + ": " + e.getCause().getClass().getSimpleName());
        } catch (TimeoutException e) {
            throw new UnknownHostException(host + ": no answer within " + limit.toSeconds() + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UnknownHostException(host + ": interrupted");
        }
    }

    static String aad(UUID nodeId) {
        return "node-tls:" + nodeId;
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }

    @Override
    public void close() {
        runtimes.values().forEach(rt -> {
            try {
                rt.close();
            } catch (RuntimeException ignored) {
                // closing on shutdown: nothing left to do with an error
            }
        });
        runtimes.clear();
    }
}
