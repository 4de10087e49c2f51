package dev.pier.apitokens;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.http.Fields;
import dev.pier.http.Json;
import dev.pier.http.RequestContext;
import dev.pier.keys.ApiKey;
import dev.pier.keys.ApiKeyService;
import dev.pier.keys.CreatedKey;
import dev.pier.security.AccessLevel;
import io.javalin.http.Context;

import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * The API tokens family (seeds/kriten-api-tokens.txt) over {@link ApiKeyService}. A key that never
 * expires is shown with Go's zero time, {@code 0001-01-01T00:00:00Z}, as the original server did; that
 * value (or 0000-01-01…, null, "") is accepted as "never" on input.
 */
public final class ApiTokenRoutes {
    static final String NEVER = "0001-01-01T00:00:00Z";
    private final ApiKeyService keys;

    public ApiTokenRoutes(ApiKeyService keys) {
        this.keys = keys;
    }

    public void create(Context ctx) {
        Fields f = Fields.of(ctx);
        String level = f.string("access_level");
        AccessLevel accessLevel = level == null
                ? null
                : AccessLevel.parse(level)
                        .orElseThrow(() -> new PierException.Invalid(
                                Reason.ACCESS_LEVEL_INVALID, "access_level must be basic, apikey or full"));
        Optional<Instant> expires = expires(f);
        CreatedKey created = keys.create(
                RequestContext.principal(ctx),
                null,
                new ApiKeyService.NewKey(
                        f.string("description"),
                        f.bool("enabled"),
                        expires == null ? null : expires.orElse(null),
                        accessLevel));
        Map<String, Object> json = json(created.key());
        json.put("key", created.value());
        ctx.json(json);
    }

    public void listOwn(Context ctx) {
        ctx.json(keys.listOwn(RequestContext.principal(ctx)).stream()
                .map(ApiTokenRoutes::json)
                .toList());
    }

    public void listAll(Context ctx) {
        ctx.json(keys.listAll(RequestContext.principal(ctx)).stream()
                .map(ApiTokenRoutes::json)
                .toList());
    }

    public void get(Context ctx) {
        ctx.json(json(keys.get(RequestContext.principal(ctx), id(ctx))));
    }

    public void update(Context ctx) {
        Fields f = Fields.of(ctx);
        ApiKey k = keys.update(
                RequestContext.principal(ctx), id(ctx), f.string("description"), f.bool("enabled"), expires(f));
        ctx.json(json(k));
    }

    public void delete(Context ctx) {
        ApiKey k = keys.delete(RequestContext.principal(ctx), id(ctx));
        ctx.json(Json.object("msg", "token deleted", "id", k.id().toString()));
    }

    /** null: field absent (leave as is); empty: never expires; a value: that instant. */
    static Optional<Instant> expires(Fields f) {
        if (!f.has("expires")) {
            return f.node("expires") != null ? Optional.empty() : null;
        }
        JsonNode n = f.node("expires");
        if (!n.isTextual()) {
            throw new PierException.Invalid("expires must be an RFC 3339 date-time string");
        }
        String s = n.textValue().trim();
        if (s.isEmpty() || s.startsWith("0000-01-01") || s.startsWith("0001-01-01")) {
            return Optional.empty();
        }
        try {
            return Optional.of(OffsetDateTime.parse(s).toInstant());
        } catch (DateTimeParseException e) {
            try {
                return Optional.of(LocalDate.parse(s).atStartOfDay().toInstant(ZoneOffset.UTC));
            } catch (DateTimeParseException e2) {
                throw new PierException.Invalid("expires must be an RFC 3339 date-time such as 2030-01-31T12:00:00Z");
            }
        }
    }

    private static UUID id(Context ctx) {
        try {
            return UUID.fromString(ctx.pathParam("id"));
        } catch (IllegalArgumentException e) {
            throw new PierException.NotFound("token " + ctx.pathParam("id") + " not found");
        }
    }

    static Map<String, Object> json(ApiKey k) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", k.id().toString());
        m.put("owner", k.userId().toString());
        m.put("description", k.description());
        m.put("created_at", k.createdAt().toString());
        m.put("updated_at", k.updatedAt().toString());
        m.put("expires", k.expiresAt().map(Instant::toString).orElse(NEVER));
        m.put("enabled", k.enabled());
        m.put("access_level", k.level().wire());
        m.put("last_used_at", k.lastUsedAt().map(Instant::toString).orElse(null));
        m.put("fingerprint", k.fingerprint());
        return m;
    }
}
