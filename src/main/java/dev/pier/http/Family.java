package dev.pier.http;

import java.util.regex.Pattern;

/** The API family a path belongs to, which decides the error shape. */
public enum Family {
    MATRIX, API_TOKENS, PANEL, USER_KEYS, NATIVE;

    private static final Pattern USER_KEYS_PATH =
            Pattern.compile("^/api(/v\\d+(\\.\\d+){0,2})?/user/(apikeys|create_apikey|delete_apikey)/?$");

    public static Family of(String path) {
        if (USER_KEYS_PATH.matcher(path).matches()) {
            return USER_KEYS;
        }
        if (path.startsWith("/api/v1/user/") || path.equals("/api/v1/user") || path.startsWith("/api/v1/droplet")) {
            return MATRIX;
        }
        if (path.startsWith("/api/v1/api_tokens")) {
            return API_TOKENS;
        }
        if (path.startsWith("/api/user/")) {
            return USER_KEYS;
        }
        if (path.startsWith("/api/v1/") || path.equals("/api/v1")) {
            return NATIVE;
        }
        if (path.startsWith("/api/")) {
            return PANEL;
        }
        return NATIVE;
    }
}
