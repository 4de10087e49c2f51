package dev.pier.http;

import dev.pier.db.Database;
import io.javalin.http.Context;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.util.Map;

/** Health, readiness, metrics and the API description. */
public final class OpsRoutes {
    private final Database db;
    private final PrometheusMeterRegistry metrics;
    private final OpenApi openApi;
    private final String version;

    public OpsRoutes(Database db, PrometheusMeterRegistry metrics, OpenApi openApi, String version) {
        this.db = db;
        this.metrics = metrics;
        this.openApi = openApi;
        this.version = version;
    }

    public void health(Context ctx) {
        ctx.json(Map.of("status", "ok"));
    }

    public void ready(Context ctx) {
        if (db.ping()) {
            ctx.json(Json.object("status", "ready", "database", "ok"));
        } else {
            ctx.status(503).json(Json.object("status", "not ready", "database", "unreachable"));
        }
    }

    public void metrics(Context ctx) {
        ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(metrics.scrape());
    }

    public void openApi(Context ctx) {
        ctx.json(openApi.document(version));
    }
}
