package dev.pier.users;

import dev.pier.audit.AuditLog;
import dev.pier.crypto.SecretBox;
import dev.pier.db.ChangeFeed;
import dev.pier.db.Topic;
import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.security.Policy;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

import java.security.SecureRandom;
import java.text.Normalizer;
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
    public static final int MAX_USERNAME = 64;
    private static final Pattern PLAIN_USERNAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    public static final int MAX_EXTERNAL_ID = 255;
    private static final Pattern EMAIL = Pattern.compile("[^\\s@\\p{Cntrl}]{1,64}@[^\\s@\\p{Cntrl}]{1,189}");
    private static final int SECRET_BYTES = 20;
    /** Sealed once at start: an unknown name costs the same decryption as a known one (see {@link #openSecretOrDummy}). */
    private final String dummySealed;

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
        this.dummySealed = box.seal(newSecret(), aad(new UUID(0, 0)));
    }

    /**
     * A new user to create; {@code id}, {@code email}, {@code passwordHash} and {@code externalId} may be
     * null. {@code externalId} is the id a Panel client chose for the user.
     */
    public record NewUser(UUID id, String username, Role role, String email, String passwordHash, String externalId) {
        public NewUser(UUID id, String username, Role role, String email, String passwordHash) {
            this(id, username, role, email, passwordHash, null);
        }
    }

    /**
     * The form in which names are unique and looked up: compatibility-normalized (NFKC, so a full-width
     * or ligature spelling is the same name) and in lower case.
     */
    public static String key(String username) {
        return Normalizer.normalize(username, Normalizer.Form.NFKC).toLowerCase(Locale.ROOT);
    }

    /**
     * Whether {@code name} could be a username at all. Anything else is never looked up: no such user can
     * exist, and PostgreSQL refuses a query whose text holds a NUL character.
     */
    public static boolean isPlausibleUsername(String name) {
        return usernameProblem(name) == null;
    }

    /**
     * The SPEC's plain usernames, 1-64 of {@code A-Z a-z 0-9 . _ -}: what the Matrix API's {@code user/add}
     * and the CLI create. Checked at those edges; the store holds any {@link #validateUsername valid} name.
     */
    public static void validatePlainUsername(String username) {
        validateUsername(username);
        if (!PLAIN_USERNAME.matcher(username).matches()) {
            throw new PierException.Invalid("username must be 1-64 characters of A-Z a-z 0-9 . _ -");
        }
    }

    /**
     * Usernames as the Panel allows them: 1-64 printable characters (letters of any script, digits,
     * spaces, {@code @}, {@code .} and other punctuation), no control or invisible formatting
     * characters, no space at either end, and no {@code /} or {@code \} (a name is part of URL paths).
     */
    public static void validateUsername(String username) {
        if (username == null || username.isBlank()) {
            throw new PierException.Invalid(Reason.USER_DATA_MISSING, "username is required");
        }
        String problem = usernameProblem(username);
        if (problem != null) {
            throw new PierException.Invalid("username " + problem);
        }
    }

    private static String usernameProblem(String name) {
        if (name == null || name.isEmpty() || name.length() > MAX_USERNAME) {
            return "must be 1-" + MAX_USERNAME + " characters";
        }
        if (Character.isWhitespace(name.codePointAt(0))
                || Character.isWhitespace(name.codePointBefore(name.length()))
                || Character.isSpaceChar(name.codePointAt(0))
                || Character.isSpaceChar(name.codePointBefore(name.length()))) {
            return "must not begin or end with a space";
        }
        for (int i = 0; i < name.length(); ) {
            int c = name.codePointAt(i);
            int type = Character.getType(c);
            if (type == Character.CONTROL
                    || type == Character.FORMAT
                    || type == Character.UNASSIGNED
                    || type == Character.SURROGATE
                    || type == Character.PRIVATE_USE
                    || type == Character.LINE_SEPARATOR
                    || type == Character.PARAGRAPH_SEPARATOR) {
                return "must hold printable characters only (no control or invisible characters)";
            }
            if (c == '/' || c == '\\') {
                return "must not contain / or \\";
            }
            i += Character.charCount(c);
        }
        return null;
    }

    /** Creates a user with a fresh TOTP secret. Nobody can create a second owner. */
    public Enrollment create(Principal actor, NewUser given) {
        // addresses are compared without case: Foo@Example.com and foo@example.com are one mailbox here
        NewUser req = given.email() == null
                ? given
                : new NewUser(
                        given.id(),
                        given.username(),
                        given.role(),
                        given.email().strip().toLowerCase(Locale.ROOT),
                        given.passwordHash(),
                        given.externalId());
        validateUsername(req.username());
        if (req.externalId() != null
                && (req.externalId().isEmpty()
                        || req.externalId().length() > MAX_EXTERNAL_ID
                        || req.externalId().chars().anyMatch(Character::isISOControl))) {
            throw new PierException.Invalid(
                    "userId must be 1-" + MAX_EXTERNAL_ID + " characters without control characters");
        }
        if (req.email() != null && !EMAIL.matcher(req.email()).matches()) {
            throw new PierException.Invalid("email is not a valid address");
        }
        if (req.role() == Role.OWNER
                && jdbi.withHandle(h -> h.attach(UserDao.class).countOwners()) > 0) {
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
                    throw new PierException.Denied(
                            Reason.OWNER_EXISTS, "an owner already exists; there can be only one");
                }
                if (dao.findByUsernameKey(key(req.username())).isPresent()) {
                    throw new PierException.Conflict(
                            Reason.USERNAME_TAKEN, "username '" + req.username() + "' is taken");
                }
                if (req.email() != null && dao.findByEmail(req.email()).isPresent()) {
                    throw new PierException.Conflict(Reason.EMAIL_TAKEN, "email is already in use");
                }
                if (dao.findById(id).isPresent()) {
                    throw new PierException.Conflict(Reason.CONFLICT, "user id " + id + " is taken");
                }
                if (req.externalId() != null
                        && (dao.findByExternalId(req.externalId()).isPresent()
                                || findRowByClientId(dao, req.externalId()).isPresent())) {
                    throw new PierException.Conflict(Reason.CONFLICT, "userId '" + req.externalId() + "' is taken");
                }
                dao.insert(
                        id,
                        req.username(),
                        key(req.username()),
                        req.email(),
                        req.passwordHash(),
                        req.role().wire(),
                        box.seal(secret, aad(id)),
                        now,
                        req.externalId());
                ChangeFeed.bump(h, Topic.AUTH);
                audit.record(
                        h,
                        actor.actor(),
                        "user.create",
                        req.username(),
                        "success",
                        "role=" + req.role().wire());
                return dao.findById(id).orElseThrow().toUser();
            });
            return Enrollment.of(created, secret);
        } catch (UnableToExecuteStatementException e) {
            // A concurrent create won the race for the name, email, id or the owner slot: the unique indexes held.
            throw new PierException.Conflict(
                    req.role() == Role.OWNER ? Reason.OWNER_EXISTS : Reason.USERNAME_TAKEN,
                    req.role() == Role.OWNER
                            ? "an owner already exists; there can be only one"
                            : "username '" + req.username() + "' is taken");
        }
    }

    /**
     * Gives the user a new, pending TOTP secret (shown by {@link #enrollment} until its first use) and
     * ends all of their sessions (CLI {@code -r}, and the native API's TOTP reset). Audited.
     */
    public Enrollment resetSecret(Principal actor, String username) {
        User target = requireManageable(actor, username);
        byte[] secret = newSecret();
        jdbi.useTransaction(h -> {
            UserDao dao = h.attach(UserDao.class);
            dao.replaceSecret(target.id(), box.seal(secret, aad(target.id())), now());
            int sessions = dao.deleteSessions(target.id());
            ChangeFeed.bump(h, Topic.AUTH);
            audit.record(
                    h,
                    actor.actor(),
                    "user.reset_secret",
                    target.username(),
                    "success",
                    "new pending secret; " + sessions + " sessions revoked");
        });
        return Enrollment.of(target, secret);
    }

    /**
     * The enrolment of a user (Matrix setup): owner for anyone, admin for users below admin. An active
     * secret (one whose code was ever accepted) is never shown again: 409, and a reset issues a new one.
     * An unknown user and one the caller may not manage get the same answer.
     */
    public Enrollment enrollment(Principal actor, String username) {
        User target = requireManageable(actor, username);
        UserRow row = jdbi.withHandle(h -> h.attach(UserDao.class).findById(target.id()))
                .orElseThrow(() -> untouchable(username));
        if (!row.totpPending()) {
            audit.record(actor.actor(), "user.setup", target.username(), "failure", "secret already active");
            throw new PierException.Conflict(
                    Reason.CONFLICT,
                    "the authenticator of '" + target.username()
                            + "' is already set up and its secret is not shown again; an admin can reset it "
                            + "(POST /api/v1/users/{username}/totp/reset, or pier user create -u NAME -r)");
        }
        audit.record(actor.actor(), "user.setup", target.username(), "success", "pending secret shown");
        return Enrollment.of(target, box.open(row.totpSecret(), aad(row.id())));
    }

    /**
     * A user the caller may manage (owner for anyone, admin for users below admin, see {@link Policy}).
     * Unknown and untouchable users get the same answer, so the answer does not tell which names exist.
     */
    public User requireManageable(Principal actor, String username) {
        Optional<User> target = find(username);
        if (target.isEmpty() || !Policy.canManage(actor, target.get())) {
            throw untouchable(username);
        }
        return target.get();
    }

    /** The one answer for "no such user" and "not a user you may manage". */
    public static PierException untouchable(String username) {
        return new PierException.NotFound(
                Reason.USER_NOT_FOUND, "user '" + shown(username) + "' not found, or not one you may manage");
    }

    private static String shown(String name) {
        String n = name == null ? "" : name;
        StringBuilder b = new StringBuilder();
        n.codePoints().limit(64).forEach(c -> b.appendCodePoint(Character.isISOControl(c) ? '?' : c));
        return b.toString();
    }

    public void delete(Principal actor, String username) {
        Optional<User> found = find(username);
        if (found.isPresent()
                && found.get().role() == Role.OWNER
                && actor.isSelf(found.get().id())) {
            throw new PierException.Denied("the owner cannot be deleted");
        }
        User target = requireManageable(actor, username);
        if (target.role() == Role.OWNER) {
            throw new PierException.Denied("the owner cannot be deleted");
        }
        jdbi.useTransaction(h -> {
            if (h.attach(UserDao.class).deleteNonOwner(target.id()) == 0) {
                throw new PierException.NotFound(Reason.USER_NOT_FOUND, "user '" + username + "' not found");
            }
            ChangeFeed.bump(h, Topic.AUTH);
            audit.record(h, actor.actor(), "user.delete", target.username(), "success", null);
        });
    }

    /**
     * Sets a password hash (the caller checked the password against the policy, see {@code Passwords}) and
     * ends every session of the user at once: a stolen session does not outlive the password it came from.
     */
    public void setPasswordHash(Principal actor, String username, String hash) {
        Optional<User> self = find(username).filter(u -> actor.isSelf(u.id()));
        User target = self.isPresent() ? self.get() : requireManageable(actor, username);
        jdbi.useTransaction(h -> {
            UserDao dao = h.attach(UserDao.class);
            dao.setPassword(target.id(), hash, now());
            int sessions = dao.deleteSessions(target.id());
            ChangeFeed.bump(h, Topic.AUTH);
            audit.record(
                    h, actor.actor(), "user.password", target.username(), "success", sessions + " sessions revoked");
        });
    }

    /**
     * Disables or re-enables a user. Disabling ends every session and disables every API key of the user,
     * at once; re-enabling brings back neither: the user logs in anew, and each key is re-enabled on its own.
     */
    public User setDisabled(Principal actor, String username, boolean disabled) {
        Optional<User> found = find(username);
        if (found.isPresent() && found.get().role() == Role.OWNER && Policy.canManage(actor, found.get())) {
            throw new PierException.Denied("the owner cannot be disabled");
        }
        User target = requireManageable(actor, username);
        jdbi.useTransaction(h -> {
            UserDao dao = h.attach(UserDao.class);
            dao.setDisabled(target.id(), disabled, now());
            String detail = null;
            if (disabled) {
                int sessions = dao.deleteSessions(target.id());
                int keys = dao.disableKeys(target.id(), now());
                detail = sessions + " sessions revoked, " + keys + " keys disabled";
            }
            ChangeFeed.bump(h, Topic.AUTH);
            audit.record(
                    h, actor.actor(), disabled ? "user.disable" : "user.enable", target.username(), "success", detail);
        });
        return require(username);
    }

    /** Changes the role of a user other than the owner; never to owner (ownership is handed over, not granted). */
    public User setRole(Principal actor, String username, Role role) {
        if (role == Role.OWNER) {
            throw new PierException.Denied(
                    Reason.OWNER_EXISTS, "the owner's role cannot be changed here, nor a second owner made");
        }
        Optional<User> found = find(username);
        if (found.isPresent() && found.get().role() == Role.OWNER && Policy.canManage(actor, found.get())) {
            throw new PierException.Denied(
                    Reason.OWNER_EXISTS, "the owner's role cannot be changed here, nor a second owner made");
        }
        User target = requireManageable(actor, username);
        Policy.requireCanManage(actor, role);
        jdbi.useTransaction(h -> {
            UserDao dao = h.attach(UserDao.class);
            dao.setRoleOfNonOwner(target.id(), role.wire(), now());
            // a session holds no role (each request reads the current one), but a role change is a moment
            // to make the user log in again, like a password change
            int sessions = target.role() == role ? 0 : dao.deleteSessions(target.id());
            ChangeFeed.bump(h, Topic.AUTH);
            audit.record(
                    h,
                    actor.actor(),
                    "user.role",
                    target.username(),
                    "success",
                    target.role().wire() + " -> " + role.wire() + "; " + sessions + " sessions revoked");
        });
        return require(username);
    }

    /** All users, oldest first. Served from memory; any change anywhere drops the copy. */
    public List<User> list() {
        List<User> l = cachedList;
        if (l == null) {
            long generation = listGeneration.get();
            l = jdbi.withHandle(h -> h.attach(UserDao.class).listAll().stream()
                    .map(UserRow::toUser)
                    .toList());
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
        return jdbi.withHandle(
                h -> h.attach(UserDao.class).findByUsernameKey(key(username)).map(UserRow::toUser));
    }

    /**
     * A user by the id a Panel client knows: the id it chose at creation ({@code userId}), or the user's
     * own UUID.
     */
    public Optional<User> findByClientId(String clientId) {
        if (clientId == null
                || clientId.isEmpty()
                || clientId.length() > MAX_EXTERNAL_ID
                || clientId.chars().anyMatch(Character::isISOControl)) {
            return Optional.empty();
        }
        return jdbi.withHandle(
                h -> findRowByClientId(h.attach(UserDao.class), clientId).map(UserRow::toUser));
    }

    private static Optional<UserRow> findRowByClientId(UserDao dao, String clientId) {
        Optional<UserRow> byExternal = dao.findByExternalId(clientId);
        if (byExternal.isPresent()) {
            return byExternal;
        }
        try {
            return dao.findById(UUID.fromString(clientId)).filter(r -> r.externalId() == null);
        } catch (IllegalArgumentException notAUuid) {
            return Optional.empty();
        }
    }

    public Optional<User> findById(UUID id) {
        return jdbi.withHandle(h -> h.attach(UserDao.class).findById(id).map(UserRow::toUser));
    }

    public Optional<User> findByEmail(String email) {
        String e = email.strip().toLowerCase(Locale.ROOT);
        return jdbi.withHandle(h -> h.attach(UserDao.class).findByEmail(e).map(UserRow::toUser));
    }

    public User require(String username) {
        return find(username)
                .orElseThrow(
                        () -> new PierException.NotFound(Reason.USER_NOT_FOUND, "user '" + username + "' not found"));
    }

    /** A user's row, secret columns included; for the login path only. */
    public Optional<UserRow> findRow(String username) {
        if (!isPlausibleUsername(username)) {
            return Optional.empty();
        }
        return jdbi.withHandle(h -> h.attach(UserDao.class).findByUsernameKey(key(username)));
    }

    /**
     * Reads and decrypts a user's TOTP secret, or, for no user, a dummy sealed the same way: an unknown
     * name costs the same decryption as a known one. For the login path only.
     */
    public byte[] openSecretOrDummy(Optional<UserRow> row) {
        return row.map(r -> box.open(r.totpSecret(), aad(r.id())))
                .orElseGet(() -> box.open(dummySealed, aad(new UUID(0, 0))));
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
