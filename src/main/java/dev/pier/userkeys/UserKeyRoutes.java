package dev.pier.userkeys;

import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.http.Fields;
import dev.pier.http.RequestContext;
import dev.pier.keys.ApiKey;
import dev.pier.keys.ApiKeyService;
import dev.pier.keys.CreatedKey;
import dev.pier.security.AccessLevel;
import dev.pier.security.Principal;
import io.javalin.http.Context;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The User API keys family (seeds/filebin-user-api.md) over {@link ApiKeyService}, under
 * {@code /api/user/…} and any version prefix {@code /api/vN[.N[.N]]/user/…}. Keys are never shown
 * again after creation, so listings name each key by its id and show its fingerprint (what a client
 * holding the key can compute: {@code sha256:} + the first 16 hex digits of SHA-256 of the key), and
 * {@code delete_key} takes either the id or the key itself. Authentication, username + password + code
 * included, is the one before-handler's ({@code RequestContext.authorize}).
 */
public final class UserKeyRoutes {
    private static final Pattern VERSION = Pattern.compile("v\\d{1,4}(\\.\\d{1,4}){0,2}");
    private final ApiKeyService keys;

    public UserKeyRoutes(ApiKeyService keys) {
        this.keys = keys;
    }

    /** Before the versioned routes: only {@code vN[.N[.N]]} is a version. */
    public void checkVersion(Context ctx) {
        String v = ctx.pathParamMap().get("version");
        String endpoint = ctx.pathParamMap().get("endpoint");
        boolean keysEndpoint = endpoint == null
                || endpoint.equals("apikeys")
                || endpoint.equals("create_apikey")
                || endpoint.equals("delete_apikey");
        if (v != null && keysEndpoint && !VERSION.matcher(v).matches()) {
            throw new PierException.NotFound(Reason.ROUTE_NOT_FOUND, "invalid API version '" + v + "'");
        }
    }

    public void list(Context ctx) {
        checkVersion(ctx);
        Map<String, Object> byId = new LinkedHashMap<>();
        for (ApiKey k : keys.listOwn(RequestContext.principal(ctx))) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("key", k.id().toString());
            m.put("created", k.createdAt().getEpochSecond());
            m.put("comment", k.description());
            m.put("access_level", k.level().wire());
            m.put("id", k.id().toString());
            m.put("fingerprint", k.fingerprint());
            byId.put(k.id().toString(), m);
        }
        success(ctx, Map.of("apikeys", byId));
    }

    /**
     * The one endpoint that also accepts username + password (+ TOTP code) instead of a key; its route
     * {@code Access} says so, and the before-handler authenticated the caller either way.
     */
    public void create(Context ctx) {
        checkVersion(ctx);
        Fields f = Fields.of(ctx);
        Principal p = RequestContext.principal(ctx);
        AccessLevel level = AccessLevel.parse(f.string("access_level"))
                .orElseThrow(() -> new PierException.Invalid(
                        Reason.ACCESS_LEVEL_INVALID, "access_level must be basic, apikey or full"));
        String comment = f.string("comment");
        CreatedKey created = keys.create(p, null, new ApiKeyService.NewKey(comment, true, null, level));
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("new_key", created.value());
        data.put("id", created.key().id().toString());
        data.put("fingerprint", created.key().fingerprint());
        success(ctx, data);
    }

    public void delete(Context ctx) {
        checkVersion(ctx);
        Principal p = RequestContext.principal(ctx);
        String target = Fields.of(ctx).scalar("delete_key");
        if (target == null || target.isBlank()) {
            throw new PierException.Invalid(Reason.KEY_DELETE_FAILED, "delete_key is required");
        }
        String named = target.strip();
        Optional<UUID> id = parseUuid(named).or(() -> keys.idOfValue(named));
        try {
            keys.delete(p, id.orElseThrow(UserKeyRoutes::failed));
        } catch (PierException.NotFound e) {
            throw failed();
        }
        // keyed by what the client sent, as the document's example: the key itself, or the id
        success(ctx, Map.of("deleted_keys", Map.of(named, Map.of("key", named))));
    }

    private static PierException failed() {
        return new PierException.Invalid(Reason.KEY_DELETE_FAILED, "Apikey deletion failed. Possibly wrong owner.");
    }

    private static Optional<UUID> parseUuid(String s) {
        try {
            return Optional.of(UUID.fromString(s.strip()));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private static void success(Context ctx, Object data) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", "success");
        body.put("data", data);
        ctx.json(body);
    }
}
