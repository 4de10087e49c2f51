package dev.pier.instances;

import dev.pier.audit.AuditLog;
import dev.pier.security.Policy;
import dev.pier.security.Principal;
import dev.pier.security.Scope;
import dev.pier.db.ChangeFeed;
import dev.pier.db.Topic;
import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.images.Image;
import dev.pier.images.ImageService;
import dev.pier.nodes.Node;
import dev.pier.nodes.NodeService;
import dev.pier.runtime.ContainerConflictException;
import dev.pier.runtime.ContainerNotFoundException;
import dev.pier.runtime.ContainerRuntime;
import dev.pier.runtime.ContainerRuntimeException;
import dev.pier.runtime.ContainerSpec;
import dev.pier.runtime.ContainerSummary;
import dev.pier.runtime.RuntimeOperationException;
import dev.pier.runtime.RuntimeUnavailableException;
import dev.pier.security.Role;
import dev.pier.users.User;
import dev.pier.users.UserService;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * Instances: deploy, lifecycle actions, delete, logs. Pier owns the desired state; every action
 * records it first and then asks the node, so a crash at any point leaves something the
 * {@link Reconciler} can finish. Operations on one instance are serialized ({@link InstanceLocks});
 * listings are served from memory. Thread-safe.
 */
public final class InstanceService {
    private static final Logger log = LoggerFactory.getLogger(InstanceService.class);
    static final Duration STOP_GRACE = Duration.ofSeconds(10);
    static final int AUTO_PORT_MIN = 20000;
    static final int AUTO_PORT_MAX = 29999;
    /** Deploy attempts when host ports Pier picked turn out to be taken on the node by something else. */
    static final int AUTO_PORT_ATTEMPTS = 20;
    private static final String[] ADJECTIVES = {"brisk", "calm", "deep", "fair", "keen", "mild", "quiet", "swift", "tidal", "warm"};
    private static final String[] NOUNS = {"anchor", "buoy", "cove", "dock", "harbor", "jetty", "keel", "mast", "quay", "wharf"};

    private final Jdbi jdbi;
    private final NodeService nodes;
    private final ImageService images;
    private final UserService users;
    private final AuditLog audit;
    private final Clock clock;
    final InstanceLocks locks = new InstanceLocks();
    private final SecureRandom random = new SecureRandom();
    private final UUID installation;
    private volatile List<Instance> cached;

    /** Label naming the installation a container belongs to (engines may be shared). */
    public static final String INSTALLATION_LABEL = "pier.installation";

    public InstanceService(Jdbi jdbi, NodeService nodes, ImageService images, UserService users, AuditLog audit,
                           ChangeFeed changes, Clock clock, UUID installation) {
        this.installation = installation;
        this.jdbi = jdbi;
        this.nodes = nodes;
        this.images = images;
        this.users = users;
        this.audit = audit;
        this.clock = clock;
        changes.onChange(Topic.INSTANCES, this::invalidate);
    }

    /**
     * A deploy request; null fields take defaults: the default image, a generated name, the image's
     * ports with free host ports, 256 MiB, 1 core, the only online node, the caller as owner.
     */
    public record DeployRequest(String name, String image, String node, UUID ownerId, Long memoryMib, Double cpu,
                                Long diskMib, String ports, Integer primaryPort, Map<String, String> variables) {
    }

    public Instance deploy(Principal actor, DeployRequest req) {
        Policy.require(actor, Role.MANAGER, Scope.WRITE);
        // 1. validate everything before touching Docker
        Image image = req.image() == null || req.image().isBlank()
                ? images.defaultImage().orElseThrow(() -> new PierException.Invalid("no image given and no default image is registered"))
                : images.resolve(req.image()).orElseThrow(() -> new PierException.Invalid("image '" + req.image() + "' is not registered"));
        Node node = pickNode(req.node());
        String name = req.name() == null || req.name().isBlank() ? generateName() : req.name();
        Validation.name(name);
        int memory = Validation.memory(req.memoryMib() == null ? 256 : req.memoryMib());
        double cpu = Validation.cpu(req.cpu() == null ? 1.0 : req.cpu());
        long disk = req.diskMib() == null ? 0 : req.diskMib();
        if (disk < 0 || disk > Integer.MAX_VALUE) {
            throw new PierException.Invalid("disk must be a non-negative number of MiB");
        }
        Map<String, String> vars = new LinkedHashMap<>(image.variables());
        if (req.variables() != null) {
            vars.putAll(req.variables());
        }
        Validation.variables(vars);
        List<PortMapping> requested = req.ports() != null ? Validation.ports(req.ports())
                : image.ports().stream().map(p -> new PortMapping(p, 0, "tcp")).toList();
        Integer primary = req.primaryPort();
        if (primary != null && requested.stream().noneMatch(p -> p.containerPort() == primary || p.hostPort() == primary)) {
            throw new PierException.Invalid("primary port " + primary + " is not one of the instance's ports");
        }
        UUID owner = req.ownerId() != null ? req.ownerId() : (actor.kind() == Principal.Kind.SYSTEM ? null : actor.userId());
        if (req.ownerId() != null && users.findById(req.ownerId()).isEmpty()) {
            throw new PierException.Invalid(Reason.USER_NOT_FOUND, "user " + req.ownerId() + " not found");
        }
        ContainerRuntime runtime = nodes.onlineRuntime(node);

        // a host port Pier picked may be held by something Pier does not know (another installation, a
        // process on the node): the node refuses it at start, and the deploy tries again without it
        Set<Integer> avoid = new HashSet<>();
        for (int attempt = 1; ; attempt++) {
            boolean lastAttempt = attempt >= AUTO_PORT_ATTEMPTS;

            // 2. record it (capacity and ports checked under the node's row lock; names and ports unique in the DB)
            UUID id = UUID.randomUUID();
            List<PortMapping> ports = record(id, name, owner, node, image, memory, (int) disk, cpu, requested, primary,
                    vars, avoid);
            invalidate();
            audit.record(actor.actor(), "instance.deploy", name, "recorded", "node=" + node.name() + " image=" + image.reference());

            // 3. create and start the container
            Instance deployed = locks.exclusive(id, () -> {
                try {
                    images.ensureOn(node, runtime, image.reference(), line -> { });
                    String cid = createContainer(runtime, require(id));
                    runtime.start(cid);
                    setObserved(id, "running", null);
                    audit.record(actor.actor(), "instance.deploy", name, "success", cid);
                    return require(id);
                } catch (RuntimeUnavailableException e) {
                    nodes.reportUnreachable(node, e);
                    // the client is told the deploy failed: nothing may appear later. The record stays, marked for
                    // deletion (its name and host ports held), until the reconciler has removed whatever container
                    // the node made of it when it answers again
                    jdbi.useHandle(h -> h.attach(InstanceDao.class).markDeleting(id, now()));
                    invalidate();
                    audit.record(actor.actor(), "instance.deploy", name, "failure", "node unreachable");
                    throw new PierException.Unavailable("node '" + node.name() + "' became unreachable during the deploy: "
                            + e.getMessage() + "; the instance was not created");
                } catch (ContainerRuntimeException | PierException e) {
                    // the node refused (port taken by something else, bad command…): undo, leave nothing behind
                    rollback(runtime, id);
                    audit.record(actor.actor(), "instance.deploy", name, "failure", e.getMessage());
                    Integer taken = takenAutoPort(e, requested, ports);
                    if (taken != null && !lastAttempt) {
                        log.info("host port {} picked for {} is taken on node '{}'; picking another", taken, name, node.name());
                        avoid.add(taken);
                        return null;
                    }
                    if (e instanceof PierException pe) {
                        throw pe;
                    }
                    throw new PierException.Conflict(Reason.CONFLICT, "node '" + node.name() + "' refused the container: " + e.getMessage());
                }
            });
            if (deployed != null) {
                return deployed;
            }
        }
    }

    /**
     * The host port the node reported as taken, if Pier picked it (the caller asked for any port);
     * null when the failure is something else or the caller chose that port.
     */
    private static Integer takenAutoPort(RuntimeException e, List<PortMapping> requested, List<PortMapping> assigned) {
        if (!(e instanceof RuntimeOperationException refused) || refused.takenHostPort().isEmpty()) {
            return null;
        }
        int port = refused.takenHostPort().getAsInt();
        for (int i = 0; i < requested.size() && i < assigned.size(); i++) {
            if (requested.get(i).hostPort() == 0 && assigned.get(i).hostPort() == port) {
                return port;
            }
        }
        return null;
    }

    private List<PortMapping> record(UUID id, String name, UUID owner, Node node, Image image, int memory, int disk,
                                     double cpu, List<PortMapping> requested, Integer primary, Map<String, String> vars,
                                     Set<Integer> avoid) {
        try {
            return jdbi.inTransaction(h -> {
                InstanceDao dao = h.attach(InstanceDao.class);
                dao.lockNode(node.id());
                if (dao.findByName(name).isPresent()) {
                    throw new PierException.Conflict(Reason.CONFLICT, "an instance named '" + name + "' exists");
                }
                long usedRam = dao.memoryOnNode(node.id());
                if (usedRam + memory > node.ramMib()) {
                    throw new PierException.Conflict(Reason.CONFLICT, "node '" + node.name() + "' has " + (node.ramMib() - usedRam)
                            + " MiB of " + node.ramMib() + " MiB RAM left; " + memory + " MiB requested");
                }
                long usedDisk = dao.diskOnNode(node.id());
                if (usedDisk + disk > node.diskMib()) {
                    throw new PierException.Conflict(Reason.CONFLICT, "node '" + node.name() + "' has " + (node.diskMib() - usedDisk)
                            + " MiB of disk left; " + disk + " MiB requested");
                }
                List<PortMapping> ports = assignPorts(dao, node, requested, avoid);
                dao.insert(id, name, owner, node.id(), image.id(), image.reference(), InstanceRow.json(image.command()),
                        memory, disk, cpu, InstanceRow.json(ports), primary, InstanceRow.json(vars), now());
                for (PortMapping p : ports) {
                    dao.insertPort(node.id(), p.hostPort(), p.protocol(), id);
                }
                return ports;
            });
        } catch (UnableToExecuteStatementException e) {
            // a racing deploy took the name or a host port between our check and our insert
            throw new PierException.Conflict(Reason.CONFLICT, "the name or a host port was taken by a concurrent deploy; try again");
        }
    }

    private List<PortMapping> assignPorts(InstanceDao dao, Node node, List<PortMapping> requested, Set<Integer> avoid) {
        Map<String, Set<Integer>> used = new HashMap<>();
        List<PortMapping> out = new ArrayList<>();
        for (PortMapping p : requested) {
            Set<Integer> taken = used.computeIfAbsent(p.protocol(), proto -> new HashSet<>(dao.usedPorts(node.id(), proto)));
            int host = p.hostPort();
            if (host == 0) {
                host = AUTO_PORT_MIN;
                while (host <= AUTO_PORT_MAX && (taken.contains(host) || avoid.contains(host))) {
                    host++;
                }
                if (host > AUTO_PORT_MAX) {
                    throw new PierException.Conflict(Reason.CONFLICT, "no free host port left on node '" + node.name() + "'");
                }
            } else if (taken.contains(host)) {
                throw new PierException.Conflict(Reason.CONFLICT, "host port " + host + "/" + p.protocol()
                        + " is already used on node '" + node.name() + "'");
            }
            taken.add(host);
            out.add(new PortMapping(p.containerPort(), host, p.protocol()));
        }
        return out;
    }

    /** Creates the container for a recorded instance; adopts the one a crashed earlier attempt made. */
    String createContainer(ContainerRuntime runtime, Instance inst) {
        // container names are global to an engine that other installations may share: the instance id makes
        // the name unique there, and fixed per instance, so a second create after a crash is a conflict
        ContainerSpec.Builder b = ContainerSpec.builder(inst.id(), inst.name() + "-" + inst.id(), inst.imageRef())
                .command(inst.command())
                .env(inst.variables())
                .memoryMiB(inst.memoryMib())
                .cpus(inst.cpu())
                .label(INSTALLATION_LABEL, installation.toString());
        for (PortMapping p : inst.ports()) {
            b.port(new ContainerSpec.PortBinding(p.containerPort(), p.hostPort(),
                    p.protocol().equals("udp") ? ContainerSpec.Protocol.UDP : ContainerSpec.Protocol.TCP));
        }
        String cid;
        try {
            cid = runtime.create(b.build());
        } catch (ContainerConflictException exists) {
            cid = runtime.listManaged().stream()
                    .filter(c -> ours(c) && c.instanceId().filter(inst.id()::equals).isPresent())
                    .map(ContainerSummary::id).findFirst()
                    .orElseThrow(() -> exists);
        }
        String containerId = cid;
        jdbi.useHandle(h -> h.attach(InstanceDao.class).setContainer(inst.id(), containerId, now()));
        invalidate();
        return containerId;
    }

    private void rollback(ContainerRuntime runtime, UUID id) {
        Instance inst = find(id).orElse(null);
        if (inst != null) {
            try {
                // by label as well: a create whose answer was lost made a container the record does not name
                for (String cid : containersOf(runtime, inst)) {
                    runtime.remove(cid, true);
                }
            } catch (RuntimeException e) {
                log.warn("rollback: could not remove container of {}: {}", id, e.toString());
            }
        }
        jdbi.useHandle(h -> h.attach(InstanceDao.class).delete(id));
        invalidate();
    }

    public enum Action { START, STOP, RESTART, KILL, SUSPEND, UNSUSPEND }

    public Instance act(Principal actor, UUID id, Action action) {
        Policy.require(actor, action == Action.SUSPEND || action == Action.UNSUSPEND ? Role.ADMIN : Role.MANAGER, Scope.WRITE);
        Instance inst = require(id);
        Node node = nodes.require(inst.nodeId());
        if ("deleted".equals(inst.desiredState())) {
            throw new PierException.Conflict(Reason.CONFLICT, "instance '" + inst.name() + "' is being deleted");
        }
        return locks.exclusive(id, () -> {
            ContainerRuntime runtime = nodes.onlineRuntime(node);
            Instance cur = require(id);
            try {
                switch (action) {
                    case START -> {
                        if (cur.suspended()) {
                            throw new PierException.Conflict(Reason.CONFLICT, "instance '" + cur.name() + "' is suspended; an admin must unsuspend it");
                        }
                        setDesired(id, "running");
                        runtime.start(containerOf(runtime, cur));
                        setObserved(id, "running", null);
                    }
                    case STOP -> {
                        setDesired(id, "stopped");
                        runtime.stop(containerOf(runtime, cur), STOP_GRACE);
                        setObserved(id, "stopped", null);
                    }
                    case RESTART -> {
                        if (cur.suspended()) {
                            throw new PierException.Conflict(Reason.CONFLICT, "instance '" + cur.name() + "' is suspended; an admin must unsuspend it");
                        }
                        setDesired(id, "running");
                        runtime.restart(containerOf(runtime, cur), STOP_GRACE);
                        setObserved(id, "running", null);
                    }
                    case KILL -> {
                        setDesired(id, "stopped");
                        runtime.kill(containerOf(runtime, cur));
                        setObserved(id, "stopped", null);
                    }
                    case SUSPEND -> suspend(runtime, cur);
                    case UNSUSPEND -> {
                        jdbi.useHandle(h -> h.attach(InstanceDao.class).setSuspended(id, false, "running", now()));
                        invalidate();
                        runtime.start(containerOf(runtime, cur));
                        setObserved(id, "running", null);
                    }
                }
            } catch (RuntimeUnavailableException e) {
                nodes.reportUnreachable(node, e);
                throw new PierException.Unavailable("node '" + node.name() + "' is unreachable: " + e.getMessage());
            } catch (ContainerRuntimeException e) {
                setObserved(id, "failed", e.getMessage());
                audit.record(actor.actor(), "instance." + action.name().toLowerCase(), cur.name(), "failure", e.getMessage());
                throw new PierException.Conflict(Reason.CONFLICT, "node '" + node.name() + "' refused to "
                        + action.name().toLowerCase() + " '" + cur.name() + "': " + e.getMessage());
            }
            audit.record(actor.actor(), "instance." + action.name().toLowerCase(), cur.name(), "success", null);
            return require(id);
        });
    }

    /** Stops the container and forbids start; the flag is rolled back if the node call fails. */
    private void suspend(ContainerRuntime runtime, Instance cur) {
        jdbi.useHandle(h -> h.attach(InstanceDao.class).setSuspended(cur.id(), true, "stopped", now()));
        invalidate();
        try {
            runtime.stop(containerOf(runtime, cur), STOP_GRACE);
            setObserved(cur.id(), "stopped", null);
        } catch (RuntimeException e) {
            jdbi.useHandle(h -> h.attach(InstanceDao.class).setSuspended(cur.id(), cur.suspended(), cur.desiredState(), now()));
            invalidate();
            throw e;
        }
    }

    /**
     * Deletes container and record. With {@code force}, an offline node does not stop it: the record
     * goes now and the reconciler removes the container as an orphan once the node is back.
     */
    public void delete(Principal actor, UUID id, boolean force) {
        Policy.require(actor, Role.MANAGER, Scope.WRITE);
        Instance inst = require(id);
        Node node = nodes.require(inst.nodeId());
        locks.exclusive(id, () -> {
            boolean online = nodes.isOnline(node);
            if (!online && !force) {
                throw new PierException.Unavailable("node '" + node.name() + "' is offline; delete with force to drop the record now");
            }
            jdbi.useHandle(h -> h.attach(InstanceDao.class).markDeleting(id, now()));
            invalidate();
            if (online) {
                try {
                    ContainerRuntime runtime = nodes.runtime(node);
                    for (String cid : containersOf(runtime, inst)) {
                        runtime.remove(cid, true);
                    }
                } catch (RuntimeUnavailableException e) {
                    nodes.reportUnreachable(node, e);
                    if (!force) {
                        throw new PierException.Unavailable("node '" + node.name() + "' is unreachable; the instance is "
                                + "marked for deletion and will be removed when the node is back");
                    }
                } catch (ContainerRuntimeException e) {
                    if (!force) {
                        throw new PierException.Conflict(Reason.CONFLICT, "node refused to remove the container: " + e.getMessage());
                    }
                }
            }
            jdbi.useHandle(h -> h.attach(InstanceDao.class).delete(id));
            invalidate();
            audit.record(actor.actor(), "instance.delete", inst.name(), "success", force ? "forced" : null);
            return null;
        });
        locks.forget(id);
    }

    public String logs(Principal actor, UUID id, int tail) {
        Policy.require(actor, Role.VIEWER, Scope.READ);
        if (tail < 1 || tail > 10_000) {
            throw new PierException.Invalid("tail must be between 1 and 10000");
        }
        Instance inst = require(id);
        Node node = nodes.require(inst.nodeId());
        ContainerRuntime runtime = nodes.onlineRuntime(node);
        try {
            return runtime.logs(containerOf(runtime, inst), tail);
        } catch (RuntimeUnavailableException e) {
            nodes.reportUnreachable(node, e);
            throw new PierException.Unavailable("node '" + node.name() + "' is unreachable: " + e.getMessage());
        } catch (ContainerRuntimeException e) {
            throw new PierException.Conflict(Reason.CONFLICT, "no logs: " + e.getMessage());
        }
    }

    /** Every instance, oldest first, from memory (refreshed after any change). */
    public List<Instance> list() {
        List<Instance> l = cached;
        if (l == null) {
            l = jdbi.withHandle(h -> h.attach(InstanceDao.class).listAll().stream().map(InstanceRow::toInstance).toList());
            cached = l;
        }
        return l;
    }

    public Optional<Instance> find(UUID id) {
        return jdbi.withHandle(h -> h.attach(InstanceDao.class).findById(id).map(InstanceRow::toInstance));
    }

    public Instance require(UUID id) {
        return find(id).orElseThrow(() -> new PierException.NotFound("instance " + id + " not found"));
    }

    /** By id or by name (the Matrix API names droplets either way). */
    public Instance resolve(String idOrName) {
        if (idOrName == null || idOrName.isBlank()) {
            throw new PierException.Invalid("instance id or name is required");
        }
        try {
            return require(UUID.fromString(idOrName.strip()));
        } catch (IllegalArgumentException notUuid) {
            return jdbi.withHandle(h -> h.attach(InstanceDao.class).findByName(idOrName.strip()))
                    .map(InstanceRow::toInstance)
                    .orElseThrow(() -> new PierException.NotFound("instance '" + Validation.printable(idOrName) + "' not found"));
        }
    }

    public List<Instance> listByOwner(UUID ownerId) {
        return list().stream().filter(i -> i.ownerId().filter(ownerId::equals).isPresent()).toList();
    }

    public Optional<User> owner(Instance i) {
        return i.ownerId().flatMap(users::findById);
    }

    /** The container id, re-discovered from labels if the record lost it. */
    private String containerOf(ContainerRuntime runtime, Instance inst) {
        if (inst.containerId().isPresent()) {
            return inst.containerId().get();
        }
        List<String> found = containersOf(runtime, inst);
        if (found.isEmpty()) {
            throw new ContainerNotFoundException("instance '" + inst.name() + "' has no container yet");
        }
        return found.getFirst();
    }

    private List<String> containersOf(ContainerRuntime runtime, Instance inst) {
        List<String> ids = new ArrayList<>();
        inst.containerId().ifPresent(ids::add);
        for (ContainerSummary c : runtime.listManaged()) {
            if (ours(c) && c.instanceId().filter(inst.id()::equals).isPresent() && !ids.contains(c.id())) {
                ids.add(c.id());
            }
        }
        return ids;
    }

    private Node pickNode(String requested) {
        if (requested != null && !requested.isBlank()) {
            return nodes.resolve(requested);
        }
        List<Node> online = nodes.list().stream().filter(nodes::isOnline).toList();
        if (online.isEmpty()) {
            throw new PierException.Unavailable("no node is online");
        }
        return online.getFirst();
    }

    private String generateName() {
        for (int i = 0; i < 20; i++) {
            String n = ADJECTIVES[random.nextInt(ADJECTIVES.length)] + "-" + NOUNS[random.nextInt(NOUNS.length)] + "-"
                    + (1000 + random.nextInt(9000));
            if (list().stream().noneMatch(x -> x.name().equals(n))) {
                return n;
            }
        }
        return "droplet-" + UUID.randomUUID().toString().substring(0, 8);
    }

    void setObserved(UUID id, String observed, String error) {
        jdbi.useHandle(h -> h.attach(InstanceDao.class).setObserved(id, observed,
                error == null ? null : error.length() > 1024 ? error.substring(0, 1024) : error, now()));
        invalidate();
    }

    private void setDesired(UUID id, String desired) {
        jdbi.useHandle(h -> h.attach(InstanceDao.class).setDesired(id, desired, now()));
        invalidate();
    }

    /** Whether a container was made by this installation. */
    boolean ours(ContainerSummary c) {
        return installation.toString().equals(c.labels().get(INSTALLATION_LABEL));
    }

    void invalidate() {
        cached = null;
    }

    Jdbi jdbi() {
        return jdbi;
    }

    Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }

    NodeService nodes() {
        return nodes;
    }

}
