package dev.pier.matrix;

import dev.pier.http.Fields;
import dev.pier.http.Json;
import dev.pier.http.RequestContext;
import dev.pier.instances.Instance;
import dev.pier.instances.InstanceService;
import dev.pier.instances.PortMapping;
import dev.pier.nodes.NodeService;
import io.javalin.http.Context;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Matrix API's droplets over {@link InstanceService}. Every call answers with the current list,
 * {@code ports} keyed by container port as the original server reported Docker's port map.
 */
public final class DropletRoutes {
    private final InstanceService instances;
    private final NodeService nodes;
    private final dev.pier.http.JsonCache listJson = new dev.pier.http.JsonCache();

    public DropletRoutes(InstanceService instances, NodeService nodes) {
        this.instances = instances;
        this.nodes = nodes;
    }

    public void list(Context ctx) {
        var all = instances.list();
        var nodeList = nodes.list();
        listJson.send(ctx, java.util.List.of(all, nodeList), () -> droplets(all, nodeList));
    }

    public void add(Context ctx) {
        Fields f = Fields.of(ctx);
        instances.deploy(
                RequestContext.principal(ctx),
                new InstanceService.DeployRequest(
                        f.string("name"),
                        null,
                        f.string("image"),
                        f.string("node"),
                        null,
                        f.whole("memory"),
                        f.decimal("cpu"),
                        null,
                        f.scalar("ports"),
                        null,
                        f.stringMap("variables"),
                        null));
        ctx.json(droplets());
    }

    public void stop(Context ctx) {
        act(ctx, InstanceService.Action.STOP);
    }

    public void start(Context ctx) {
        act(ctx, InstanceService.Action.START);
    }

    public void restart(Context ctx) {
        act(ctx, InstanceService.Action.RESTART);
    }

    public void delete(Context ctx) {
        Instance i = instances.resolve(ctx.pathParam("droplet"));
        instances.delete(RequestContext.principal(ctx), i.id(), "true".equals(ctx.queryParam("force")));
        ctx.json(droplets());
    }

    private void act(Context ctx, InstanceService.Action action) {
        Instance i = instances.resolve(ctx.pathParam("droplet"));
        instances.act(RequestContext.principal(ctx), i.id(), action);
        ctx.json(droplets());
    }

    private List<Map<String, Object>> droplets() {
        return droplets(instances.list(), nodes.list());
    }

    private static List<Map<String, Object>> droplets(List<Instance> all, List<dev.pier.nodes.Node> nodeList) {
        Map<java.util.UUID, String> nodeNames = new java.util.HashMap<>();
        nodeList.forEach(n -> nodeNames.put(n.id(), n.name()));
        return all.stream()
                .map(i -> json(i, nodeNames.getOrDefault(i.nodeId(), "?")))
                .toList();
    }

    static Map<String, Object> json(Instance i, String nodeName) {
        Map<String, Object> ports = new LinkedHashMap<>();
        for (PortMapping p : i.ports()) {
            String key = p.protocol().equals("tcp") ? Integer.toString(p.containerPort()) : p.containerPort() + "/udp";
            ports.put(
                    key, Json.object("type", p.protocol(), "from", Json.object("ip", "0.0.0.0", "port", p.hostPort())));
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", i.id().toString());
        m.put("name", i.name());
        m.put("created", i.createdAt().toString());
        m.put("status", i.observedState().wire());
        m.put("ports", ports);
        m.put("image", i.imageRef());
        m.put("node", nodeName);
        m.put("memory", i.memoryMib());
        m.put("cpu", i.cpu());
        m.put("suspended", i.suspended());
        m.put("volume", i.volume().orElse(null));
        m.put("desired", i.desiredState().wire());
        m.put("exit_code", i.restarts().lastExitCode().orElse(null));
        m.put(
                "next_attempt_at",
                i.restarts().nextAttemptAt().map(Object::toString).orElse(null));
        return m;
    }
}
