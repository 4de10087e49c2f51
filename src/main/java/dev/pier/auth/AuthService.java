package dev.pier.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.pier.audit.Actor;
import dev.pier.audit.AuditLog;
import dev.pier.config.Config;
import dev.pier.crypto.Hashing;
import dev.pier.db.ChangeFeed;
import dev.pier.db.Columns;
import dev.pier.db.Topic;
import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.security.AccessLevel;
import dev.pier.security.Policy;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.users.User;
import dev.pier.users.UserDao;
import dev.pier.users.UserRow;
import dev.pier.users.UserService;
import io.micrometer.core.instrument.MeterRegistry;
import org.jdbi.v3.core.Jdbi;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Sessions: TOTP login, refresh with rotation and reuse detection, revocation, and resolving an
 * access token to a {@link Principal}. Known access tokens are served from memory; every change to
 * sessions or users drops that cache (see {@link ChangeFeed}). Thread-safe.
 */
public final class AuthService {
    private final Jdbi jdbi;
    private final UserService users;
    private final LoginGuard guard;
    private final AuditLog audit;
    private final ChangeFeed changes;
    private final Clock clock;
    private final Config config;
    private final PasswordCheck passwords;
    private final MeterRegistry metrics;
    private final Cache<String, CachedAccess> accessCache = Caffeine.newBuilder()
            .maximumSize(100_000)
            .expireAfterWrite(Duration.ofMinutes(10))
            .build();
    /**
     * Counts invalidations. A lookup that read the database before a revocation committed must not put its
     * now stale row into the cache after the revocation emptied it: it only caches if no change came between.
     */
    private final AtomicLong cacheGeneration = new AtomicLong();

    /** Verifies a password against a stored hash; wired to Argon2 by the composition root. */
    public interface PasswordCheck {
        boolean verify(String password, String storedHash);
    }

    private record CachedAccess(UUID sessionId, UUID userId, String username, Role role, Instant expiresAt) {}

    public AuthService(
            Jdbi jdbi,
            UserService users,
            LoginGuard guard,
            AuditLog audit,
            ChangeFeed changes,
            Clock clock,
            Config config,
            PasswordCheck passwords,
            MeterRegistry metrics) {
        this.jdbi = jdbi;
        this.users = users;
        this.guard = guard;
        this.audit = audit;
        this.changes = changes;
        this.clock = clock;
        this.config = config;
        this.passwords = passwords;
        this.metrics = metrics;
        changes.onChange(Topic.AUTH, () -> {
            cacheGeneration.incrementAndGet();
            accessCache.invalidateAll();
        });
    }

    /**
     * Logs in with a TOTP code (and a password when the server requires one). Unknown user and wrong
     * code take the same path, with the same work (a dummy secret is decrypted and checked, and with
     * passwords required a dummy hash is verified), and give the same answer. Each code works once.
     */
    public Tokens login(String username, String code, String password, String clientAddr) {
        if (username == null || username.isBlank() || code == null || code.isBlank()) {
            throw new PierException.Invalid(Reason.LOGIN_FIELDS_MISSING, "code or username missing");
        }
        if (config.requirePassword() && (password == null || password.isEmpty())) {
            throw new PierException.Invalid(Reason.LOGIN_FIELDS_MISSING, "password missing");
        }
        long started = System.nanoTime();
        try (LoginGuard.Attempt attempt = guard.admit(username, clientAddr)) {
            Instant now = clock.instant();
            Optional<UserRow> row = users.findRow(username);
            OptionalLong step = Totp.matchingStep(users.openSecretOrDummy(row), code, now);
            boolean passwordOk = !config.requirePassword()
                    || passwords.verify(password, row.map(UserRow::passwordHash).orElse(null));
            boolean ok = row.isPresent()
                    && !row.get().disabled()
                    && step.isPresent()
                    && passwordOk
                    && jdbi.withHandle(h -> h.attach(UserDao.class)
                                    .consumeStep(row.get().id(), step.getAsLong()))
                            == 1;
            // the name as typed, minus control characters: a NUL would make the audit write itself fail
            String shown = printable(username);
            Actor actor = new Actor(row.map(UserRow::id).orElse(null), shown, null, clientAddr);
            if (!ok) {
                attempt.failed(passwordOk ? LoginGuard.Factor.CODE : LoginGuard.Factor.PASSWORD);
                audit.record(
                        actor,
                        "auth.login",
                        shown,
                        "failure",
                        row.isEmpty()
                                ? "unknown user"
                                : !passwordOk
                                        ? "invalid password"
                                        : step.isPresent() ? "code already used" : "invalid code");
                metrics.counter("pier_logins_total", "outcome", "failure").increment();
                FailureFloor.await(started);
                throw new PierException.Invalid(Reason.INVALID_CREDENTIALS, "invalid code");
            }
            attempt.succeeded(true, config.requirePassword());
            metrics.counter("pier_logins_total", "outcome", "success").increment();
            return issue(row.get().toUser(), clientAddr);
        }
    }

    private Tokens issue(User user, String clientAddr) {
        String access = Hashing.randomToken();
        String refresh = Hashing.randomToken();
        Instant now = now();
        UUID sessionId = UUID.randomUUID();
        jdbi.useTransaction(h -> {
            h.attach(SessionDao.class)
                    .insert(
                            sessionId,
                            user.id(),
                            Hashing.sha256Hex(access),
                            now.plus(config.accessTtl()),
                            Hashing.sha256Hex(refresh),
                            now.plus(config.refreshTtl()),
                            clientAddr,
                            now);
            audit.record(
                    h,
                    new Actor(user.id(), user.username(), sessionId.toString(), clientAddr),
                    "auth.login",
                    user.username(),
                    "success",
                    "session issued");
        });
        return new Tokens(access, refresh, config.accessTtl().toSeconds());
    }

    /**
     * Rotates a session's tokens. A refresh token that was already rotated away is a sign of theft:
     * presenting it again ends the whole session (RFC 9700 §4.14.2).
     */
    public Tokens refresh(String grantType, String refreshToken, String clientAddr) {
        if (grantType != null && !grantType.isBlank() && !"refresh_token".equals(grantType)) {
            throw new PierException.Invalid("grant_type must be refresh_token");
        }
        if (refreshToken == null || refreshToken.isBlank()) {
            throw new PierException.Unauthenticated(Reason.REFRESH_NOT_FOUND, "refresh token not found");
        }
        String oldHash = Hashing.sha256Hex(refreshToken);
        Instant now = now();
        String access = Hashing.randomToken();
        String refresh = Hashing.randomToken();
        Optional<String> failure = jdbi.inTransaction(h -> {
            SessionDao dao = h.attach(SessionDao.class);
            Optional<SessionRow> s = dao.findByRefreshHash(oldHash);
            if (s.isEmpty()) {
                Optional<UUID> retired = dao.findRetired(oldHash);
                if (retired.isPresent()) {
                    dao.delete(retired.get());
                    ChangeFeed.bump(h, Topic.AUTH);
                    audit.record(
                            h,
                            Actor.anonymous(clientAddr),
                            "auth.refresh",
                            retired.get().toString(),
                            "failure",
                            "retired refresh token reused: session revoked");
                    return Optional.of("reuse");
                }
                return Optional.of("unknown");
            }
            SessionRow session = s.get();
            if (session.refreshExpiresAt().isBefore(now)) {
                dao.delete(session.id());
                return Optional.of("expired");
            }
            boolean disabled = h.createQuery("SELECT disabled FROM users WHERE id = :id")
                    .bind("id", session.userId())
                    .mapTo(Boolean.class)
                    .findOne()
                    .orElse(true);
            if (disabled) {
                return Optional.of("disabled");
            }
            if (dao.rotate(
                            session.id(),
                            oldHash,
                            Hashing.sha256Hex(access),
                            now.plus(config.accessTtl()),
                            Hashing.sha256Hex(refresh),
                            now.plus(config.refreshTtl()),
                            now)
                    != 1) {
                return Optional.of("race");
            }
            dao.retire(oldHash, session.id(), now);
            ChangeFeed.bump(h, Topic.AUTH);
            audit.record(
                    h,
                    new Actor(session.userId(), null, session.id().toString(), clientAddr),
                    "auth.refresh",
                    session.userId().toString(),
                    "success",
                    null);
            return Optional.empty();
        });
        if (failure.isPresent()) {
            if (failure.get().equals("race")) {
                // Lost a race with a parallel refresh of the same token: that is reuse too.
                return refresh(grantType, refreshToken, clientAddr);
            }
            throw new PierException.Unauthenticated(Reason.REFRESH_NOT_FOUND, "refresh token not found");
        }
        return new Tokens(access, refresh, config.accessTtl().toSeconds());
    }

    /**
     * Ends every session of a user: one's own, or anyone's but the owner's for an admin. An unknown user
     * and one the caller may not touch get the same answer.
     */
    public void revokeAll(Principal actor, String username) {
        User target = users.find(username)
                .filter(u -> Policy.canRevoke(actor, u))
                .orElseThrow(() -> UserService.untouchable(username));
        jdbi.useTransaction(h -> {
            int n = h.attach(SessionDao.class).deleteAllOf(target.id());
            ChangeFeed.bump(h, Topic.AUTH);
            audit.record(h, actor.actor(), "auth.revoke", target.username(), "success", n + " sessions");
        });
    }

    /**
     * Resolves a bearer token. Access tokens are cached; a refresh token is accepted only when
     * {@code acceptRefresh} (the Matrix revoke route takes one).
     */
    public Principal authenticate(String token, String clientAddr, boolean acceptRefresh) {
        String hash = Hashing.sha256Hex(token);
        Instant now = clock.instant();
        CachedAccess c = accessCache.getIfPresent(hash);
        if (c == null) {
            long generation = cacheGeneration.get();
            c = jdbi.withHandle(h -> h.createQuery("""
                            SELECT s.id, s.user_id, u.username, u.role, s.access_expires_at
                            FROM sessions s JOIN users u ON u.id = s.user_id
                            WHERE s.access_hash = :hash AND u.disabled = FALSE""")
                    .bind("hash", hash)
                    .map((rs, ctx) -> new CachedAccess(
                            Columns.uuid(rs, 1, ctx),
                            Columns.uuid(rs, 2, ctx),
                            rs.getString(3),
                            Role.parse(rs.getString(4)).orElseThrow(),
                            Columns.instant(rs, 5, ctx)))
                    .findOne()
                    .orElse(null));
            if (c != null && cacheGeneration.get() == generation) {
                accessCache.put(hash, c);
            }
        }
        if (c != null) {
            if (!c.expiresAt().isAfter(now)) {
                throw new PierException.Unauthenticated(Reason.TOKEN_EXPIRED, "access token expired");
            }
            return new Principal(
                    c.userId(),
                    c.username(),
                    c.role(),
                    AccessLevel.FULL,
                    Principal.Kind.ACCESS_TOKEN,
                    c.sessionId().toString(),
                    clientAddr);
        }
        if (acceptRefresh) {
            Optional<Principal> viaRefresh = jdbi.withHandle(h -> h.createQuery("""
                            SELECT s.id, s.user_id, u.username, u.role, s.refresh_expires_at
                            FROM sessions s JOIN users u ON u.id = s.user_id
                            WHERE s.refresh_hash = :hash AND u.disabled = FALSE""")
                    .bind("hash", hash)
                    .map((rs, ctx) -> Columns.instant(rs, 5, ctx).isAfter(now)
                            ? new Principal(
                                    Columns.uuid(rs, 2, ctx),
                                    rs.getString(3),
                                    Role.parse(rs.getString(4)).orElseThrow(),
                                    AccessLevel.FULL,
                                    Principal.Kind.REFRESH_TOKEN,
                                    Columns.uuid(rs, 1, ctx).toString(),
                                    clientAddr)
                            : null)
                    .findOne());
            if (viaRefresh.isPresent()) {
                return viaRefresh.get();
            }
        }
        throw new PierException.Unauthenticated(Reason.TOKEN_NOT_FOUND, "access token not found");
    }

    /**
     * A session as it stands now, for a stream opened with one of its access tokens: the user with the role
     * they have now, until the session's current access token expires (a client that refreshed keeps its
     * stream). Throws {@link PierException.Unauthenticated} when the session was ended, its access token
     * expired, or its user was disabled or deleted.
     *
     * @return the principal, and when it stops holding
     */
    public Recheck recheckSession(UUID sessionId, String clientAddr) {
        Optional<Recheck> found = jdbi.withHandle(h -> h.createQuery("""
                        SELECT s.user_id, u.username, u.role, s.access_expires_at
                        FROM sessions s JOIN users u ON u.id = s.user_id
                        WHERE s.id = :id AND u.disabled = FALSE""")
                .bind("id", sessionId)
                .map((rs, ctx) -> new Recheck(
                        new Principal(
                                Columns.uuid(rs, 1, ctx),
                                rs.getString(2),
                                Role.parse(rs.getString(3)).orElseThrow(),
                                AccessLevel.FULL,
                                Principal.Kind.ACCESS_TOKEN,
                                sessionId.toString(),
                                clientAddr),
                        Optional.of(Columns.instant(rs, 4, ctx))))
                .findOne());
        Recheck r = found.orElseThrow(
                () -> new PierException.Unauthenticated(Reason.TOKEN_NOT_FOUND, "the session was ended"));
        if (!r.until().orElseThrow().isAfter(clock.instant())) {
            throw new PierException.Unauthenticated(Reason.TOKEN_EXPIRED, "access token expired");
        }
        return r;
    }

    /** Deletes sessions whose refresh token expired; run periodically. */
    public int purgeExpired() {
        return jdbi.withHandle(h -> h.attach(SessionDao.class).deleteExpired(now()));
    }

    private static String printable(String s) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), 256));
        s.codePoints().limit(256).forEach(c -> b.appendCodePoint(Character.isISOControl(c) ? '?' : c));
        return b.toString();
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }
}
