package dev.pier.auth;

import dev.pier.security.AccessLevel;
import dev.pier.security.Principal;
import dev.pier.audit.Actor;
import dev.pier.audit.AuditLog;
import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.users.UserDao;
import dev.pier.users.UserRow;
import dev.pier.users.UserService;
import io.micrometer.core.instrument.MeterRegistry;
import org.jdbi.v3.core.Jdbi;

import java.util.Optional;

/**
 * Username + password authentication (the User API keys family's {@code create_apikey}). Counts
 * against the same brute-force limits as TOTP logins; unknown user and wrong password take the same
 * path (a dummy hash is verified) and give the same answer.
 */
public final class PasswordAuth {
    private static final java.util.regex.Pattern CONTROL = java.util.regex.Pattern.compile("[\\x00-\\x1F\\x7F-\\x9F]");
    private final Jdbi jdbi;
    private final Passwords passwords;
    private final LoginGuard guard;
    private final AuditLog audit;
    private final MeterRegistry metrics;

    public PasswordAuth(Jdbi jdbi, Passwords passwords, LoginGuard guard, AuditLog audit, MeterRegistry metrics) {
        this.jdbi = jdbi;
        this.passwords = passwords;
        this.guard = guard;
        this.audit = audit;
        this.metrics = metrics;
    }

    public Principal authenticate(String username, String password, String clientAddr) {
        if (username == null || username.isBlank() || password == null || password.isEmpty()) {
            throw new PierException.Invalid(Reason.LOGIN_FIELDS_MISSING, "username and password are required");
        }
        // No username holds a control character, and PostgreSQL refuses a NUL in a query parameter: such a
        // name is looked up nowhere, and its failures are counted and audited under a printable stand-in.
        boolean plausible = username.length() <= 64 && username.chars().noneMatch(Character::isISOControl);
        String subject = plausible ? username : CONTROL.matcher(username).replaceAll("\uFFFD");
        guard.check(subject, clientAddr);
        Optional<UserRow> row = !plausible ? Optional.empty()
                : jdbi.withHandle(h -> h.attach(UserDao.class).findByUsernameKey(UserService.key(username)));
        boolean ok = passwords.verify(password, row.map(UserRow::passwordHash).orElse(null))
                && row.isPresent() && !row.get().disabled();
        Actor actor = new Actor(row.map(UserRow::id).orElse(null), subject, null, clientAddr);
        if (!ok) {
            guard.recordFailure(subject, clientAddr);
            audit.record(actor, "auth.password", subject, "failure", row.isEmpty() ? "unknown user" : "invalid password");
            metrics.counter("pier_logins_total", "outcome", "failure", "method", "password").increment();
            throw new PierException.Unauthenticated(Reason.INVALID_CREDENTIALS, "login failed");
        }
        guard.recordSuccess(username);
        audit.record(actor, "auth.password", username, "success", null);
        metrics.counter("pier_logins_total", "outcome", "success", "method", "password").increment();
        UserRow u = row.get();
        return new Principal(u.id(), u.username(), u.toUser().role(), AccessLevel.FULL, Principal.Kind.ACCESS_TOKEN,
                "password", clientAddr);
    }
}
