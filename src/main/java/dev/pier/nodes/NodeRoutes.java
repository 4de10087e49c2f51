package dev.pier.nodes;

import dev.pier.errors.PierException;
import dev.pier.http.Fields;
import dev.pier.http.Paging;
import dev.pier.http.RequestContext;
import dev.pier.runtime.TlsMaterial;
import io.javalin.http.Context;

import java.util.LinkedHashMap;
import java.util.Map;

/** The native nodes API under {@code /api/v1/nodes}. Never shows TLS material. */
public final class NodeRoutes {
    private final NodeService nodes;

    public NodeRoutes(NodeService nodes) {
        this.nodes = nodes;
    }

    public void list(Context ctx) {
        ctx.json(Paging.of(ctx).page(nodes.list(), this::json));
    }

    public void get(Context ctx) {
        ctx.json(json(nodes.resolve(ctx.pathParam("id"))));
    }

    public void create(Context ctx) {
        Fields f = Fields.of(ctx);
        TlsMaterial tls = null;
        String ca = f.string("tls_ca");
        String cert = f.string("tls_cert");
        String key = f.string("tls_key");
        if (ca != null || cert != null || key != null) {
            if (ca == null || cert == null || key == null) {
                throw new PierException.Invalid("TLS needs all of tls_ca, tls_cert and tls_key (PEM)");
            }
            try {
                tls = new TlsMaterial(ca, cert, key);
            } catch (IllegalArgumentException e) {
                throw new PierException.Invalid("TLS material is not valid PEM: " + e.getMessage());
            }
        }
        Long ram = f.whole("ram_mib");
        Long disk = f.whole("disk_mib");
        Long port = f.whole("port");
        String hostPorts = f.string("host_ports");
        Node n = nodes.create(
                RequestContext.principal(ctx),
                new NodeService.NewNode(
                        f.string("name"),
                        f.scalar("tags"),
                        ram == null ? 0 : ram,
                        disk == null ? 0 : disk,
                        f.string("processor"),
                        f.string("address"),
                        port == null ? null : port.intValue(),
                        tls,
                        hostPorts == null ? null : HostPortRange.parse(hostPorts, "host_ports")));
        ctx.status(201).json(json(n));
    }

    public void delete(Context ctx) {
        nodes.delete(
                RequestContext.principal(ctx),
                nodes.resolve(ctx.pathParam("id")).id());
        ctx.status(204);
    }

    Map<String, Object> json(Node n) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", n.id().toString());
        m.put("name", n.name());
        m.put("tags", n.tags());
        m.put("ram_mib", n.ramMib());
        m.put("disk_mib", n.diskMib());
        m.put("processor", n.processor());
        m.put("endpoint", n.endpoint());
        m.put("tls", n.tls());
        m.put("status", nodes.status(n).wire());
        m.put("status_reason", nodes.statusReason(n).orElse(null));
        m.put("warnings", nodes.warnings(n));
        m.put("host_ports", n.hostPorts().toString());
        m.put("last_seen_at", n.lastSeenAt().map(Object::toString).orElse(null));
        m.put("created_at", n.createdAt().toString());
        return m;
    }
}
