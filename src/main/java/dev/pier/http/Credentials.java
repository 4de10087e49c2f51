package dev.pier.http;

import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import io.javalin.http.Context;

import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Finds the credential in a request, in every form SPEC §2 lists: {@code Authorization: Bearer T},
 * the Matrix document's literal {@code Authorization: Bearer: T}, {@code x-api-key}, {@code Token},
 * and the body fields {@code access_token} and {@code apikey}. Session token or API key alike.
 *
 * <p>One credential per request: a request that carries two different ones (a bearer and another
 * {@code x-api-key}, two {@code Authorization} headers) is refused, never decided by which form is
 * read first. The same value in two forms is one credential.
 */
public final class Credentials {
    private static final String[] TOKEN_HEADERS = {"x-api-key", "Token"};
    private static final String[] TOKEN_FIELDS = {"access_token", "apikey"};

    private Credentials() {}

    /** A username and password (and maybe a TOTP code) from the body of a route that accepts them. */
    public record Password(String username, String password, String code) {}

    /**
     * The one token or key the request carries, if any.
     *
     * @throws PierException.Invalid when it carries two different ones
     */
    public static Optional<String> find(Context ctx) {
        Set<String> found = new LinkedHashSet<>();
        List<String> authorization = Collections.list(ctx.req().getHeaders("Authorization"));
        if (authorization.size() > 1) {
            throw conflict("send one Authorization header, not " + authorization.size());
        }
        for (String auth : authorization) {
            bearer(auth).ifPresent(found::add);
        }
        for (String header : TOKEN_HEADERS) {
            for (String v : Collections.list(ctx.req().getHeaders(header))) {
                if (v != null && !v.isBlank()) {
                    found.add(v.strip());
                }
            }
        }
        if (hasBody(ctx)) {
            Fields f = Fields.of(ctx);
            for (String field : TOKEN_FIELDS) {
                if (f.has(field)) {
                    String v = f.scalar(field);
                    if (v != null && !v.isBlank()) {
                        found.add(v.strip());
                    }
                }
            }
        }
        if (found.size() > 1) {
            throw conflict("the request carries more than one credential; send exactly one "
                    + "(Authorization: Bearer, x-api-key, Token, access_token or apikey)");
        }
        return found.stream().findFirst();
    }

    /** Username and password fields, when the body has either. */
    public static Optional<Password> password(Context ctx) {
        if (!hasBody(ctx)) {
            return Optional.empty();
        }
        Fields f = Fields.of(ctx);
        if (!f.has("username") && !f.has("password")) {
            return Optional.empty();
        }
        return Optional.of(new Password(f.scalar("username"), f.string("password"), f.scalar("code")));
    }

    public static PierException.Invalid conflict(String message) {
        return new PierException.Invalid(Reason.INVALID_FIELD, message);
    }

    private static Optional<String> bearer(String auth) {
        String a = auth == null ? "" : auth.strip();
        if (!a.regionMatches(true, 0, "Bearer", 0, 6)) {
            return Optional.empty();
        }
        String rest = a.substring(6);
        if (rest.startsWith(":")) {
            rest = rest.substring(1);
        }
        rest = rest.strip();
        return rest.isEmpty() ? Optional.empty() : Optional.of(rest);
    }

    /** Whether the request has a body whose fields Pier reads (its type was checked by {@link RequestContext}). */
    static boolean hasBody(Context ctx) {
        String type = ctx.contentType();
        // a streamed body (an upload) is the route's bytes, never fields
        return type != null
                && !RequestContext.rawBody(ctx)
                && (ctx.contentLength() > 0
                        || ctx.isMultipart()
                        || type.startsWith("application/json")
                        || type.startsWith("application/x-www-form-urlencoded"));
    }
}
