package dev.pier.userkeys;

import dev.pier.security.AccessLevel;
import dev.pier.auth.PasswordAuth;
import dev.pier.security.Policy;
import dev.pier.security.Principal;
import dev.pier.security.Scope;
import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.http.Authenticator;
import dev.pier.http.Credentials;
import dev.pier.http.Fields;
import dev.pier.http.RequestContext;
import dev.pier.keys.ApiKey;
import dev.pier.keys.ApiKeyService;
import dev.pier.keys.CreatedKey;
import dev.pier.security.Role;
import io.javalin.http.Context;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The User API keys family (seeds/filebin-user-api.md) over {@link ApiKeyService}, under
 * {@code /api/user/…} and any version prefix {@code /api/vN[.N[.N]]/user/…}. Keys are never shown
 * again after creation, so listings name each key by its id, and {@code delete_key} takes either.
 */
public final class UserKeyRoutes {
    private static final Pattern VERSION = Pattern.compile("v\\d{1,4}(\\.\\d{1,4}){0,2}");
    private final ApiKeyService keys;
    private final Authenticator authenticator;
    private final PasswordAuth passwords;

    public UserKeyRoutes(ApiKeyService keys, Authenticator authenticator, PasswordAuth passwords) {
        this.keys = keys;
        this.authenticator = authenticator;
        this.passwords = passwords;
    }

    /** Before the versioned routes: only {@code vN[.N[.N]]} is a version. */
    public void checkVersion(Context ctx) {
        String v = ctx.pathParamMap().get("version");
        String endpoint = ctx.pathParamMap().get("endpoint");
        boolean keysEndpoint = endpoint == null || endpoint.equals("apikeys") || endpoint.equals("create_apikey")
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
            byId.put(k.id().toString(), m);
        }
        success(ctx, Map.of("apikeys", byId));
    }

    /** The one endpoint that accepts username + password instead of a key. */
    public void create(Context ctx) {
        checkVersion(ctx);
        Fields f = Fields.of(ctx);
        Principal p;
        Optional<String> credential = Credentials.find(ctx);
        if (credential.isPresent()) {
            p = authenticator.resolve(credential.get(), ctx.ip(), false);
        } else if (f.has("username") || f.has("password")) {
            p = passwords.authenticate(f.scalar("username"), f.string("password"), ctx.ip());
        } else {
            throw new PierException.Unauthenticated(Reason.CREDENTIAL_MISSING,
                    "not authenticated: send apikey, or username and password");
        }
        Policy.require(p, Role.VIEWER, Scope.KEYS);
        AccessLevel level = AccessLevel.parse(f.string("access_level")).orElseThrow(() ->
                new PierException.Invalid(Reason.ACCESS_LEVEL_INVALID, "access_level must be basic, apikey or full"));
        String comment = f.string("comment");
        CreatedKey created = keys.create(p, null, new ApiKeyService.NewKey(comment, true, null, level));
        success(ctx, Map.of("new_key", created.value()));
    }

    public void delete(Context ctx) {
        checkVersion(ctx);
        Principal p = RequestContext.principal(ctx);
        String target = Fields.of(ctx).scalar("delete_key");
        if (target == null || target.isBlank()) {
            throw new PierException.Invalid(Reason.KEY_DELETE_FAILED, "delete_key is required");
        }
        Optional<UUID> id = parseUuid(target).or(() -> keys.idOfValue(target.strip()));
        ApiKey deleted;
        try {
            deleted = keys.delete(p, id.orElseThrow(() -> failed()));
        } catch (PierException.NotFound e) {
            throw failed();
        }
        success(ctx, Map.of("deleted_keys", Map.of(deleted.id().toString(), Map.of("key", deleted.id().toString()))));
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
