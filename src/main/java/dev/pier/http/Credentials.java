package dev.pier.http;

import io.javalin.http.Context;

import java.util.Optional;

/**
 * Finds the credential in a request, in every form SPEC §2 lists: {@code Authorization: Bearer T},
 * the Matrix document's literal {@code Authorization: Bearer: T}, {@code x-api-key}, {@code Token},
 * and the body fields {@code access_token} and {@code apikey}. Session token or API key alike.
 */
public final class Credentials {
    private Credentials() {
    }

    public static Optional<String> find(Context ctx) {
        String auth = ctx.header("Authorization");
        if (auth != null) {
            String a = auth.strip();
            if (a.regionMatches(true, 0, "Bearer", 0, 6)) {
                String rest = a.substring(6);
                if (rest.startsWith(":")) {
                    rest = rest.substring(1);
                }
                rest = rest.strip();
                if (!rest.isEmpty()) {
                    return Optional.of(rest);
                }
            }
        }
        for (String header : new String[]{"x-api-key", "Token"}) {
            String v = ctx.header(header);
            if (v != null && !v.isBlank()) {
                return Optional.of(v.strip());
            }
        }
        if (hasBody(ctx)) {
            Fields f = Fields.of(ctx);
            for (String field : new String[]{"access_token", "apikey"}) {
                if (f.has(field)) {
                    String v = f.scalar(field);
                    if (v != null && !v.isBlank()) {
                        return Optional.of(v.strip());
                    }
                }
            }
        }
        return Optional.empty();
    }

    private static boolean hasBody(Context ctx) {
        String type = ctx.contentType();
        return type != null && (ctx.contentLength() > 0 || ctx.isMultipart() || type.startsWith("application/json")
                || type.startsWith("application/x-www-form-urlencoded"));
    }
}
