package dev.pier.panel;

import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.http.Fields;
import dev.pier.http.RequestContext;
import dev.pier.images.Image;
import dev.pier.images.ImageService;
import dev.pier.instances.Instance;
import dev.pier.instances.InstanceService;
import dev.pier.instances.Validation;
import dev.pier.nodes.Capacity;
import dev.pier.nodes.Node;
import dev.pier.nodes.NodeService;
import dev.pier.users.UserService;
import io.javalin.http.Context;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * The Panel API's instances, images and nodes (seeds/panel-api-reference.txt) over the same services:
 * its capitalised shapes, {@code ports} as {@code "container:host,…"}, memory in MiB, cpu in cores.
 */
public final class PanelInstanceRoutes {
    private final InstanceService instances;
    private final ImageService images;
    private final NodeService nodes;
    private final UserService users;

    public PanelInstanceRoutes(InstanceService instances, ImageService images, NodeService nodes, UserService users) {
        this.instances = instances;
        this.images = images;
        this.nodes = nodes;
        this.users = users;
    }

    public void list(Context ctx) {
        Map<UUID, String> ids = panelIds();
        ctx.json(instances.list().stream().map(i -> json(i, ids)).toList());
    }

    public void deploy(Context ctx) {
        Fields f = Fields.of(ctx);
        String image = f.string("imagename") != null && !f.string("imagename").isBlank()
                ? f.string("imagename")
                : f.string("image");
        String name = f.string("name");
        String nodeId = f.scalar("nodeId");
        String user = f.scalar("user");
        Long memory = f.whole("memory");
        Double cpu = f.decimal("cpu");
        if (image == null || name == null || nodeId == null || user == null || memory == null || cpu == null) {
            throw new PierException.Invalid(
                    Reason.USER_DATA_MISSING,
                    "Missing parameters: image, memory, cpu, nodeId, name and user are required");
        }
        // the id the client chose at create-user, or the user's UUID
        UUID owner = users.findByClientId(user.strip())
                .map(dev.pier.users.User::id)
                .orElseThrow(() -> new PierException.Invalid(Reason.USER_NOT_FOUND, "user " + user + " not found"));
        Long primary = f.whole("primary");
        Instance i = instances.deploy(
                RequestContext.principal(ctx),
                new InstanceService.DeployRequest(
                        null,
                        name,
                        image,
                        nodeId,
                        owner,
                        memory,
                        cpu,
                        null,
                        f.scalar("ports"),
                        Validation.port(primary, "primary"),
                        f.stringMap("variables"),
                        null));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("message", "Container deployed successfully");
        body.put("Id", i.id().toString());
        body.put("state", internalState(i));
        ctx.status(201).json(body);
    }

    public void delete(Context ctx) {
        Instance i = byId(Fields.of(ctx).scalar("id"));
        instances.delete(
                RequestContext.principal(ctx),
                i.id(),
                Boolean.TRUE.equals(Fields.of(ctx).bool("force")));
        ctx.status(201).json(Map.of("message", "The instance has successfully been deleted."));
    }

    public void userInstances(Context ctx) {
        String userId = Fields.of(ctx).scalar("userId");
        if (userId == null || userId.isBlank()) {
            throw new PierException.Invalid("userId is required");
        }
        UUID id = users.findByClientId(userId.strip())
                .map(dev.pier.users.User::id)
                .orElseThrow(() -> new PierException.Invalid(Reason.USER_NOT_FOUND, "user " + userId + " not found"));
        Map<UUID, String> ids = panelIds();
        ctx.json(instances.listByOwner(id).stream().map(i -> json(i, ids)).toList());
    }

    public void get(Context ctx) {
        ctx.json(json(byId(Fields.of(ctx).scalar("id")), panelIds()));
    }

    public void suspend(Context ctx) {
        instances.act(RequestContext.principal(ctx), byId(ctx.pathParam("id")).id(), InstanceService.Action.SUSPEND);
        ctx.status(201).json(Map.of("success", "Instance suspended"));
    }

    public void unsuspend(Context ctx) {
        instances.act(RequestContext.principal(ctx), byId(ctx.pathParam("id")).id(), InstanceService.Action.UNSUSPEND);
        ctx.status(201).json(Map.of("success", "Instance unsuspended"));
    }

    public void images(Context ctx) {
        ctx.json(images.list().stream().map(PanelInstanceRoutes::json).toList());
    }

    public void nodes(Context ctx) {
        ctx.json(nodes.list().stream().map(this::json).toList());
    }

    public void createNode(Context ctx) {
        Fields f = Fields.of(ctx);
        String name = f.string("name");
        String ramSpec = f.scalar("ram");
        String diskSpec = f.scalar("disk");
        String address = f.scalar("address");
        Long port = f.whole("port");
        if (name == null || ramSpec == null || diskSpec == null || address == null || port == null) {
            throw new PierException.Invalid(
                    Reason.USER_DATA_MISSING, "Missing parameters: name, ram, disk, address and port are required");
        }
        // the document's "RAM specification": 2048 (MiB), 2GB, 2 GiB, 512M, 1.5G
        long ram = Capacity.mib(ramSpec, "ram");
        long disk = Capacity.mib(diskSpec, "disk");
        Node n = nodes.create(
                RequestContext.principal(ctx),
                new NodeService.NewNode(
                        name,
                        f.scalar("tags"),
                        ram,
                        disk,
                        f.scalar("processor"),
                        address,
                        Math.toIntExact(Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, port))),
                        null));
        ctx.status(201).json(json(n));
    }

    public void deleteNode(Context ctx) {
        String id = Fields.of(ctx).scalar("nodeId");
        if (id == null || id.isBlank()) {
            throw new PierException.Invalid("nodeId is required");
        }
        nodes.delete(
                RequestContext.principal(ctx), nodes.require(uuid(id, "nodeId")).id());
        ctx.status(201).json(Map.of("message", "Node deleted"));
    }

    private Instance byId(String id) {
        if (id == null || id.isBlank()) {
            throw new PierException.Invalid("id is required");
        }
        return instances.require(uuid(id, "id"));
    }

    private static UUID uuid(String s, String field) {
        try {
            return UUID.fromString(s.strip());
        } catch (IllegalArgumentException e) {
            throw new PierException.Invalid(field + " must be an id (UUID)");
        }
    }

    static String internalState(Instance i) {
        return switch (i.observedState()) {
            case CREATING -> "INSTALLING";
            case FAILED -> "FAILED";
            case DELETING -> "DELETING";
            default -> "READY";
        };
    }

    /** Each user's id as the Panel shows it: the id its client chose, where it chose one. */
    private Map<UUID, String> panelIds() {
        Map<UUID, String> ids = new java.util.HashMap<>();
        for (var u : users.list()) {
            ids.put(u.id(), u.panelId());
        }
        return ids;
    }

    static Map<String, Object> json(Instance i, Map<UUID, String> panelIds) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("Id", i.id().toString());
        m.put("Name", i.label());
        m.put("Node", i.nodeId().toString());
        m.put(
                "User",
                i.ownerId().map(o -> panelIds.getOrDefault(o, o.toString())).orElse(null));
        m.put("InternalState", internalState(i));
        m.put("State", i.observedState().wire());
        m.put("ExitCode", i.restarts().lastExitCode().orElse(null));
        m.put(
                "NextAttemptAt",
                i.restarts().nextAttemptAt().map(Object::toString).orElse(null));
        m.put("ContainerId", i.containerId().orElse(null));
        m.put("VolumeId", i.volume().orElse(null));
        m.put("Memory", i.memoryMib());
        m.put("Cpu", i.cpu());
        m.put("Ports", Validation.format(i.ports()));
        m.put("Primary", i.primaryPort().orElse(null));
        m.put("Image", i.imageRef());
        m.put("Variables", i.variables());
        m.put("Suspended", i.suspended());
        m.put("CreatedAt", i.createdAt().toString());
        return m;
    }

    static Map<String, Object> json(Image i) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("Id", i.id().toString());
        m.put("Name", i.name());
        m.put("Image", i.reference());
        m.put("Description", i.description());
        m.put("Command", i.command());
        m.put("Ports", i.ports());
        m.put("Variables", i.variables());
        m.put("Default", i.isDefault());
        m.put("Stdin", i.stdin());
        m.put("DataPath", i.dataPath().orElse(null));
        return m;
    }

    private Map<String, Object> json(Node n) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", n.id().toString());
        m.put("name", n.name());
        m.put("tags", n.tags());
        m.put("ram", n.ramMib());
        m.put("disk", n.diskMib());
        m.put("processor", n.processor());
        m.put("address", n.address());
        m.put("port", n.port());
        m.put("status", nodes.status(n).wire());
        return m;
    }
}
