package dev.pier.http;

import java.util.Set;
import java.util.regex.Pattern;

/** The API family a path belongs to, which decides the error shape. */
public enum Family {
    MATRIX,
    API_TOKENS,
    PANEL,
    USER_KEYS,
    NATIVE;

    private static final Pattern USER_KEYS_PATH =
            Pattern.compile("^/api(/v\\d+(\\.\\d+){0,2})?/user/(apikeys|create_apikey|delete_apikey)/?$");
    /** The native API's resources under {@code /api/v1}; anything else there is the Matrix API's. */
    private static final Set<String> NATIVE_V1 = Set.of("instances", "nodes", "images", "audit", "users");

    public static Family of(String path) {
        if (USER_KEYS_PATH.matcher(path).matches()) {
            return USER_KEYS;
        }
        if (path.startsWith("/api/v1/api_tokens")) {
            return API_TOKENS;
        }
        if (path.startsWith("/api/v1/") || path.equals("/api/v1")) {
            // a Matrix client's unknown route gets the Matrix document's "Route not found"
            return NATIVE_V1.contains(firstSegment(path.substring("/api/v1".length()))) ? NATIVE : MATRIX;
        }
        if (path.startsWith("/api/user/")) {
            return USER_KEYS;
        }
        if (path.startsWith("/api/")) {
            return PANEL;
        }
        return NATIVE;
    }

    private static String firstSegment(String rest) {
        String r = rest.startsWith("/") ? rest.substring(1) : rest;
        int slash = r.indexOf('/');
        return slash < 0 ? r : r.substring(0, slash);
    }
}
