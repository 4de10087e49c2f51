package dev.pier.http;

import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import io.javalin.http.Context;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Turns a domain error into the error shape of the family the request belongs to. The only place
 * where error codes meet HTTP.
 */
public final class ErrorRenderer {
    private ErrorRenderer() {}

    public static void render(Context ctx, PierException e) {
        if (e instanceof PierException.Throttled t) {
            ctx.header("Retry-After", Long.toString(t.retryAfterSeconds()));
        }
        if (e instanceof PierException.Unavailable u && u.retryAfterSeconds() > 0) {
            ctx.header("Retry-After", Long.toString(u.retryAfterSeconds()));
        }
        if (e instanceof PierException.InsufficientStorage) {
            ctx.header("Retry-After", "30");
        }
        render(ctx, status(e), e.reason(), e.getMessage());
    }

    public static void render(Context ctx, int status, Reason reason, String message) {
        Family family = ctx.attribute(RequestContext.FAMILY) instanceof Family f ? f : Family.of(ctx.path());
        switch (family) {
            case MATRIX -> matrix(ctx, status, reason, message);
            // the Panel document answers unknown ids and users with 400
            case PANEL ->
                ctx.status(reason == Reason.NOT_FOUND || reason == Reason.USER_NOT_FOUND ? 400 : status)
                        .json(Map.of("error", panelMessage(reason, message)));
            case API_TOKENS -> ctx.status(status).json(Map.of("error", message));
            case USER_KEYS -> {
                Map<String, Object> body = new LinkedHashMap<>();
                body.put("status", "error");
                body.put("error_id", userKeysId(reason, status));
                body.put("message", message);
                ctx.status(status).json(body);
            }
            case NATIVE -> {
                Map<String, Object> body = new LinkedHashMap<>();
                body.put("type", "about:blank");
                body.put("title", title(status));
                body.put("status", status);
                body.put("detail", message);
                body.put("code", reason.name().toLowerCase());
                String id = ctx.attribute(RequestContext.REQUEST_ID);
                if (id != null) {
                    body.put("request_id", id);
                }
                if (reason == Reason.ROUTE_NOT_FOUND && ctx.path().startsWith("/api/v1/")) {
                    // extension members (RFC 9457 §3.2): a Matrix client that strayed here parses its own shape
                    body.put("error", "Route not found");
                    body.put("errorId", 404);
                }
                ctx.status(status).json(body);
                ctx.contentType("application/problem+json");
            }
        }
    }

    static int status(PierException e) {
        return switch (e) {
            case PierException.Invalid i ->
                switch (i.reason()) {
                    case BODY_TOO_LARGE -> 413;
                    case UNSUPPORTED_MEDIA_TYPE -> 415;
                    default -> 400;
                };
            case PierException.NotFound n -> 404;
            case PierException.Conflict c -> 409;
            case PierException.Denied d -> 403;
            case PierException.Unauthenticated u -> 401;
            case PierException.Throttled t -> 429;
            case PierException.Unavailable u -> 503;
            case PierException.Unprocessable u -> 422;
            case PierException.InsufficientStorage s -> 507;
        };
    }

    /** The Matrix document's ids and the statuses its original server used with them. */
    private static void matrix(Context ctx, int status, Reason reason, String message) {
        int id;
        int code = status;
        switch (reason) {
            case LOGIN_FIELDS_MISSING -> {
                id = 901;
                code = 400;
            }
            case INVALID_CREDENTIALS -> {
                id = 902;
                code = 400;
            }
            case USER_NOT_FOUND -> {
                id = 903;
                code = 400;
            }
            case UNKNOWN_ROLE -> {
                id = 905;
                code = 400;
            }
            case USER_DATA_MISSING -> {
                id = 913;
                code = 400;
            }
            case USERNAME_TAKEN -> {
                id = 914;
                code = 400;
            }
            case CREDENTIAL_MISSING, TOKEN_DISABLED -> {
                id = 904;
                code = 401;
            }
            case TOKEN_NOT_FOUND -> {
                id = 908;
                code = 401;
            }
            case TOKEN_EXPIRED -> {
                id = 909;
                code = 401;
            }
            case REFRESH_NOT_FOUND -> {
                id = 910;
                code = 401;
            }
            case OWNER_EXISTS -> {
                id = 906;
                code = 403;
            }
            case ACCESS_DENIED, INSUFFICIENT_LEVEL -> {
                id = 912;
                code = 403;
            }
            default -> id = status;
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", message);
        body.put("errorId", id);
        ctx.status(code).json(body);
    }

    /** The Panel document's own words for its 401s. */
    private static String panelMessage(Reason reason, String message) {
        return switch (reason) {
            case CREDENTIAL_MISSING -> "API key is required";
            case TOKEN_NOT_FOUND -> "API Key Invalid";
            default -> message;
        };
    }

    private static String userKeysId(Reason reason, int status) {
        return switch (reason) {
            case ACCESS_LEVEL_INVALID -> "user/validation/access_level/invalid";
            case COMMENT_TOO_LONG -> "user/validation/comment/too-long";
            case KEY_DELETE_FAILED -> "user/delete_apikey/failed";
            case CREDENTIAL_MISSING, TOKEN_NOT_FOUND, TOKEN_EXPIRED, TOKEN_DISABLED -> "api/not-authenticated";
            case ACCESS_DENIED, INSUFFICIENT_LEVEL -> "api/insufficient-permissions";
            case INVALID_CREDENTIALS -> "user/login-failed";
            case RATE_LIMITED -> "user/login-failed/rate-limited";
            case ROUTE_NOT_FOUND -> "api/invalid-endpoint";
            case MALFORMED_BODY, INVALID_FIELD, USER_DATA_MISSING, LOGIN_FIELDS_MISSING -> "api/invalid-request";
            case BODY_TOO_LARGE -> "api/request-too-large";
            case UNSUPPORTED_MEDIA_TYPE -> "api/unsupported-media-type";
            default -> "api/error-" + status;
        };
    }

    private static String title(int status) {
        return switch (status) {
            case 400 -> "Bad Request";
            case 401 -> "Unauthorized";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 409 -> "Conflict";
            case 413 -> "Content Too Large";
            case 415 -> "Unsupported Media Type";
            case 422 -> "Unprocessable Content";
            case 429 -> "Too Many Requests";
            case 503 -> "Service Unavailable";
            case 507 -> "Insufficient Storage";
            default -> status >= 500 ? "Internal Server Error" : "Error";
        };
    }
}
