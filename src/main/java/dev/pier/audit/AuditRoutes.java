package dev.pier.audit;

import dev.pier.errors.PierException;
import io.javalin.http.Context;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/** {@code GET /api/v1/audit}: newest first, {@code ?limit=&before=ID&action=&actor=}. Admins only. */
public final class AuditRoutes {
    private final AuditLog audit;

    public AuditRoutes(AuditLog audit) {
        this.audit = audit;
    }

    public void list(Context ctx) {
        int limit = number(ctx.queryParam("limit"), 100, 1, 1000, "limit");
        long before = ctx.queryParam("before") == null
                ? Long.MAX_VALUE
                : number(ctx.queryParam("before"), 0, 1, Integer.MAX_VALUE, "before");
        Map<String, String> filters = new HashMap<>();
        for (String f : new String[] {"action", "actor"}) {
            String v = ctx.queryParam(f);
            if (v != null && !v.isBlank()) {
                filters.put(f, v);
            }
        }
        var items = audit.recent(limit, before, filters);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("items", items);
        body.put("next_before", items.isEmpty() ? null : items.getLast().id());
        ctx.json(body);
    }

    private static int number(String v, int dflt, int min, int max, String name) {
        if (v == null || v.isBlank()) {
            return dflt;
        }
        try {
            int n = Integer.parseInt(v.strip());
            if (n < min || n > max) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new PierException.Invalid(name + " must be a whole number between " + min + " and " + max);
        }
    }
}
