package dev.pier.live;

import dev.pier.audit.AuditLog;
import dev.pier.crypto.Hashing;
import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.http.Authenticator;
import dev.pier.instances.Instance;
import dev.pier.security.Principal;
import org.jdbi.v3.core.Jdbi;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Single-use tickets that open an instance's console: a browser's WebSocket cannot send a credential
 * header, so a client that holds one asks for a ticket (an authenticated request) and opens the socket
 * with the ticket instead. A ticket is 256 random bits, good for {@link #TTL}, for one instance, once.
 *
 * <p>Only the ticket's SHA-256 is stored, with the session or API key that asked for it (by id). Redeeming
 * uses the ticket up in one conditional update, so of any number of redeems at once exactly one gets
 * through, and then checks that credential again ({@link Authenticator#recheck}): a ticket of a session
 * ended or a key deleted since is refused, and the principal returned has the user's role and the key's
 * level as they are now. Every refusal reads the same, so a caller cannot tell an unknown ticket from a
 * used or expired one. Whether the principal may use the instance's console is the caller's decision, as
 * for any request. Tickets are never logged or audited, only their issue. Thread-safe.
 */
public final class ConsoleTickets {
    /** How long a ticket may wait to be redeemed. */
    public static final Duration TTL = Duration.ofSeconds(30);
    /** How long an expired ticket stays before {@link #purgeExpired()} deletes it. */
    static final Duration KEPT_AFTER_EXPIRY = Duration.ofMinutes(1);
    /** What every refused redeem says, whatever the reason. */
    static final String REFUSED = "console ticket invalid, used or expired";
    /** 32 bytes in base64url without padding. */
    private static final Pattern FORMAT = Pattern.compile("[A-Za-z0-9_-]{43}");

    private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();

    private final Jdbi jdbi;
    private final Authenticator authenticator;
    private final AuditLog audit;
    private final Clock clock;

    public ConsoleTickets(Jdbi jdbi, Authenticator authenticator, AuditLog audit, Clock clock) {
        this.jdbi = jdbi;
        this.authenticator = authenticator;
        this.audit = audit;
        this.clock = clock;
    }

    /** A new ticket, shown to its caller only, and when it expires. */
    public record Issued(String ticket, Instant expiresAt) {
        @Override
        public String toString() {
            return "Issued[expiresAt=" + expiresAt + "]"; // never the ticket, should this reach a log
        }
    }

    /**
     * Issues a ticket for {@code inst}'s console to the caller. Only a session (access token) or an API key
     * can stand behind a ticket: it is checked again by id on redeem.
     *
     * @throws IllegalArgumentException for any other kind of principal (the CLI has no user to store, and a
     *     refresh token or a password is not a credential a stream may rest on)
     */
    public Issued issue(Principal p, Instance inst) {
        if ((p.kind() != Principal.Kind.ACCESS_TOKEN && p.kind() != Principal.Kind.API_KEY)
                || p.credentialId() == null) {
            throw new IllegalArgumentException("a " + p.kind() + " principal gets no console ticket");
        }
        String ticket = ENCODER.encodeToString(Hashing.randomBytes(32));
        Instant now = now();
        Instant expires = now.plus(TTL);
        jdbi.useTransaction(h -> {
            h.attach(ConsoleTicketDao.class)
                    .insert(
                            UUID.randomUUID(),
                            Hashing.sha256Hex(ticket),
                            p.userId(),
                            inst.id(),
                            p.kind().name(),
                            p.credentialId(),
                            now,
                            expires);
            audit.record(
                    h,
                    p.actor(),
                    "console.ticket",
                    inst.name(),
                    "success",
                    "instance " + inst.id() + ", expires " + expires);
        });
        return new Issued(ticket, expires);
    }

    /**
     * Uses a ticket up for {@code instanceId}'s console and returns who it stands for now, as seen from
     * {@code clientAddr}.
     *
     * @throws PierException.Unauthenticated when the ticket is malformed, unknown, for another instance,
     *     used, expired, or its credential no longer holds; always with the same message
     */
    public Principal redeem(String ticket, UUID instanceId, String clientAddr) {
        if (ticket == null || instanceId == null || !FORMAT.matcher(ticket).matches()) {
            throw refused();
        }
        String hash = Hashing.sha256Hex(ticket);
        Instant now = now();
        Optional<ConsoleTicketRow> used = jdbi.inTransaction(h -> {
            ConsoleTicketDao dao = h.attach(ConsoleTicketDao.class);
            return dao.use(hash, instanceId, now) == 1 ? dao.findByHash(hash) : Optional.<ConsoleTicketRow>empty();
        });
        ConsoleTicketRow row = used.orElseThrow(ConsoleTickets::refused);
        Principal asked = new Principal(
                row.userId(),
                null,
                null,
                null,
                Principal.Kind.valueOf(row.credentialKind()),
                row.credentialId(),
                clientAddr);
        Principal current;
        try {
            current = authenticator.recheck(asked).principal();
        } catch (PierException.Unauthenticated gone) {
            throw refused();
        }
        if (!current.userId().equals(row.userId())) {
            throw refused(); // a credential id belongs to one user for life; anything else is not this ticket's
        }
        return current;
    }

    /** Deletes the tickets that expired more than {@link #KEPT_AFTER_EXPIRY} ago; run periodically. */
    public int purgeExpired() {
        Instant before = now().minus(KEPT_AFTER_EXPIRY);
        return jdbi.withHandle(h -> h.attach(ConsoleTicketDao.class).deleteExpiredBefore(before));
    }

    private static PierException.Unauthenticated refused() {
        return new PierException.Unauthenticated(Reason.TOKEN_NOT_FOUND, REFUSED);
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }
}
