package dev.pier.instances;

import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.images.Image;
import dev.pier.nodes.HostPortRange;
import dev.pier.nodes.Node;
import dev.pier.nodes.NodeService;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Where a new instance goes and what it takes there: the node (the one asked for, or the first online),
 * the node's RAM and disk, host ports inside the node's allowed range, and the record itself. The record
 * is written in one transaction with the node's row locked, so deploys to one node are checked one after
 * another; names and host ports are also unique in the database. Thread-safe.
 */
public final class Placement {
    /** Where automatic host ports are looked for first (when the node's range has them). */
    static final int AUTO_PORT_MIN = 20000;

    static final int AUTO_PORT_MAX = 29999;
    /** The Docker API's ports: never published, whatever a node allows. */
    static final Set<Integer> DOCKER_API_PORTS = Set.of(2375, 2376);

    private final NodeService nodes;
    private final InstanceStore store;
    private final Set<Integer> reserved;

    /** @param pierPort this server's own port (0: none to keep free) */
    public Placement(NodeService nodes, InstanceStore store, int pierPort) {
        this.nodes = nodes;
        this.store = store;
        Set<Integer> r = new HashSet<>(DOCKER_API_PORTS);
        if (pierPort > 0) {
            r.add(pierPort);
        }
        this.reserved = Set.copyOf(r);
    }

    /** What a new record holds; host port 0 means "pick one". */
    record Request(
            UUID id,
            String name,
            String displayName,
            UUID ownerId,
            Node node,
            Image image,
            int memoryMib,
            int diskMib,
            double cpu,
            List<PortMapping> ports,
            Integer primaryPort,
            Map<String, String> variables,
            boolean stdin) {}

    /** The node asked for (by id or name), or the first online one. */
    Node pickNode(String requested) {
        if (requested != null && !requested.isBlank()) {
            return nodes.resolve(requested.strip());
        }
        List<Node> online = nodes.list().stream().filter(nodes::isOnline).toList();
        if (online.isEmpty()) {
            throw new PierException.Unavailable("no node is online");
        }
        return online.getFirst();
    }

    /** Refuses (400) a host port the caller chose that the node does not allow. */
    void checkHostPorts(Node node, List<PortMapping> requested) {
        HostPortRange range = node.hostPorts();
        for (PortMapping p : requested) {
            int host = p.hostPort();
            if (host == 0) {
                continue;
            }
            if (!range.contains(host)) {
                throw new PierException.Invalid("host port " + host + " is outside the range node '" + node.name()
                        + "' allows (" + range + ")");
            }
            if (reserved.contains(host)) {
                throw new PierException.Invalid(
                        "host port " + host + " is reserved (the Docker API's and Pier's own ports "
                                + reserved.stream().sorted().toList() + " are never published)");
            }
        }
    }

    /**
     * Records the instance after checking the node's capacity and assigning the automatic host ports
     * (avoiding {@code avoid}); returns the ports as assigned. 409 when the name or a port is taken or the
     * node is full.
     */
    List<PortMapping> record(Request r, Set<Integer> avoid) {
        Node node = r.node();
        try {
            return store.inTransaction(dao -> {
                if (dao.lockNode(node.id()) == 0) {
                    throw new PierException.NotFound("node " + node.id() + " not found");
                }
                if (dao.findByName(r.name()).isPresent()) {
                    throw new PierException.Conflict(Reason.CONFLICT, "an instance named '" + r.name() + "' exists");
                }
                long usedRam = dao.memoryOnNode(node.id());
                if (usedRam + r.memoryMib() > node.ramMib()) {
                    throw new PierException.Conflict(
                            Reason.CONFLICT,
                            "node '" + node.name() + "' has " + (node.ramMib() - usedRam) + " MiB of " + node.ramMib()
                                    + " MiB RAM left; " + r.memoryMib() + " MiB requested");
                }
                long usedDisk = dao.diskOnNode(node.id());
                if (usedDisk + r.diskMib() > node.diskMib()) {
                    throw new PierException.Conflict(
                            Reason.CONFLICT,
                            "node '" + node.name() + "' has " + (node.diskMib() - usedDisk) + " MiB of disk left; "
                                    + r.diskMib() + " MiB requested");
                }
                List<PortMapping> ports = assignPorts(dao, node, r.ports(), avoid);
                dao.insert(
                        r.id(),
                        r.name(),
                        r.displayName(),
                        r.ownerId(),
                        node.id(),
                        r.image().id(),
                        r.image().reference(),
                        r.image().command(),
                        r.memoryMib(),
                        r.diskMib(),
                        r.cpu(),
                        ports,
                        r.primaryPort(),
                        r.variables(),
                        r.stdin(),
                        r.image().dataPath().orElse(null),
                        store.now());
                for (PortMapping p : ports) {
                    dao.insertPort(node.id(), p.hostPort(), p.protocol(), r.id());
                }
                return ports;
            });
        } catch (UnableToExecuteStatementException e) {
            // a racing deploy took the name or a host port between our check and our insert
            throw new PierException.Conflict(
                    Reason.CONFLICT, "the name or a host port was taken by a concurrent deploy; try again");
        }
    }

    private List<PortMapping> assignPorts(InstanceDao dao, Node node, List<PortMapping> requested, Set<Integer> avoid) {
        Map<String, Set<Integer>> used = new HashMap<>();
        List<PortMapping> out = new ArrayList<>();
        for (PortMapping p : requested) {
            Set<Integer> taken =
                    used.computeIfAbsent(p.protocol(), proto -> new HashSet<>(dao.usedPorts(node.id(), proto)));
            int host = p.hostPort();
            if (host == 0) {
                host = freePort(node, taken, avoid);
            } else if (taken.contains(host)) {
                throw new PierException.Conflict(
                        Reason.CONFLICT,
                        "host port " + host + "/" + p.protocol() + " is already used on node '" + node.name() + "'");
            }
            taken.add(host);
            out.add(new PortMapping(p.containerPort(), host, p.protocol()));
        }
        return out;
    }

    /**
     * The first free port of the node's range from {@link #AUTO_PORT_MIN} (or the range's start, when it
     * lies above), then from the range's start: the usual window first, any allowed port when it is full.
     */
    private int freePort(Node node, Set<Integer> taken, Set<Integer> avoid) {
        HostPortRange range = node.hostPorts();
        int from = Math.clamp(AUTO_PORT_MIN, range.min(), range.max());
        for (int i = 0, size = range.max() - range.min() + 1; i < size; i++) {
            int port = from + i <= range.max() ? from + i : range.min() + (from + i - range.max() - 1);
            if (!taken.contains(port) && !avoid.contains(port) && !reserved.contains(port)) {
                return port;
            }
        }
        throw new PierException.Conflict(
                Reason.CONFLICT,
                "no free host port left in the range node '" + node.name() + "' allows (" + range + ")");
    }
}
