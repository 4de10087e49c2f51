package dev.pier.http;

import dev.pier.errors.PierException;
import io.javalin.http.Context;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code ?limit=&offset=} on native lists, answered as {items, total, limit, offset}. */
public record Paging(int limit, int offset) {
    public static final int MAX_LIMIT = 500;

    public static Paging of(Context ctx) {
        return new Paging(param(ctx, "limit", 50, 1, MAX_LIMIT), param(ctx, "offset", 0, 0, Integer.MAX_VALUE));
    }

    public <T> Map<String, Object> page(List<T> all, java.util.function.Function<T, ?> toJson) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("items", all.stream().skip(offset).limit(limit).map(toJson).toList());
        m.put("total", all.size());
        m.put("limit", limit);
        m.put("offset", offset);
        return m;
    }

    private static int param(Context ctx, String name, int dflt, int min, int max) {
        String v = ctx.queryParam(name);
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
