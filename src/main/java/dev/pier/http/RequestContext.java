package dev.pier.http;

import dev.pier.security.Policy;
import dev.pier.security.Principal;
import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import io.javalin.http.Context;
import io.javalin.security.RouteRole;

import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The two handlers every request passes: {@link #before} (request id, family, body size) and
 * {@link #authorize} (authentication once, then the route's {@link Access} requirement).
 */
public final class RequestContext {
    public static final String FAMILY = "pier.family";
    public static final String REQUEST_ID = "pier.requestId";
    public static final String PRINCIPAL = "pier.principal";
    private static final Pattern SAFE_ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    private final Authenticator authenticator;
    private final long maxBodyBytes;

    public RequestContext(Authenticator authenticator, long maxBodyBytes) {
        this.authenticator = authenticator;
        this.maxBodyBytes = maxBodyBytes;
    }

    public void before(Context ctx) {
        String given = ctx.header("X-Request-Id");
        String id = given != null && SAFE_ID.matcher(given).matches() ? given : UUID.randomUUID().toString();
        ctx.attribute(REQUEST_ID, id);
        ctx.header("X-Request-Id", id);
        ctx.attribute(FAMILY, Family.of(ctx.path()));
        if (ctx.contentLength() > maxBodyBytes) {
            // refused by its header: a client waiting for "100 Continue" has sent nothing; any other is
            // sending the body now, and gets the answer only if the body is read (within a bound)
            if (!RequestBodies.awaitingContinue(ctx) && ctx.contentLength() <= RequestBodies.DISCARD_LIMIT) {
                RequestBodies.discardRest(ctx);
            }
            throw new PierException.Invalid(Reason.BODY_TOO_LARGE,
                    "request body is larger than " + maxBodyBytes + " bytes");
        }
    }

    public void authorize(Context ctx) {
        Access access = null;
        for (RouteRole r : ctx.routeRoles()) {
            if (r instanceof Access a) {
                access = a;
            }
        }
        if (access == null) {
            return;
        }
        String credential = Credentials.find(ctx).orElseThrow(() ->
                new PierException.Unauthenticated(Reason.CREDENTIAL_MISSING, "unauthorized: no access token or API key"));
        Principal p = authenticator.resolve(credential, ctx.ip(), access.acceptsRefreshToken());
        ctx.attribute(PRINCIPAL, p); // before the role check, so a refusal is logged with who was refused
        Policy.require(p, access.min(), access.scope());
    }

    public static Principal principal(Context ctx) {
        Principal p = ctx.attribute(PRINCIPAL);
        if (p == null) {
            throw new IllegalStateException("route has no Access requirement but asked for a principal");
        }
        return p;
    }
}
