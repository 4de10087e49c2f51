package dev.pier.instances;

import dev.pier.audit.AuditLog;
import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.images.Image;
import dev.pier.images.ImageService;
import dev.pier.nodes.Node;
import dev.pier.nodes.NodeService;
import dev.pier.runtime.ContainerRuntime;
import dev.pier.runtime.ContainerRuntimeException;
import dev.pier.runtime.RuntimeOperationException;
import dev.pier.runtime.RuntimeUnavailableException;
import dev.pier.security.Policy;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.security.Scope;
import dev.pier.users.User;
import dev.pier.users.UserService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * Instances: deploy, lifecycle actions, delete, logs. Pier owns the desired state; every action
 * records it first and then asks the node, so a crash at any point leaves something the
 * {@link Reconciler} can finish. Operations on one instance are serialized ({@link InstanceLocks});
 * listings are served from memory. Where an instance goes is {@link Placement}'s business, its
 * containers {@link Containers}'. Thread-safe.
 */
public final class InstanceService {
    private static final Logger log = LoggerFactory.getLogger(InstanceService.class);
    static final Duration STOP_GRACE = Duration.ofSeconds(10);
    /** Deploy attempts when host ports Pier picked turn out to be taken on the node by something else. */
    static final int AUTO_PORT_ATTEMPTS = 20;

    /** Label naming the installation a container belongs to (engines may be shared). */
    public static final String INSTALLATION_LABEL = Containers.INSTALLATION_LABEL;

    private final InstanceStore store;
    private final InstanceLocks locks;
    private final Placement placement;
    private final Containers containers;
    private final NodeService nodes;
    private final ImageService images;
    private final UserService users;
    private final AuditLog audit;
    private final DiskLimits disks;

    public InstanceService(
            InstanceStore store,
            InstanceLocks locks,
            Placement placement,
            Containers containers,
            NodeService nodes,
            ImageService images,
            UserService users,
            AuditLog audit,
            DiskLimits disks) {
        this.store = store;
        this.locks = locks;
        this.placement = placement;
        this.containers = containers;
        this.nodes = nodes;
        this.images = images;
        this.users = users;
        this.audit = audit;
        this.disks = disks;
    }

    /** What the instance's volume held at its last measure; empty before one or without a volume. */
    public Optional<DiskLimits.Usage> diskUsage(UUID id) {
        return disks.usage(id);
    }

    /**
     * Changes the instance's disk limit (MiB; 0 for none), within what its node has left. A limit raised
     * above what the volume was last measured to hold lets an instance stopped for its disk start again.
     */
    public Instance setDiskLimit(Principal actor, UUID id, long diskMib) {
        Policy.require(actor, Role.MANAGER, Scope.WRITE);
        if (diskMib < 0 || diskMib > Integer.MAX_VALUE) {
            throw new PierException.Invalid("disk_mib must be a non-negative number of MiB");
        }
        Instance inst = store.require(id);
        Node node = nodes.require(inst.nodeId());
        return locks.exclusive(id, () -> {
            store.inTransaction(dao -> {
                dao.lockNode(node.id());
                long others = dao.diskOnNode(node.id()) - store.require(id).diskMib();
                if (others + diskMib > node.diskMib()) {
                    throw new PierException.Conflict(
                            Reason.CONFLICT,
                            "node '" + node.name() + "' has " + (node.diskMib() - others) + " MiB of disk left; "
                                    + diskMib + " MiB requested");
                }
                return dao.setDiskMib(id, (int) diskMib, store.now());
            });
            Instance cur = store.require(id);
            long used = disks.usage(id).map(DiskLimits.Usage::bytes).orElse(0L);
            if (cur.diskOver() && (diskMib == 0 || used <= diskMib << 20)) {
                store.setDiskOver(id, false);
            }
            audit.record(actor.actor(), "instance.disk_limit", cur.name(), "success", diskMib + " MiB");
            return store.require(id);
        });
    }

    private static void requireUnderDiskLimit(Instance cur) {
        if (cur.diskOver()) {
            throw new PierException.Conflict(
                    Reason.CONFLICT,
                    "instance '" + cur.name() + "' is over its disk limit of " + cur.diskMib()
                            + " MiB; free space in its volume or raise disk_mib, then start it");
        }
    }

    /**
     * A deploy request; null fields take defaults: the default image, a name (derived from the display
     * name when there is one, else generated), the image's ports with free host ports, 256 MiB, 1 core, the
     * first online node, the caller as owner, stdin open when the image asks for it.
     *
     * @param name        a DNS label; null for one derived from {@code displayName} or generated
     * @param displayName what a person calls it (1-64 printable characters); null for none
     * @param stdin       whether its container gets an open stdin; null for what the image declares
     */
    public record DeployRequest(
            String name,
            String displayName,
            String image,
            String node,
            UUID ownerId,
            Long memoryMib,
            Double cpu,
            Long diskMib,
            String ports,
            Integer primaryPort,
            Map<String, String> variables,
            Boolean stdin) {}

    /**
     * Fills a new instance's volume before its container first starts (a deploy from a backup). Set once by
     * the composition root: the backups depend on the instances, not the other way round.
     */
    public interface Seeder {
        /** Refuses (4xx) a backup that cannot seed a deploy, before anything is recorded. */
        void check(Principal actor, UUID backupId);

        /** Puts the backup's data into the new instance's volume; its container exists and has not started. */
        void seed(Principal actor, UUID backupId, Instance inst);
    }

    private volatile Seeder seeder;

    public void seedFrom(Seeder seeder) {
        this.seeder = seeder;
    }

    /** Runs {@code work} with the instance held as a user action holds it: no action or reconcile meanwhile. */
    public <T> T holding(UUID id, Supplier<T> work) {
        return locks.exclusive(id, work);
    }

    /** Records the desired state (a restore stops an instance and puts back what it wanted). */
    public void setDesired(UUID id, DesiredState desired) {
        store.setDesired(id, desired);
    }

    public Instance deploy(Principal actor, DeployRequest req) {
        return deploy(actor, req, null);
    }

    /** A deploy whose volume starts with the data of backup {@code fromBackup} (null: empty). */
    public Instance deploy(Principal actor, DeployRequest req, UUID fromBackup) {
        Policy.require(actor, Role.MANAGER, Scope.WRITE);
        if (fromBackup != null) {
            if (seeder == null) {
                throw new PierException.Invalid("this process cannot deploy from a backup");
            }
            seeder.check(actor, fromBackup);
        }
        // 1. validate everything before touching Docker
        Image image = req.image() == null || req.image().isBlank()
                ? images.defaultImage()
                        .orElseThrow(
                                () -> new PierException.Invalid("no image given and no default image is registered"))
                : images.resolve(req.image())
                        .orElseThrow(() -> new PierException.Invalid(
                                "image '" + Validation.printable(req.image()) + "' is not registered"));
        if (fromBackup != null && image.dataPath().isEmpty()) {
            throw new PierException.Invalid(
                    "image '" + image.name() + "' keeps no data: there is nowhere to restore " + "the backup to");
        }
        Node node = placement.pickNode(req.node());
        String displayName = req.displayName() == null ? null : Names.displayName(req.displayName());
        String givenName = req.name() == null || req.name().isBlank() ? null : req.name();
        if (givenName != null) {
            Validation.name(givenName);
        }
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
        List<PortMapping> requested = req.ports() != null
                ? Validation.ports(req.ports())
                : image.ports().stream().map(p -> new PortMapping(p, 0, "tcp")).toList();
        placement.checkHostPorts(node, requested);
        Integer primary = req.primaryPort();
        if (primary != null
                && requested.stream().noneMatch(p -> p.containerPort() == primary || p.hostPort() == primary)) {
            throw new PierException.Invalid("primary port " + primary + " is not one of the instance's ports");
        }
        UUID owner =
                req.ownerId() != null ? req.ownerId() : (actor.kind() == Principal.Kind.SYSTEM ? null : actor.userId());
        if (req.ownerId() != null && users.findById(req.ownerId()).isEmpty()) {
            throw new PierException.Invalid(Reason.USER_NOT_FOUND, "user " + req.ownerId() + " not found");
        }
        ContainerRuntime runtime = nodes.onlineRuntime(node);
        String generated = givenName == null && displayName == null
                ? Names.generate(n -> list().stream().anyMatch(x -> x.name().equals(n)))
                : null;

        // a host port Pier picked may be held by something Pier does not know (another installation, a
        // process on the node): the node refuses it at start, and the deploy tries again without it
        Set<Integer> avoid = new HashSet<>();
        for (int attempt = 1; ; attempt++) {
            boolean lastAttempt = attempt >= AUTO_PORT_ATTEMPTS;

            // 2. record it (capacity and ports checked with the node's row locked; names and ports unique in the DB)
            UUID id = UUID.randomUUID();
            String name = givenName != null ? givenName : generated != null ? generated : Names.derive(displayName, id);
            List<PortMapping> ports = placement.record(
                    new Placement.Request(
                            id,
                            name,
                            displayName,
                            owner,
                            node,
                            image,
                            memory,
                            (int) disk,
                            cpu,
                            requested,
                            primary,
                            vars,
                            req.stdin() != null ? req.stdin() : image.stdin()),
                    avoid);
            audit.record(
                    actor.actor(),
                    "instance.deploy",
                    name,
                    "recorded",
                    "node=" + node.name() + " image=" + image.reference());

            // 3. create and start the container
            Instance deployed = locks.exclusive(id, () -> {
                try {
                    images.ensureOn(node, runtime, image.reference(), line -> {});
                    String cid = containers.create(runtime, store.require(id));
                    if (fromBackup != null) {
                        seeder.seed(actor, fromBackup, store.require(id));
                    }
                    runtime.start(cid);
                    store.setObserved(id, ObservedState.RUNNING, null);
                    audit.record(actor.actor(), "instance.deploy", name, "success", cid);
                    return store.require(id);
                } catch (RuntimeUnavailableException e) {
                    nodes.reportUnreachable(node, e);
                    // the client is told the deploy failed: nothing may appear later. The record stays, marked for
                    // deletion (its name and host ports held), until the reconciler has removed whatever container
                    // the node made of it when it answers again
                    store.markDeleting(id);
                    audit.record(actor.actor(), "instance.deploy", name, "failure", "node unreachable");
                    throw new PierException.Unavailable(
                            "node '" + node.name() + "' became unreachable during the deploy: " + e.getMessage()
                                    + "; the instance was not created");
                } catch (ContainerRuntimeException | PierException e) {
                    // the node refused (port taken by something else, bad command…): undo, leave nothing behind
                    rollback(runtime, id);
                    audit.record(actor.actor(), "instance.deploy", name, "failure", e.getMessage());
                    Integer taken = takenAutoPort(e, requested, ports);
                    if (taken != null && !lastAttempt) {
                        log.info(
                                "host port {} picked for {} is taken on node '{}'; picking another",
                                taken,
                                name,
                                node.name());
                        avoid.add(taken);
                        return null;
                    }
                    if (e instanceof PierException pe) {
                        throw pe;
                    }
                    throw new PierException.Conflict(
                            Reason.CONFLICT, "node '" + node.name() + "' refused the container: " + e.getMessage());
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
        if (!(e instanceof RuntimeOperationException refused)
                || refused.takenHostPort().isEmpty()) {
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

    /**
     * Undoes a deploy the node refused: its containers (by label too) and its new, empty volume, then the
     * record. What cannot be removed now the reconciler removes as an orphan.
     */
    private void rollback(ContainerRuntime runtime, UUID id) {
        Optional<Instance> inst = store.find(id);
        if (inst.isPresent()) {
            try {
                containers.removeAll(runtime, inst.get());
                containers.removeVolume(runtime, inst.get());
            } catch (RuntimeException e) {
                log.warn("rollback: could not remove container or volume of {}: {}", id, e.toString());
            }
        }
        store.delete(id);
    }

    public enum Action {
        START,
        STOP,
        RESTART,
        KILL,
        SUSPEND,
        UNSUSPEND
    }

    /**
     * Runs a user's action. Setting the desired state also ends any restart back-off: the reconciler
     * starts counting anew from what the user asked for.
     */
    public Instance act(Principal actor, UUID id, Action action) {
        Policy.require(
                actor, action == Action.SUSPEND || action == Action.UNSUSPEND ? Role.ADMIN : Role.MANAGER, Scope.WRITE);
        Instance inst = store.require(id);
        Node node = nodes.require(inst.nodeId());
        if (inst.desiredState() == DesiredState.DELETED) {
            throw new PierException.Conflict(Reason.CONFLICT, "instance '" + inst.name() + "' is being deleted");
        }
        return locks.exclusive(id, () -> {
            ContainerRuntime runtime = nodes.onlineRuntime(node);
            Instance cur = store.require(id);
            try {
                switch (action) {
                    case START -> {
                        requireNotSuspended(cur);
                        requireUnderDiskLimit(cur);
                        store.setDesired(id, DesiredState.RUNNING);
                        containers.start(runtime, containers.of(runtime, cur));
                        store.started(id);
                    }
                    case STOP -> {
                        store.setDesired(id, DesiredState.STOPPED);
                        runtime.stop(containers.of(runtime, cur), STOP_GRACE);
                        store.setObserved(id, ObservedState.STOPPED, null);
                    }
                    case RESTART -> {
                        requireNotSuspended(cur);
                        requireUnderDiskLimit(cur);
                        store.setDesired(id, DesiredState.RUNNING);
                        runtime.restart(containers.of(runtime, cur), STOP_GRACE);
                        store.started(id);
                    }
                    case KILL -> {
                        store.setDesired(id, DesiredState.STOPPED);
                        runtime.kill(containers.of(runtime, cur));
                        store.setObserved(id, ObservedState.STOPPED, null);
                    }
                    case SUSPEND -> suspend(runtime, cur);
                    case UNSUSPEND -> {
                        requireUnderDiskLimit(cur);
                        store.setSuspended(id, false, DesiredState.RUNNING);
                        containers.start(runtime, containers.of(runtime, cur));
                        store.started(id);
                    }
                }
            } catch (RuntimeUnavailableException e) {
                nodes.reportUnreachable(node, e);
                throw new PierException.Unavailable("node '" + node.name() + "' is unreachable: " + e.getMessage());
            } catch (ContainerRuntimeException e) {
                store.setObserved(id, ObservedState.FAILED, e.getMessage());
                audit.record(
                        actor.actor(),
                        "instance." + action.name().toLowerCase(),
                        cur.name(),
                        "failure",
                        e.getMessage());
                throw new PierException.Conflict(
                        Reason.CONFLICT,
                        "node '" + node.name() + "' refused to " + action.name().toLowerCase() + " '" + cur.name()
                                + "': " + e.getMessage());
            }
            audit.record(actor.actor(), "instance." + action.name().toLowerCase(), cur.name(), "success", null);
            return store.require(id);
        });
    }

    /**
     * Makes the instance's container again from its image, or from {@code image} (another registered one),
     * keeping its data volume: the same data under a fresh container (a new version of the software, a
     * container someone broke). The image's command replaces the instance's; the volume is mounted where
     * the image keeps its data (where it was, for an image that keeps none). The instance runs afterwards if
     * it should run. The old container is removed before the record changes, so that after a crash in
     * between the reconciler makes the container the record describes.
     *
     * @param image an image id, name or reference; null or blank for the instance's own image
     */
    public Instance reinstall(Principal actor, UUID id, String image) {
        Policy.require(actor, Role.MANAGER, Scope.WRITE);
        Instance inst = store.require(id);
        Node node = nodes.require(inst.nodeId());
        Optional<Image> chosen = image == null || image.isBlank()
                ? inst.imageId().flatMap(i -> images.resolve(i.toString()))
                : Optional.of(images.resolve(image)
                        .orElseThrow(() -> new PierException.Invalid(
                                "image '" + Validation.printable(image) + "' is not registered")));
        return locks.exclusive(id, () -> {
            Instance cur = store.require(id);
            if (cur.desiredState() == DesiredState.DELETED) {
                throw new PierException.Conflict(Reason.CONFLICT, "instance '" + cur.name() + "' is being deleted");
            }
            ContainerRuntime runtime = nodes.onlineRuntime(node);
            String ref = chosen.map(Image::reference).orElse(cur.imageRef());
            String dataPath = chosen.flatMap(Image::dataPath).or(cur::dataPath).orElse(null);
            try {
                images.ensureOn(node, runtime, ref, line -> {});
                for (String cid : containers.all(runtime, cur)) {
                    runtime.stop(cid, STOP_GRACE);
                    runtime.remove(cid, true);
                }
                store.setContainer(id, null);
                store.reinstalled(
                        id,
                        chosen.map(Image::id).or(cur::imageId).orElse(null),
                        ref,
                        chosen.map(Image::command).orElse(cur.command()),
                        dataPath);
                Instance next = store.require(id);
                String cid = containers.create(runtime, next);
                if (next.wantsRunning()) {
                    runtime.start(cid);
                    store.started(id);
                } else {
                    store.setObserved(id, ObservedState.STOPPED, null);
                }
            } catch (RuntimeUnavailableException e) {
                nodes.reportUnreachable(node, e);
                throw new PierException.Unavailable("node '" + node.name() + "' is unreachable: " + e.getMessage());
            } catch (ContainerRuntimeException e) {
                store.setObserved(id, ObservedState.FAILED, e.getMessage());
                audit.record(actor.actor(), "instance.reinstall", cur.name(), "failure", e.getMessage());
                throw new PierException.Conflict(
                        Reason.CONFLICT,
                        "node '" + node.name() + "' refused to reinstall '" + cur.name() + "': " + e.getMessage());
            }
            audit.record(actor.actor(), "instance.reinstall", cur.name(), "success", "image=" + ref);
            return store.require(id);
        });
    }

    private static void requireNotSuspended(Instance cur) {
        if (cur.suspended()) {
            throw new PierException.Conflict(
                    Reason.CONFLICT, "instance '" + cur.name() + "' is suspended; an admin must unsuspend it");
        }
    }

    /** Stops the container and forbids start; the flag is rolled back if the node call fails. */
    private void suspend(ContainerRuntime runtime, Instance cur) {
        store.setSuspended(cur.id(), true, DesiredState.STOPPED);
        try {
            runtime.stop(containers.of(runtime, cur), STOP_GRACE);
            store.setObserved(cur.id(), ObservedState.STOPPED, null);
        } catch (RuntimeException e) {
            store.setSuspended(cur.id(), cur.suspended(), cur.desiredState());
            throw e;
        }
    }

    /**
     * Deletes container, data volume and record. With {@code force}, an offline node does not stop it: the
     * record goes now and the reconciler removes the container and the volume as orphans once the node is
     * back.
     */
    public void delete(Principal actor, UUID id, boolean force) {
        Policy.require(actor, Role.MANAGER, Scope.WRITE);
        Instance inst = store.require(id);
        Node node = nodes.require(inst.nodeId());
        locks.exclusive(id, () -> {
            boolean online = nodes.isOnline(node);
            if (!online && !force) {
                throw new PierException.Unavailable(
                        "node '" + node.name() + "' is offline; delete with force to drop the record now");
            }
            store.markDeleting(id);
            if (online) {
                try {
                    containers.removeAll(nodes.runtime(node), inst);
                    containers.removeVolume(nodes.runtime(node), inst);
                } catch (RuntimeUnavailableException e) {
                    nodes.reportUnreachable(node, e);
                    if (!force) {
                        throw new PierException.Unavailable(
                                "node '" + node.name() + "' is unreachable; the instance is "
                                        + "marked for deletion and will be removed when the node is back");
                    }
                } catch (ContainerRuntimeException e) {
                    if (!force) {
                        throw new PierException.Conflict(
                                Reason.CONFLICT,
                                "node refused to remove the container or its volume: " + e.getMessage());
                    }
                }
            }
            store.delete(id);
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
        Instance inst = store.require(id);
        Node node = nodes.require(inst.nodeId());
        ContainerRuntime runtime = nodes.onlineRuntime(node);
        try {
            return runtime.logs(containers.of(runtime, inst), tail);
        } catch (RuntimeUnavailableException e) {
            nodes.reportUnreachable(node, e);
            throw new PierException.Unavailable("node '" + node.name() + "' is unreachable: " + e.getMessage());
        } catch (ContainerRuntimeException e) {
            throw new PierException.Conflict(Reason.CONFLICT, "no logs: " + e.getMessage());
        }
    }

    /** Every instance, oldest first, from memory (refreshed after any change). */
    public List<Instance> list() {
        return store.list();
    }

    public Optional<Instance> find(UUID id) {
        return store.find(id);
    }

    public Instance require(UUID id) {
        return store.require(id);
    }

    /** By id or by name (the Matrix API names droplets either way). */
    public Instance resolve(String idOrName) {
        if (idOrName == null || idOrName.isBlank()) {
            throw new PierException.Invalid("instance id or name is required");
        }
        try {
            return require(UUID.fromString(idOrName.strip()));
        } catch (IllegalArgumentException notUuid) {
            return store.findByName(idOrName.strip())
                    .orElseThrow(() ->
                            new PierException.NotFound("instance '" + Validation.printable(idOrName) + "' not found"));
        }
    }

    public List<Instance> listByOwner(UUID ownerId) {
        return list().stream()
                .filter(i -> i.ownerId().filter(ownerId::equals).isPresent())
                .toList();
    }

    public Optional<User> owner(Instance i) {
        return i.ownerId().flatMap(users::findById);
    }
}
