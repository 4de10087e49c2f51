package dev.pier.keys;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.pier.audit.AuditLog;
import dev.pier.auth.KeyResolver;
import dev.pier.auth.Recheck;
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
import dev.pier.security.Scope;
import dev.pier.users.User;
import dev.pier.users.UserService;
import org.jdbi.v3.core.Jdbi;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * API keys: creation (value shown once, stored as a SHA-256 hash), listing, changes, deletion, and
 * resolving a presented key to a {@link Principal} that carries the key's level and its user's
 * current role. Known keys are resolved from memory; every change to keys or users anywhere drops
 * that cache (see {@link ChangeFeed}). A user holds at most {@code maxKeysPerUser} keys, and with a
 * lifetime cap no key outlives it. The owner's keys are changed and ended only by the owner.
 * Thread-safe.
 */
public final class ApiKeyService implements KeyResolver {
    public static final int MAX_DESCRIPTION = 255;
    private static final Duration LAST_USED_GRANULARITY = Duration.ofMinutes(1);
    /** RFC 3339 has four-digit years, and PostgreSQL ends in year 294276: later expiries are refused. */
    private static final Instant LATEST_EXPIRY = Instant.parse("9999-12-31T23:59:59.999999Z");

    private final Jdbi jdbi;
    private final UserService users;
    private final AuditLog audit;
    private final ChangeFeed changes;
    private final Clock clock;
    private final int maxKeysPerUser;
    private final Optional<Duration> maxLifetime;
    private final Cache<String, Resolved> cache = Caffeine.newBuilder()
            .maximumSize(100_000)
            .expireAfterWrite(Duration.ofMinutes(10))
            .build();
    private final Map<UUID, Instant> lastUseWritten = new ConcurrentHashMap<>();

    private record Resolved(
            UUID keyId,
            UUID userId,
            String username,
            Role role,
            boolean userDisabled,
            AccessLevel level,
            boolean enabled,
            Instant expiresAt) {}

    public ApiKeyService(
            Jdbi jdbi,
            UserService users,
            AuditLog audit,
            ChangeFeed changes,
            Clock clock,
            int maxKeysPerUser,
            Optional<Duration> maxLifetime) {
        this.jdbi = jdbi;
        this.users = users;
        this.audit = audit;
        this.changes = changes;
        this.clock = clock;
        this.maxKeysPerUser = maxKeysPerUser;
        this.maxLifetime = maxLifetime;
        changes.onChange(Topic.AUTH, cache::invalidateAll);
    }

    /** What a new key should look like; null fields take their defaults (enabled, never expires, full). */
    public record NewKey(String description, Boolean enabled, Instant expires, AccessLevel level) {}

    /**
     * Creates a key for {@code owner} (null: for the caller). Managing another user's keys takes admin.
     * Without an expiry the key never expires, unless the operator capped key lifetimes: then it expires
     * at the cap, and an explicit expiry past the cap is refused.
     */
    public CreatedKey create(Principal actor, String ownerName, NewKey req) {
        User owner = ownerName == null ? self(actor) : users.require(ownerName);
        requireCanManageKeysOf(actor, owner);
        String description = validateDescription(req.description());
        Instant now = now();
        Instant expires = req.expires() == null
                ? maxLifetime.map(now::plus).orElse(null)
                : req.expires().truncatedTo(ChronoUnit.MICROS);
        validateExpiry(expires, now);
        AccessLevel level = req.level() == null ? AccessLevel.FULL : req.level();
        boolean enabled = req.enabled() == null || req.enabled();
        String value = KeyFormat.generate();
        UUID id = UUID.randomUUID();
        ApiKey key = jdbi.inTransaction(h -> {
            ApiKeyDao dao = h.attach(ApiKeyDao.class);
            // Serializes this user's key creations (the UPDATE holds the user's row until commit, on
            // PostgreSQL and H2 alike; SQLite has one writer anyway), so the count below cannot be passed by
            // a parallel creation: no SELECT ... FOR UPDATE, which SQLite lacks.
            h.createUpdate("UPDATE users SET updated_at = updated_at WHERE id = :id")
                    .bind("id", owner.id())
                    .execute();
            if (dao.countByUser(owner.id()) >= maxKeysPerUser) {
                throw new PierException.Conflict(
                        Reason.CONFLICT,
                        owner.username() + " already holds " + maxKeysPerUser
                                + " API keys, the most a user may hold (PIER_MAX_KEYS_PER_USER); delete one first");
            }
            dao.insert(id, owner.id(), Hashing.sha256Hex(value), description, level.wire(), enabled, expires, now);
            ChangeFeed.bump(h, Topic.AUTH);
            audit.record(
                    h,
                    actor.actor(),
                    "key.create",
                    id.toString(),
                    "success",
                    "owner=" + owner.username() + " level=" + level.wire());
            return dao.findById(id).orElseThrow().toKey();
        });
        return new CreatedKey(key, value);
    }

    /** The caller's own keys. */
    public List<ApiKey> listOwn(Principal actor) {
        return jdbi.withHandle(h -> h.attach(ApiKeyDao.class).listByUser(actor.userId()).stream()
                .map(ApiKeyRow::toKey)
                .toList());
    }

    /** Every key of every user (admin). */
    public List<ApiKey> listAll(Principal actor) {
        Policy.require(actor, Role.ADMIN, Scope.KEYS);
        return jdbi.withHandle(h -> h.attach(ApiKeyDao.class).listAll().stream()
                .map(ApiKeyRow::toKey)
                .toList());
    }

    /** The keys of one user: their own, or anyone's for an admin. */
    public List<ApiKey> listOf(Principal actor, String username) {
        User owner = users.require(username);
        if (!actor.isSelf(owner.id())) {
            Policy.require(actor, Role.ADMIN, Scope.KEYS);
        }
        return jdbi.withHandle(h -> h.attach(ApiKeyDao.class).listByUser(owner.id()).stream()
                .map(ApiKeyRow::toKey)
                .toList());
    }

    /** A key the caller may see; someone else's key is "not found" to a non-admin. */
    public ApiKey get(Principal actor, UUID id) {
        return visible(actor, id);
    }

    /** Changes description, enabled and/or expiry; a null field is left as it is. */
    public ApiKey update(Principal actor, UUID id, String description, Boolean enabled, Optional<Instant> expires) {
        ApiKey current = changeable(actor, id);
        String desc = description == null ? current.description() : validateDescription(description);
        boolean en = enabled == null ? current.enabled() : enabled;
        Instant exp;
        if (expires == null) {
            exp = current.expiresAt().orElse(null);
        } else {
            exp = expires.map(e -> e.truncatedTo(ChronoUnit.MICROS)).orElse(null);
            validateExpiry(exp, now());
        }
        Instant now = now();
        ApiKey updated = jdbi.inTransaction(h -> {
            ApiKeyDao dao = h.attach(ApiKeyDao.class);
            if (dao.update(id, desc, en, exp, now) != 1) {
                throw notFound(id);
            }
            ChangeFeed.bump(h, Topic.AUTH);
            audit.record(
                    h,
                    actor.actor(),
                    "key.update",
                    id.toString(),
                    "success",
                    "enabled=" + en + " expires=" + (exp == null ? "never" : exp));
            return dao.findById(id).orElseThrow().toKey();
        });
        return updated;
    }

    public ApiKey delete(Principal actor, UUID id) {
        ApiKey key = changeable(actor, id);
        jdbi.useTransaction(h -> {
            if (h.attach(ApiKeyDao.class).delete(id) != 1) {
                throw notFound(id);
            }
            ChangeFeed.bump(h, Topic.AUTH);
            audit.record(h, actor.actor(), "key.delete", id.toString(), "success", "owner=" + key.username());
        });
        lastUseWritten.remove(id);
        return key;
    }

    /**
     * A non-secret name of a key that its holder can compute: {@code sha256:} and the first 16 hex digits
     * of SHA-256 of the key. Pier stores the SHA-256 of each key, so it can show this for every key.
     */
    public static String fingerprint(String keyHash) {
        return "sha256:" + keyHash.substring(0, 16);
    }

    /** Finds a key by its value (User API keys' {@code delete_key} may name a key by value). */
    public Optional<UUID> idOfValue(String value) {
        if (!KeyFormat.isValid(value)) {
            return Optional.empty();
        }
        return jdbi.withHandle(h ->
                h.attach(ApiKeyDao.class).findByHash(Hashing.sha256Hex(value)).map(ApiKeyRow::id));
    }

    @Override
    public boolean recognises(String credential) {
        return KeyFormat.looksLikeKey(credential);
    }

    @Override
    public Principal resolve(String value, String clientAddr) {
        if (!KeyFormat.isValid(value)) {
            throw new PierException.Unauthenticated(Reason.TOKEN_NOT_FOUND, "API key invalid");
        }
        String hash = Hashing.sha256Hex(value);
        Resolved r = cache.getIfPresent(hash);
        if (r == null) {
            r = jdbi.withHandle(h -> h.createQuery("""
                            SELECT k.id, k.user_id, u.username, u.role, u.disabled, k.access_level, k.enabled, k.expires_at
                            FROM api_keys k JOIN users u ON u.id = k.user_id
                            WHERE k.key_hash = :hash""")
                    .bind("hash", hash)
                    .map((rs, ctx) -> new Resolved(
                            Columns.uuid(rs, 1, ctx),
                            Columns.uuid(rs, 2, ctx),
                            rs.getString(3),
                            Role.parse(rs.getString(4)).orElseThrow(),
                            rs.getBoolean(5),
                            AccessLevel.parse(rs.getString(6)).orElseThrow(),
                            rs.getBoolean(7),
                            Columns.instant(rs, 8, ctx)))
                    .findOne()
                    .orElse(null));
            if (r == null) {
                throw new PierException.Unauthenticated(Reason.TOKEN_NOT_FOUND, "API key invalid");
            }
            cache.put(hash, r);
        }
        Instant now = clock.instant();
        if (r.userDisabled()) {
            throw new PierException.Unauthenticated(Reason.TOKEN_DISABLED, "token not enabled: its user is disabled");
        }
        if (!r.enabled()) {
            throw new PierException.Unauthenticated(Reason.TOKEN_DISABLED, "token not enabled");
        }
        if (r.expiresAt() != null && !r.expiresAt().isAfter(now)) {
            throw new PierException.Unauthenticated(Reason.TOKEN_EXPIRED, "token expired");
        }
        noteUse(r, clientAddr, now);
        return new Principal(
                r.userId(),
                r.username(),
                r.role(),
                r.level(),
                Principal.Kind.API_KEY,
                r.keyId().toString(),
                clientAddr);
    }

    /**
     * An API key as it stands now, for a stream opened with it: its user's current role and the key's
     * current level. Throws {@link PierException.Unauthenticated} when the key was deleted, disabled or
     * expired, or its user disabled or deleted.
     */
    @Override
    public Recheck recheck(UUID keyId, String clientAddr) {
        Resolved r = jdbi.withHandle(h -> h.createQuery("""
                        SELECT k.id, k.user_id, u.username, u.role, u.disabled, k.access_level, k.enabled, k.expires_at
                        FROM api_keys k JOIN users u ON u.id = k.user_id
                        WHERE k.id = :id""")
                .bind("id", keyId)
                .map((rs, ctx) -> new Resolved(
                        Columns.uuid(rs, 1, ctx),
                        Columns.uuid(rs, 2, ctx),
                        rs.getString(3),
                        Role.parse(rs.getString(4)).orElseThrow(),
                        rs.getBoolean(5),
                        AccessLevel.parse(rs.getString(6)).orElseThrow(),
                        rs.getBoolean(7),
                        Columns.instant(rs, 8, ctx)))
                .findOne()
                .orElseThrow(
                        () -> new PierException.Unauthenticated(Reason.TOKEN_NOT_FOUND, "the API key was deleted")));
        if (r.userDisabled() || !r.enabled()) {
            throw new PierException.Unauthenticated(Reason.TOKEN_DISABLED, "token not enabled");
        }
        if (r.expiresAt() != null && !r.expiresAt().isAfter(clock.instant())) {
            throw new PierException.Unauthenticated(Reason.TOKEN_EXPIRED, "token expired");
        }
        return new Recheck(
                new Principal(
                        r.userId(),
                        r.username(),
                        r.role(),
                        r.level(),
                        Principal.Kind.API_KEY,
                        keyId.toString(),
                        clientAddr),
                Optional.ofNullable(r.expiresAt()));
    }

    /** Records last use at minute granularity, and audits the first use once. */
    private void noteUse(Resolved r, String clientAddr, Instant now) {
        Instant last = lastUseWritten.get(r.keyId());
        if (last != null && last.plus(LAST_USED_GRANULARITY).isAfter(now)) {
            return;
        }
        lastUseWritten.put(r.keyId(), now);
        Instant at = now.truncatedTo(ChronoUnit.MICROS);
        jdbi.useTransaction(h -> {
            ApiKeyDao dao = h.attach(ApiKeyDao.class);
            if (dao.markFirstUse(r.keyId(), at) == 1) {
                audit.record(
                        h,
                        new dev.pier.audit.Actor(
                                r.userId(), r.username(), r.keyId().toString(), clientAddr),
                        "key.first_use",
                        r.keyId().toString(),
                        "success",
                        null);
            } else {
                dao.markUsed(r.keyId(), at);
            }
        });
    }

    /**
     * A key the caller may see and manage: their own, or anyone's for an admin (SPEC §1: admins manage
     * everyone's API keys). Making a key for someone else is stricter, see {@link #create}.
     */
    private ApiKey visible(Principal actor, UUID id) {
        ApiKey key = jdbi.withHandle(h -> h.attach(ApiKeyDao.class).findById(id))
                .map(ApiKeyRow::toKey)
                .orElseThrow(() -> notFound(id));
        if (!actor.isSelf(key.userId())) {
            if (!actor.role().atLeast(Role.ADMIN)) {
                throw notFound(id);
            }
            Policy.require(actor, Role.ADMIN, Scope.KEYS);
        }
        return key;
    }

    /**
     * A key the caller may change or end: like {@link #visible}, except that the owner's keys are only
     * the owner's to change. An admin asking about one is answered as for an unknown id.
     */
    private ApiKey changeable(Principal actor, UUID id) {
        ApiKey key = visible(actor, id);
        if (!actor.isSelf(key.userId())) {
            boolean ownersKey = users.findById(key.userId())
                    .map(u -> u.role() == Role.OWNER)
                    .orElse(false);
            if (ownersKey && actor.kind() != Principal.Kind.SYSTEM) {
                throw notFound(id);
            }
        }
        return key;
    }

    private static void requireCanManageKeysOf(Principal actor, User owner) {
        Policy.require(actor, Role.VIEWER, Scope.KEYS);
        if (!actor.isSelf(owner.id())) {
            Policy.requireCanManage(actor, owner);
        }
    }

    private User self(Principal actor) {
        return users.findById(actor.userId())
                .orElseThrow(() -> new PierException.Invalid(
                        Reason.USER_NOT_FOUND, "the CLI must name the user who owns the key"));
    }

    private void validateExpiry(Instant expires, Instant now) {
        if (maxLifetime.isPresent()) {
            Instant latest = now.plus(maxLifetime.get());
            if (expires == null) {
                throw new PierException.Invalid("expires is required: keys live at most "
                        + maxLifetime.get().toDays() + " days here (PIER_MAX_KEY_LIFETIME_DAYS)");
            }
            if (expires.isAfter(latest)) {
                throw new PierException.Invalid("expires must be at most "
                        + maxLifetime.get().toDays() + " days from now (PIER_MAX_KEY_LIFETIME_DAYS), i.e. not after "
                        + latest.truncatedTo(ChronoUnit.SECONDS));
            }
        }
        if (expires != null && !expires.isAfter(now)) {
            throw new PierException.Invalid("expires must be in the future");
        }
        if (expires != null && expires.isAfter(LATEST_EXPIRY)) {
            throw new PierException.Invalid("expires must be before the year 10000");
        }
    }

    private static String validateDescription(String d) {
        String s = d == null ? "" : d;
        if (s.length() > MAX_DESCRIPTION) {
            throw new PierException.Invalid(
                    Reason.COMMENT_TOO_LONG, "description must be at most " + MAX_DESCRIPTION + " characters");
        }
        if (s.chars().anyMatch(c -> Character.isISOControl(c) && c != '\t')) {
            throw new PierException.Invalid("description must not contain control characters");
        }
        return s;
    }

    private static PierException.NotFound notFound(UUID id) {
        return new PierException.NotFound("token " + id + " not found");
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }
}
