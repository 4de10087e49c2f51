package dev.pier.instances;

import dev.pier.errors.PierException;
import dev.pier.http.Fields;
import dev.pier.http.Json;
import dev.pier.http.Paging;
import dev.pier.http.RequestContext;
import dev.pier.nodes.Node;
import dev.pier.nodes.NodeService;
import io.javalin.http.Context;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

/** The native instances API under {@code /api/v1/instances}: resources, problem+json errors, paging. */
public final class InstanceRoutes {
    private final InstanceService instances;
    private final NodeService nodes;

    public InstanceRoutes(InstanceService instances, NodeService nodes) {
        this.instances = instances;
        this.nodes = nodes;
    }

    public void list(Context ctx) {
        Paging paging = Paging.of(ctx);
        Stream<Instance> s = instances.list().stream();
        String node = ctx.queryParam("node");
        if (node != null && !node.isBlank()) {
            UUID nodeId = nodes.resolve(node).id();
            s = s.filter(i -> i.nodeId().equals(nodeId));
        }
        String owner = ctx.queryParam("owner");
        if (owner != null && !owner.isBlank()) {
            UUID ownerId = uuid(owner, "owner");
            s = s.filter(i -> i.ownerId().filter(ownerId::equals).isPresent());
        }
        String state = ctx.queryParam("state");
        if (state != null && !state.isBlank()) {
            String st = state.strip().toLowerCase(Locale.ROOT);
            if (!st.equals("suspended") && ObservedState.byWire(st).isEmpty()) {
                throw new PierException.Invalid("state must be one of "
                        + Stream.of(ObservedState.values())
                                .map(ObservedState::wire)
                                .toList() + " or suspended");
            }
            s = s.filter(i -> i.observedState().wire().equals(st) || (st.equals("suspended") && i.suspended()));
        }
        Map<UUID, String> names = nodeNames();
        ctx.json(paging.page(s.toList(), i -> json(i, names)));
    }

    public void get(Context ctx) {
        ctx.json(json(instances.require(uuid(ctx.pathParam("id"), "id")), nodeNames()));
    }

    /** An instance as this API shows it. */
    public Map<String, Object> json(Instance i) {
        return json(i, nodeNames());
    }

    public void create(Context ctx) {
        Fields f = Fields.of(ctx);
        String owner = f.string("owner_id");
        String backup = f.string("from_backup");
        Instance i = instances.deploy(
                RequestContext.principal(ctx),
                new InstanceService.DeployRequest(
                        f.string("name"),
                        f.string("display_name"),
                        f.string("image"),
                        f.string("node"),
                        owner == null ? null : field(owner, "owner_id"),
                        f.whole("memory_mib"),
                        f.decimal("cpu"),
                        f.whole("disk_mib"),
                        f.scalar("ports"),
                        Validation.port(f.whole("primary_port"), "primary_port"),
                        f.stringMap("variables"),
                        f.bool("stdin")),
                backup == null ? null : field(backup, "from_backup"));
        ctx.status(201).json(json(i, nodeNames()));
    }

    /** Changes what can be changed of a deployed instance: its disk limit. */
    public void update(Context ctx) {
        Fields f = Fields.of(ctx);
        Long disk = f.whole("disk_mib");
        if (disk == null) {
            throw new PierException.Invalid("disk_mib is required (the only field an instance changes in place)");
        }
        ctx.json(json(
                instances.setDiskLimit(RequestContext.principal(ctx), uuid(ctx.pathParam("id"), "id"), disk),
                nodeNames()));
    }

    public void delete(Context ctx) {
        instances.delete(
                RequestContext.principal(ctx), uuid(ctx.pathParam("id"), "id"), "true".equals(ctx.queryParam("force")));
        ctx.status(204);
    }

    private static final String ACTIONS = "start, stop, restart, kill, reinstall, suspend or unsuspend";

    public void action(Context ctx) {
        Fields f = Fields.of(ctx);
        String type = f.string("type");
        if (type == null) {
            throw new PierException.Invalid("type is required: " + ACTIONS);
        }
        UUID id = uuid(ctx.pathParam("id"), "id");
        String t = type.strip().toLowerCase(Locale.ROOT);
        if (t.equals("reinstall")) {
            ctx.json(json(instances.reinstall(RequestContext.principal(ctx), id, f.string("image")), nodeNames()));
            return;
        }
        InstanceService.Action a;
        try {
            a = InstanceService.Action.valueOf(t.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new PierException.Invalid("type must be " + ACTIONS);
        }
        ctx.json(json(instances.act(RequestContext.principal(ctx), id, a), nodeNames()));
    }

    private Map<UUID, String> nodeNames() {
        Map<UUID, String> m = new HashMap<>();
        for (Node n : nodes.list()) {
            m.put(n.id(), n.name());
        }
        return m;
    }

    static UUID uuid(String s, String what) {
        try {
            return UUID.fromString(s.strip());
        } catch (IllegalArgumentException e) {
            throw new PierException.NotFound(what + " '" + Validation.printable(s) + "' is not a known id");
        }
    }

    /** An id in a request body: malformed is bad input (400), unlike an id in the path (404). */
    private static UUID field(String s, String what) {
        try {
            return UUID.fromString(s.strip());
        } catch (IllegalArgumentException e) {
            throw new PierException.Invalid(what + " must be an id (UUID)");
        }
    }

    Map<String, Object> json(Instance i, Map<UUID, String> nodeNames) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", i.id().toString());
        m.put("name", i.name());
        m.put("display_name", i.label());
        m.put("owner_id", i.ownerId().map(UUID::toString).orElse(null));
        m.put("node_id", i.nodeId().toString());
        m.put("node", nodeNames.get(i.nodeId()));
        m.put("image_id", i.imageId().map(UUID::toString).orElse(null));
        m.put("image", i.imageRef());
        m.put("command", i.command());
        m.put("memory_mib", i.memoryMib());
        m.put("disk_mib", i.diskMib());
        m.put("cpu", i.cpu());
        m.put(
                "ports",
                i.ports().stream()
                        .map(p -> Json.object(
                                "container_port",
                                p.containerPort(),
                                "host_port",
                                p.hostPort(),
                                "protocol",
                                p.protocol()))
                        .toList());
        m.put("primary_port", i.primaryPort().orElse(null));
        m.put("variables", i.variables());
        m.put("stdin", i.stdin());
        m.put("desired_state", i.desiredState().wire());
        m.put("observed_state", i.observedState().wire());
        m.put("suspended", i.suspended());
        m.put("container_id", i.containerId().orElse(null));
        m.put("volume", i.volume().orElse(null));
        m.put("data_path", i.dataPath().orElse(null));
        m.put(
                "disk_used_bytes",
                instances.diskUsage(i.id()).map(DiskLimits.Usage::bytes).orElse(null));
        m.put("disk_over", i.diskOver());
        m.put("last_error", i.lastError().orElse(null));
        m.put("exit_code", i.restarts().lastExitCode().orElse(null));
        m.put("crashes", i.restarts().crashes());
        m.put(
                "next_attempt_at",
                i.restarts().nextAttemptAt().map(Object::toString).orElse(null));
        m.put("created_at", i.createdAt().toString());
        m.put("updated_at", i.updatedAt().toString());
        return m;
    }
}
