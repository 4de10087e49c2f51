package dev.pier.http;

import dev.pier.security.Scope;
import io.javalin.http.HandlerType;
import io.javalin.security.RouteRole;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An OpenAPI 3.1 description built from the routes actually registered, so it cannot miss one.
 * Summaries come from {@link #describe}; security and the required role from each route's {@link Access}.
 */
public final class OpenApi {
    private static final Pattern PARAM = Pattern.compile("\\{([^}]+)}");

    private record Route(String method, String path, Access access) {}

    private final List<Route> routes = new CopyOnWriteArrayList<>();
    private final Map<String, String> summaries = new TreeMap<>();

    public void add(HandlerType method, String path, Set<RouteRole> roles) {
        if (!method.isHttpMethod() || method == HandlerType.HEAD || method == HandlerType.OPTIONS) {
            return;
        }
        Access access = roles.stream()
                .filter(Access.class::isInstance)
                .map(Access.class::cast)
                .findFirst()
                .orElse(null);
        routes.add(new Route(method.name().toLowerCase(), path, access));
    }

    public void describe(String method, String path, String summary) {
        summaries.put(method.toLowerCase() + " " + path, summary);
    }

    public List<String> operations() {
        return routes.stream().map(r -> r.method() + " " + r.path()).toList();
    }

    public Map<String, Object> document(String version) {
        Map<String, Object> paths = new TreeMap<>();
        for (Route r : routes) {
            @SuppressWarnings("unchecked")
            Map<String, Object> item =
                    (Map<String, Object>) paths.computeIfAbsent(r.path(), k -> new LinkedHashMap<>());
            Map<String, Object> op = new LinkedHashMap<>();
            op.put(
                    "summary",
                    summaries.getOrDefault(
                            r.method() + " " + r.path(), r.method().toUpperCase() + " " + r.path()));
            op.put(
                    "tags",
                    List.of(Family.of(r.path().replaceAll("\\{[^}]+}", "x"))
                            .name()
                            .toLowerCase()));
            List<Map<String, Object>> params = new java.util.ArrayList<>();
            Matcher m = PARAM.matcher(r.path());
            while (m.find()) {
                params.add(Json.object(
                        "name", m.group(1), "in", "path", "required", true, "schema", Map.of("type", "string")));
            }
            if (!params.isEmpty()) {
                op.put("parameters", params);
            }
            if (r.access() != null) {
                op.put("security", List.of(Map.of("bearer", List.of()), Map.of("apiKey", List.of())));
                op.put("x-pier-min-role", r.access().min().wire());
                op.put(
                        "x-pier-scope",
                        r.access().scope() == Scope.READ
                                ? "read"
                                : r.access().scope().name().toLowerCase());
            } else {
                op.put("security", List.of());
            }
            Map<String, Object> responses = new LinkedHashMap<>();
            responses.put("200", Map.of("description", "success"));
            responses.put("400", Map.of("description", "bad input, in the family's error shape"));
            if (r.access() != null) {
                responses.put("401", Map.of("description", "missing, unknown or expired credential"));
                responses.put("403", Map.of("description", "role or key level too low"));
            }
            op.put("responses", responses);
            item.put(r.method(), op);
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("openapi", "3.1.0");
        doc.put(
                "info",
                Json.object(
                        "title",
                        "Pier",
                        "version",
                        version,
                        "description",
                        "Pier control plane: Matrix, API tokens, Panel and User API keys families, plus the native API."));
        doc.put("paths", paths);
        doc.put(
                "components",
                Map.of(
                        "securitySchemes",
                        Json.object(
                                "bearer", Json.object("type", "http", "scheme", "bearer"),
                                "apiKey", Json.object("type", "apiKey", "in", "header", "name", "x-api-key"))));
        return doc;
    }
}
