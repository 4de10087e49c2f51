package dev.pier.http;

import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.security.Policy;
import dev.pier.security.Principal;
import io.javalin.http.Context;
import io.javalin.security.RouteRole;

import java.util.Locale;
import java.util.Optional;
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

    /** Whether the matched route streams its body itself ({@link Access#rawBody}). */
    static boolean rawBody(Context ctx) {
        return ctx.routeRoles().stream().anyMatch(r -> r instanceof Access a && a.rawBody());
    }

    /**
     * Uploads, by their path: the size check runs before a route is matched. The route's own {@link Access}
     * ({@link Access#UPLOAD}) still decides who may send one.
     */
    private static final Pattern UPLOAD = Pattern.compile("^/api/v1/instances/[^/]+/files/content$");

    private static boolean upload(Context ctx) {
        return "PUT".equals(ctx.method().name()) && UPLOAD.matcher(ctx.path()).matches();
    }

    public void before(Context ctx) {
        String given = ctx.header("X-Request-Id");
        String id = given != null && SAFE_ID.matcher(given).matches()
                ? given
                : UUID.randomUUID().toString();
        ctx.attribute(REQUEST_ID, id);
        ctx.header("X-Request-Id", id);
        ctx.attribute(FAMILY, Family.of(ctx.path()));
        if (ctx.contentLength() > maxBodyBytes && !upload(ctx)) {
            // refused by its header: a client waiting for "100 Continue" has sent nothing; any other is
            // sending the body now, and gets the answer only if the body is read (within a bound)
            if (!RequestBodies.awaitingContinue(ctx) && ctx.contentLength() <= RequestBodies.DISCARD_LIMIT) {
                RequestBodies.discardRest(ctx);
            }
            throw new PierException.Invalid(
                    Reason.BODY_TOO_LARGE, "request body is larger than " + maxBodyBytes + " bytes");
        }
    }

    /**
     * Every matched route: the body's type first (nothing acts on a body it was not meant to read), then
     * the one credential, resolved to a principal, then the route's {@link Access}.
     */
    public void authorize(Context ctx) {
        requireAcceptedBody(ctx);
        Access found = null;
        for (RouteRole r : ctx.routeRoles()) {
            if (r instanceof Access a) {
                found = a;
            }
        }
        if (found == null) {
            return;
        }
        Access access = found;
        Optional<String> credential = Credentials.find(ctx);
        Optional<Credentials.Password> password =
                access.acceptsPassword() ? Credentials.password(ctx) : Optional.empty();
        Principal p;
        if (password.isPresent()) {
            if (credential.isPresent()) {
                // the User API keys document calls this "undefined behaviour": refuse it
                throw Credentials.conflict("send an API key or username and password, not both");
            }
            p = authenticator.resolve(password.get(), ctx.ip());
        } else {
            String c = credential.orElseThrow(() -> new PierException.Unauthenticated(
                    Reason.CREDENTIAL_MISSING,
                    access.acceptsPassword()
                            ? "not authenticated: send apikey, or username and password"
                            : "unauthorized: no access token or API key"));
            p = authenticator.resolve(c, ctx.ip(), access.acceptsRefreshToken());
        }
        ctx.attribute(PRINCIPAL, p); // before the role check, so a refusal is logged with who was refused
        Policy.require(p, access.min(), access.scope());
    }

    /**
     * JSON bodies need a JSON content type (so a cross-site {@code text/plain} or form POST, which a
     * browser sends without asking, cannot act); the User API keys family also takes urlencoded and
     * multipart forms, as its document does, and the Matrix family its "form" (urlencoded, and multipart,
     * which its clients have sent). 415 otherwise.
     */
    static void requireAcceptedBody(Context ctx) {
        if (rawBody(ctx)) {
            return;
        }
        long length = ctx.contentLength();
        boolean body = length > 0 || (length < 0 && ctx.header("Transfer-Encoding") != null);
        if (!body) {
            return;
        }
        String type = ctx.contentType() == null ? "" : ctx.contentType().toLowerCase(Locale.ROOT);
        int semi = type.indexOf(';');
        String mime = (semi < 0 ? type : type.substring(0, semi)).strip();
        Family family = ctx.attribute(FAMILY) instanceof Family f ? f : Family.of(ctx.path());
        boolean json = mime.equals("application/json") || (mime.startsWith("application/") && mime.endsWith("+json"));
        boolean urlencoded = mime.equals("application/x-www-form-urlencoded");
        boolean multipart = mime.equals("multipart/form-data");
        boolean accepted =
                json || ((urlencoded || multipart) && (family == Family.USER_KEYS || family == Family.MATRIX));
        if (!accepted) {
            String allowed = switch (family) {
                case USER_KEYS, MATRIX -> "application/json, application/x-www-form-urlencoded or multipart/form-data";
                default -> "application/json";
            };
            throw new PierException.Invalid(
                    Reason.UNSUPPORTED_MEDIA_TYPE,
                    "unsupported content type '" + (mime.isEmpty() ? "none" : printable(mime)) + "': send " + allowed);
        }
    }

    private static String printable(String s) {
        String t = s.length() > 100 ? s.substring(0, 100) : s;
        return t.replaceAll("[^\\x20-\\x7e]", "?");
    }

    public static Principal principal(Context ctx) {
        Principal p = ctx.attribute(PRINCIPAL);
        if (p == null) {
            throw new IllegalStateException("route has no Access requirement but asked for a principal");
        }
        return p;
    }
}
