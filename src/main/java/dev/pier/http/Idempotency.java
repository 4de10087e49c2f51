package dev.pier.http;

import dev.pier.crypto.Hashing;
import dev.pier.crypto.SecretBox;
import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.security.Principal;
import io.javalin.http.Handler;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * {@code Idempotency-Key} on create routes (draft-ietf-httpapi-idempotency-key-header): a create retried
 * with the same key by the same caller gets the first answer again instead of creating twice, so a client
 * that lost an answer (a timeout, a dropped connection, a server killed after it committed) may simply
 * retry. The first successful answer is kept for {@link #KEEP} per (caller, route, key), sealed under
 * the master key because it may hold a secret shown once (a new API key). While the first request runs, a
 * retry is answered 409; the same key with a different request is 422. A failed first attempt keeps
 * nothing, so the retry runs for real. A request without the header is not affected.
 *
 * <p>A request cut short by a crash leaves its claim behind; after {@link #LEASE} another attempt may take
 * it over and run (the first one never answered, so the client cannot have relied on it).
 */
public final class Idempotency {
    public static final String HEADER = "Idempotency-Key";
    static final Duration KEEP = Duration.ofHours(24);
    static final Duration LEASE = Duration.ofSeconds(60);
    private static final Pattern KEY = Pattern.compile("[\\x20-\\x7e]{1,255}");

    private final Jdbi jdbi;
    private final SecretBox box;
    private final Clock clock;

    public Idempotency(Jdbi jdbi, SecretBox box, Clock clock) {
        this.jdbi = jdbi;
        this.box = box;
        this.clock = clock;
    }

    private record Kept(
            String requestHash,
            String state,
            Integer status,
            String contentType,
            String body,
            Instant createdAt,
            Instant expiresAt) {}

    /** {@code create}, made safe to retry with an {@code Idempotency-Key}. */
    public Handler wrap(Handler create) {
        return ctx -> {
            String key = ctx.header(HEADER);
            if (key == null) {
                create.handle(ctx);
                return;
            }
            if (!KEY.matcher(key).matches()) {
                throw new PierException.Invalid(HEADER + " must be 1-255 printable ASCII characters");
            }
            Principal p = ctx.attribute(RequestContext.PRINCIPAL);
            if (p == null) {
                // a create that authenticates its caller itself: no caller to scope the key to
                create.handle(ctx);
                return;
            }
            String owner =
                    p.kind() == Principal.Kind.SYSTEM ? "system" : p.userId().toString();
            String route = ctx.method().name() + " " + ctx.endpoint().path;
            String keyHash = Hashing.sha256Hex(route + "\n" + key);
            String requestHash = Hashing.sha256Hex(route + "\n" + ctx.path() + "\n" + ctx.contentType() + "\n"
                    + new String(ctx.bodyAsBytes(), StandardCharsets.ISO_8859_1));
            Optional<Kept> replay = claim(owner, keyHash, requestHash);
            if (replay.isPresent()) {
                Kept k = replay.get();
                byte[] body = box.open(k.body(), aad(owner, keyHash));
                ctx.status(k.status()).header("Idempotent-Replayed", "true");
                if (k.contentType() != null) {
                    ctx.contentType(k.contentType());
                }
                ctx.result(body);
                return;
            }
            try {
                create.handle(ctx);
            } catch (Exception | Error e) {
                release(owner, keyHash);
                throw e;
            }
            int status = ctx.statusCode();
            if (status < 200 || status > 299) {
                release(owner, keyHash);
                return;
            }
            String result = ctx.result();
            byte[] body = result == null ? new byte[0] : result.getBytes(StandardCharsets.UTF_8);
            String sealed = box.seal(body, aad(owner, keyHash));
            jdbi.useHandle(h -> h.createUpdate("""
                            UPDATE idempotency_keys SET state = 'done', status = :status, content_type = :type, body = :body
                            WHERE owner = :owner AND key_hash = :key""")
                    .bind("status", status)
                    .bind("type", ctx.res().getContentType())
                    .bind("body", sealed)
                    .bind("owner", owner)
                    .bind("key", keyHash)
                    .execute());
        };
    }

    /**
     * Claims the key for this request; returns the kept answer to replay instead when there is one.
     *
     * @throws PierException.Conflict      while the first request with this key still runs
     * @throws PierException.Unprocessable when the key was used with another request
     */
    private Optional<Kept> claim(String owner, String keyHash, String requestHash) {
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        for (int attempt = 0; attempt < 3; attempt++) {
            try {
                jdbi.useHandle(h -> h.createUpdate("""
                                INSERT INTO idempotency_keys (owner, key_hash, request_hash, state, created_at, expires_at)
                                VALUES (:owner, :key, :request, 'pending', :now, :expires)""")
                        .bind("owner", owner)
                        .bind("key", keyHash)
                        .bind("request", requestHash)
                        .bind("now", now)
                        .bind("expires", now.plus(KEEP))
                        .execute());
                return Optional.empty();
            } catch (UnableToExecuteStatementException taken) {
                // the key is known: decide from what is kept
            }
            Optional<Kept> kept = jdbi.withHandle(h -> h.createQuery("""
                            SELECT request_hash, state, status, content_type, body, created_at, expires_at
                            FROM idempotency_keys WHERE owner = :owner AND key_hash = :key""")
                    .bind("owner", owner)
                    .bind("key", keyHash)
                    .map((rs, ctx) -> new Kept(
                            rs.getString(1),
                            rs.getString(2),
                            (Integer) rs.getObject(3),
                            rs.getString(4),
                            rs.getString(5),
                            dev.pier.db.Columns.instant(rs, 6, ctx),
                            dev.pier.db.Columns.instant(rs, 7, ctx)))
                    .findOne());
            if (kept.isEmpty()) {
                continue; // released in between: claim it again
            }
            Kept k = kept.get();
            if (!k.expiresAt().isAfter(now)) {
                delete(owner, keyHash, k.createdAt());
                continue;
            }
            if (!Hashing.constantTimeEquals(k.requestHash(), requestHash)) {
                throw new PierException.Unprocessable(
                        Reason.IDEMPOTENCY_KEY_REUSED,
                        HEADER + " was already used with a different request; use a new key for a new request");
            }
            if (k.state().equals("done")) {
                return Optional.of(k);
            }
            if (k.createdAt().plus(LEASE).isBefore(now)) {
                // the request that claimed it never finished (a crash): take the claim over, if nobody else did
                int taken = jdbi.withHandle(h -> h.createUpdate("""
                                UPDATE idempotency_keys SET created_at = :now
                                WHERE owner = :owner AND key_hash = :key AND state = 'pending' AND created_at = :then""")
                        .bind("now", now)
                        .bind("owner", owner)
                        .bind("key", keyHash)
                        .bind("then", k.createdAt())
                        .execute());
                if (taken == 1) {
                    return Optional.empty();
                }
            }
            throw new PierException.Conflict(
                    Reason.IDEMPOTENCY_KEY_IN_USE,
                    "a request with this " + HEADER + " is still in progress; retry when it has finished");
        }
        throw new PierException.Conflict(
                Reason.IDEMPOTENCY_KEY_IN_USE,
                "a request with this " + HEADER + " is still in progress; retry when it has finished");
    }

    private void release(String owner, String keyHash) {
        jdbi.useHandle(h -> h.createUpdate(
                        "DELETE FROM idempotency_keys WHERE owner = :owner AND key_hash = :key AND state = 'pending'")
                .bind("owner", owner)
                .bind("key", keyHash)
                .execute());
    }

    private void delete(String owner, String keyHash, Instant createdAt) {
        jdbi.useHandle(h -> h.createUpdate(
                        "DELETE FROM idempotency_keys WHERE owner = :owner AND key_hash = :key AND created_at = :at")
                .bind("owner", owner)
                .bind("key", keyHash)
                .bind("at", createdAt)
                .execute());
    }

    /** Removes kept answers past their time; run periodically. */
    public int purgeExpired() {
        Instant now = clock.instant();
        return jdbi.withHandle(h -> h.createUpdate("DELETE FROM idempotency_keys WHERE expires_at < :now")
                .bind("now", now)
                .execute());
    }

    private static String aad(String owner, String keyHash) {
        return "idempotency:" + owner + ":" + keyHash;
    }
}
