package dev.pier.http;

import dev.pier.db.Database;
import dev.pier.instances.Reconciler;
import io.javalin.http.Context;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Health, readiness, metrics and the API description. */
public final class OpsRoutes {
    private final Database db;
    private final PrometheusMeterRegistry metrics;
    private final OpenApi openApi;
    private final String version;
    private final Reconciler reconciler;

    public OpsRoutes(
            Database db, PrometheusMeterRegistry metrics, OpenApi openApi, String version, Reconciler reconciler) {
        this.db = db;
        this.metrics = metrics;
        this.openApi = openApi;
        this.version = version;
        this.reconciler = reconciler;
    }

    public void health(Context ctx) {
        ctx.json(Map.of("status", "ok"));
    }

    /**
     * Ready when the database answers and every online node has had a completed reconcile pass lately: a
     * node whose passes stopped completing is not watched any more, which is an alert, not a silence. Each
     * node is shown with the age of its last completed pass.
     */
    public void ready(Context ctx) {
        boolean database = db.ping();
        Map<String, Object> nodes = new LinkedHashMap<>();
        List<String> stale = new ArrayList<>();
        List<Reconciler.NodeHealth> health;
        try {
            health = reconciler.health();
        } catch (RuntimeException e) {
            health = List.of(); // the node list needs the database, which the answer already reports
        }
        for (Reconciler.NodeHealth h : health) {
            nodes.put(
                    h.node(),
                    Json.object(
                            "status",
                            h.online() ? "online" : "offline",
                            "last_pass_age_seconds",
                            Math.round(h.lastPassAge().toMillis() / 100.0) / 10.0,
                            "stale",
                            h.stale()));
            if (h.stale()) {
                stale.add("node '" + h.node() + "': no reconcile pass completed for "
                        + h.lastPassAge().toSeconds() + " s (limit "
                        + reconciler.staleAfter().map(d -> d.toSeconds() + " s").orElse("none") + ")");
            }
        }
        boolean ready = database && stale.isEmpty();
        Map<String, Object> body =
                Json.object("status", ready ? "ready" : "not ready", "database", database ? "ok" : "unreachable");
        if (!stale.isEmpty()) {
            body.put("reconciler", String.join("; ", stale));
        }
        body.put("nodes", nodes);
        ctx.status(ready ? 200 : 503).json(body);
    }

    public void metrics(Context ctx) {
        ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(metrics.scrape());
    }

    public void openApi(Context ctx) {
        ctx.json(openApi.document(version));
    }
}
