package dev.pier.users;

import dev.pier.security.Role;
import dev.pier.audit.AuditLog;
import dev.pier.security.Policy;
import dev.pier.security.Principal;
import dev.pier.crypto.SecretBox;
import dev.pier.db.ChangeFeed;
import dev.pier.db.Topic;
import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * Users and their TOTP enrolment. Enforces the single owner (also enforced by a unique index), the
 * username rules, and who may manage whom (through {@link Policy}). Thread-safe.
 */
public final class UserService {
    private static final Pattern USERNAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    private static final Pattern EMAIL = Pattern.compile("[^\\s@\\p{Cntrl}]{1,64}@[^\\s@\\p{Cntrl}]{1,189}");
    private static final int SECRET_BYTES = 20;

    private final Jdbi jdbi;
    private final SecretBox box;
    private final AuditLog audit;
    private final ChangeFeed changes;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    private volatile List<User> cachedList;
    /** Counts changes, so that a list read before a change is not cached after it (see {@link #list()}). */
    private final AtomicLong listGeneration = new AtomicLong();

    public UserService(Jdbi jdbi, SecretBox box, AuditLog audit, ChangeFeed changes, Clock clock) {
        this.jdbi = jdbi;
        this.box = box;
        this.audit = audit;
        this.changes = changes;
        this.clock = clock;
        changes.onChange(Topic.AUTH, () -> {
            listGeneration.incrementAndGet();
            cachedList = null;
        });
    }

    /** A new user to create; {@code id}, {@code email} and {@code passwordHash} may be null. */
    public record NewUser(UUID id, String username, Role role, String email, String passwordHash) {
    }

    public static String key(String username) {
        return username.toLowerCase(Locale.ROOT);
    }

    /**
     * Whether {@code name} could be a username at all. Anything else is never looked up: no such user can
     * exist, and PostgreSQL refuses a query whose text holds a NUL character.
     */
    public static boolean isPlausibleUsername(String name) {
        return name != null && USERNAME.matcher(name).matches();
    }

    public static void validateUsername(String username) {
        if (username == null || username.isBlank()) {
            throw new PierException.Invalid(Reason.USER_DATA_MISSING, "username is required");
        }
        if (!USERNAME.matcher(username).matches()) {
            throw new PierException.Invalid("username must be 1-64 characters of A-Z a-z 0-9 . _ -");
        }
    }

    /** Creates a user with a fresh TOTP secret. Nobody can create a second owner. */
    public Enrollment create(Principal actor, NewUser given) {
        // addresses are compared without case: Foo@Example.com and foo@example.com are one mailbox here
        NewUser req = given.email() == null ? given : new NewUser(given.id(), given.username(), given.role(),
                given.email().strip().toLowerCase(Locale.ROOT), given.passwordHash());
        validateUsername(req.username());
        if (req.email() != null && !EMAIL.matcher(req.email()).matches()) {
            throw new PierException.Invalid("email is not a valid address");
        }
        if (req.role() == Role.OWNER && jdbi.withHandle(h -> h.attach(UserDao.class).countOwners()) > 0) {
            throw new PierException.Denied(Reason.OWNER_EXISTS, "an owner already exists; there can be only one");
        }
        Policy.requireCanManage(actor, req.role());
        UUID id = req.id() != null ? req.id() : UUID.randomUUID();
        byte[] secret = newSecret();
        Instant now = now();
        try {
            User created = jdbi.inTransaction(h -> {
                UserDao dao = h.attach(UserDao.class);
                if (req.role() == Role.OWNER && dao.countOwners() > 0) {
                    throw new PierException.Denied(Reason.OWNER_EXISTS, "an owner already exists; there can be only one");
                }
                if (dao.findByUsernameKey(key(req.username())).isPresent()) {
                    throw new PierException.Conflict(Reason.USERNAME_TAKEN, "username '" + req.username() + "' is taken");
                }
                if (req.email() != null && dao.findByEmail(req.email()).isPresent()) {
                    throw new PierException.Conflict(Reason.EMAIL_TAKEN, "email is already in use");
                }
                if (dao.findById(id).isPresent()) {
                    throw new PierException.Conflict(Reason.CONFLICT, "user id " + id + " is taken");
                }
                dao.insert(id, req.username(), key(req.username()), req.email(), req.passwordHash(), req.role().wire(),
                        box.seal(secret, aad(id)), now);
                ChangeFeed.bump(h, Topic.AUTH);
                audit.record(h, actor.actor(), "user.create", req.username(), "success", "role=" + req.role().wire());
                return dao.findById(id).orElseThrow().toUser();
            });
            return Enrollment.of(created, secret);
        } catch (UnableToExecuteStatementException e) {
            // A concurrent create won the race for the name, email, id or the owner slot: the unique indexes held.
            throw new PierException.Conflict(req.role() == Role.OWNER ? Reason.OWNER_EXISTS : Reason.USERNAME_TAKEN,
                    req.role() == Role.OWNER ? "an owner already exists; there can be only one"
                            : "username '" + req.username() + "' is taken");
        }
    }

    /** Gives the user a new TOTP secret and ends all of their sessions (CLI {@code -r}). */
    public Enrollment resetSecret(Principal actor, String username) {
        User target = require(username);
        Policy.requireCanManage(actor, target);
        byte[] secret = newSecret();
        jdbi.useTransaction(h -> {
            h.attach(UserDao.class).replaceSecret(target.id(), box.seal(secret, aad(target.id())), now());
            h.createUpdate("DELETE FROM sessions WHERE user_id = :id").bind("id", target.id()).execute();
            ChangeFeed.bump(h, Topic.AUTH);
            audit.record(h, actor.actor(), "user.reset_secret", target.username(), "success", "sessions revoked");
        });
        return Enrollment.of(target, secret);
    }

    /** The current enrolment of a user (Matrix setup): owner for anyone, admin for users below admin. */
    public Enrollment enrollment(Principal actor, String username) {
        UserRow row = requireRow(username);
        User target = row.toUser();
        Policy.requireCanManage(actor, target);
        audit.record(actor.actor(), "user.setup", target.username(), "success", null);
        return Enrollment.of(target, box.open(row.totpSecret(), aad(row.id())));
    }

    public void delete(Principal actor, String username) {
        User target = require(username);
        if (target.role() == Role.OWNER) {
            throw new PierException.Denied("the owner cannot be deleted");
        }
        Policy.requireCanManage(actor, target);
        jdbi.useTransaction(h -> {
            if (h.attach(UserDao.class).deleteNonOwner(target.id()) == 0) {
                throw new PierException.NotFound(Reason.USER_NOT_FOUND, "user '" + username + "' not found");
            }
            ChangeFeed.bump(h, Topic.AUTH);
            audit.record(h, actor.actor(), "user.delete", target.username(), "success", null);
        });
    }

    public void setPasswordHash(Principal actor, String username, String hash) {
        User target = require(username);
        if (!actor.isSelf(target.id())) {
            Policy.requireCanManage(actor, target);
        }
        jdbi.useTransaction(h -> {
            h.attach(UserDao.class).setPassword(target.id(), hash, now());
            ChangeFeed.bump(h, Topic.AUTH);
            audit.record(h, actor.actor(), "user.password", target.username(), "success", null);
        });
    }

    /** Disables or re-enables a user; a disabled user cannot log in and all their tokens and keys stop working. */
    public User setDisabled(Principal actor, String username, boolean disabled) {
        User target = require(username);
        if (target.role() == Role.OWNER) {
            throw new PierException.Denied("the owner cannot be disabled");
        }
        Policy.requireCanManage(actor, target);
        jdbi.useTransaction(h -> {
            h.attach(UserDao.class).setDisabled(target.id(), disabled, now());
            ChangeFeed.bump(h, Topic.AUTH);
            audit.record(h, actor.actor(), disabled ? "user.disable" : "user.enable", target.username(), "success", null);
        });
        return require(username);
    }

    /** Changes the role of a user other than the owner; never to owner (ownership is handed over, not granted). */
    public User setRole(Principal actor, String username, Role role) {
        User target = require(username);
        if (target.role() == Role.OWNER || role == Role.OWNER) {
            throw new PierException.Denied(Reason.OWNER_EXISTS, "the owner's role cannot be changed here, nor a second owner made");
        }
        Policy.requireCanManage(actor, target);
        Policy.requireCanManage(actor, role);
        jdbi.useTransaction(h -> {
            h.attach(UserDao.class).setRoleOfNonOwner(target.id(), role.wire(), now());
            ChangeFeed.bump(h, Topic.AUTH);
            audit.record(h, actor.actor(), "user.role", target.username(), "success",
                    target.role().wire() + " -> " + role.wire());
        });
        return require(username);
    }

    /** All users, oldest first. Served from memory; any change anywhere drops the copy. */
    public List<User> list() {
        List<User> l = cachedList;
        if (l == null) {
            long generation = listGeneration.get();
            l = jdbi.withHandle(h -> h.attach(UserDao.class).listAll().stream().map(UserRow::toUser).toList());
            // a change that committed while we read has already emptied the cache: don't refill it with old rows
            if (listGeneration.get() == generation) {
                cachedList = l;
            }
        }
        return l;
    }

    public Optional<User> find(String username) {
        if (!isPlausibleUsername(username)) {
            return Optional.empty();
        }
        return jdbi.withHandle(h -> h.attach(UserDao.class).findByUsernameKey(key(username)).map(UserRow::toUser));
    }

    public Optional<User> findById(UUID id) {
        return jdbi.withHandle(h -> h.attach(UserDao.class).findById(id).map(UserRow::toUser));
    }

    public Optional<User> findByEmail(String email) {
        String e = email.strip().toLowerCase(Locale.ROOT);
        return jdbi.withHandle(h -> h.attach(UserDao.class).findByEmail(e).map(UserRow::toUser));
    }

    public User require(String username) {
        return find(username).orElseThrow(() ->
                new PierException.NotFound(Reason.USER_NOT_FOUND, "user '" + username + "' not found"));
    }

    private UserRow requireRow(String username) {
        Optional<UserRow> row = isPlausibleUsername(username)
                ? jdbi.withHandle(h -> h.attach(UserDao.class).findByUsernameKey(key(username)))
                : Optional.empty();
        return row.orElseThrow(() -> new PierException.NotFound(Reason.USER_NOT_FOUND, "user '" + username + "' not found"));
    }

    /** Reads and decrypts a user's TOTP secret; for the login path only. */
    public byte[] openSecret(UserRow row) {
        return box.open(row.totpSecret(), aad(row.id()));
    }

    private byte[] newSecret() {
        byte[] s = new byte[SECRET_BYTES];
        random.nextBytes(s);
        return s;
    }

    static String aad(UUID userId) {
        return "totp:" + userId;
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }

}
