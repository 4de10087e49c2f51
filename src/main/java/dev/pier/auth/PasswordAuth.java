package dev.pier.auth;

import dev.pier.audit.Actor;
import dev.pier.audit.AuditLog;
import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.security.AccessLevel;
import dev.pier.security.Principal;
import dev.pier.users.UserDao;
import dev.pier.users.UserRow;
import dev.pier.users.UserService;
import io.micrometer.core.instrument.MeterRegistry;
import org.jdbi.v3.core.Jdbi;

import java.time.Clock;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Pattern;

/**
 * Username + password authentication (the User API keys family's {@code create_apikey}). Every Pier user
 * has a TOTP secret, so a password alone never mints a credential: the current code comes with it, in a
 * {@code code} field or as six digits after the password (for a client that has only a password field).
 * The code is consumed like a login's (one atomic update: single use). Counts against the same
 * brute-force limits as TOTP logins ({@link LoginGuard}); unknown user, wrong password and wrong code
 * take the same path with the same work (a dummy hash is verified, a dummy secret decrypted and checked)
 * and give the same answer.
 */
public final class PasswordAuth {
    private static final Pattern CONTROL = Pattern.compile("[\\x00-\\x1F\\x7F-\\x9F]");
    private static final Pattern TRAILING_CODE = Pattern.compile("(?s)(.+)([0-9]{" + Totp.DIGITS + "})");
    private final Jdbi jdbi;
    private final UserService users;
    private final Passwords passwords;
    private final LoginGuard guard;
    private final AuditLog audit;
    private final MeterRegistry metrics;
    private final Clock clock;

    public PasswordAuth(
            Jdbi jdbi,
            UserService users,
            Passwords passwords,
            LoginGuard guard,
            AuditLog audit,
            MeterRegistry metrics,
            Clock clock) {
        this.jdbi = jdbi;
        this.users = users;
        this.passwords = passwords;
        this.guard = guard;
        this.audit = audit;
        this.metrics = metrics;
        this.clock = clock;
    }

    /**
     * @param code the TOTP code, or null/blank when it follows the password
     * @throws PierException.Unauthenticated for any wrong or missing factor, alike
     */
    public Principal authenticate(String username, String password, String code, String clientAddr) {
        if (username == null || username.isBlank() || password == null || password.isEmpty()) {
            throw new PierException.Invalid(Reason.LOGIN_FIELDS_MISSING, "username and password are required");
        }
        String secretPart = password;
        String totp = code == null ? "" : code.strip();
        if (totp.isEmpty()) {
            var m = TRAILING_CODE.matcher(password);
            if (m.matches()) {
                secretPart = m.group(1);
                totp = m.group(2);
            }
        }
        // No username holds a control character, and PostgreSQL refuses a NUL in a query parameter: such a
        // name is looked up nowhere, and its failures are counted and audited under a printable stand-in.
        boolean plausible = UserService.isPlausibleUsername(username);
        String subject = plausible
                ? username
                : CONTROL.matcher(username.length() > 64 ? username.substring(0, 64) : username)
                        .replaceAll("\uFFFD");
        long started = System.nanoTime();
        try (LoginGuard.Attempt attempt = guard.admit(subject, clientAddr)) {
            Optional<UserRow> row = plausible ? users.findRow(username) : Optional.empty();
            OptionalLong step = Totp.matchingStep(users.openSecretOrDummy(row), totp, clock.instant());
            boolean passwordOk =
                    passwords.verify(secretPart, row.map(UserRow::passwordHash).orElse(null));
            boolean ok = row.isPresent()
                    && !row.get().disabled()
                    && passwordOk
                    && step.isPresent()
                    && jdbi.withHandle(h -> h.attach(UserDao.class)
                                    .consumeStep(row.get().id(), step.getAsLong()))
                            == 1;
            Actor actor = new Actor(row.map(UserRow::id).orElse(null), subject, null, clientAddr);
            if (!ok) {
                attempt.failed(passwordOk ? LoginGuard.Factor.CODE : LoginGuard.Factor.PASSWORD);
                audit.record(
                        actor,
                        "auth.password",
                        subject,
                        "failure",
                        row.isEmpty()
                                ? "unknown user"
                                : !passwordOk
                                        ? "invalid password"
                                        : step.isPresent() ? "code already used" : "invalid or missing code");
                metrics.counter("pier_logins_total", "outcome", "failure", "method", "password")
                        .increment();
                FailureFloor.await(started);
                throw new PierException.Unauthenticated(
                        Reason.INVALID_CREDENTIALS,
                        "login failed: username, password and the current authenticator code are required");
            }
            attempt.succeeded(true, true);
            audit.record(actor, "auth.password", username, "success", null);
            metrics.counter("pier_logins_total", "outcome", "success", "method", "password")
                    .increment();
            UserRow u = row.get();
            return new Principal(
                    u.id(),
                    u.username(),
                    u.toUser().role(),
                    AccessLevel.FULL,
                    Principal.Kind.PASSWORD,
                    "password",
                    clientAddr);
        }
    }
}
