package dev.pier.users;

import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.http.Fields;
import dev.pier.http.Json;
import dev.pier.http.RequestContext;
import dev.pier.security.Policy;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import io.javalin.http.Context;

import java.util.Map;

/**
 * The native API's user changes, under {@code /api/v1/users/{username}}: role, disabled and password
 * ({@code PATCH}), and an audited TOTP reset ({@code POST …/totp/reset}). Each ends the user's sessions
 * (see {@link UserService}). An unknown user and one the caller may not manage get the same 404.
 */
public final class UserRoutes {
    private final UserService users;
    private final PasswordHasher passwords;

    /** Checks a new password against the policy and hashes it (wired to {@code auth.Passwords}). */
    public interface PasswordHasher {
        String hash(String password, String... userInputs);
    }

    public UserRoutes(UserService users, PasswordHasher passwords) {
        this.users = users;
        this.passwords = passwords;
    }

    /** {@code PATCH {role?, disabled?, password?}}: everything is checked before anything changes. */
    public void update(Context ctx) {
        Principal p = RequestContext.principal(ctx);
        String username = ctx.pathParam("username");
        Fields f = Fields.of(ctx);
        String roleName = f.string("role");
        Role role = roleName == null
                ? null
                : Role.parse(roleName)
                        .orElseThrow(() -> new PierException.Invalid(
                                Reason.UNKNOWN_ROLE, "role must be viewer, manager or admin"));
        Boolean disabled = f.bool("disabled");
        String password = f.string("password");
        if (role == null && disabled == null && password == null) {
            throw new PierException.Invalid(
                    Reason.USER_DATA_MISSING, "nothing to change: send role, disabled or password");
        }
        User target = users.find(username)
                .filter(u -> p.isSelf(u.id()) || Policy.canManage(p, u))
                .orElseThrow(() -> UserService.untouchable(username));
        String hash = password == null
                ? null
                : passwords.hash(password, target.username(), target.email().orElse(null));
        if (role != null) {
            users.setRole(p, username, role);
        }
        if (disabled != null) {
            users.setDisabled(p, username, disabled);
        }
        if (hash != null) {
            users.setPasswordHash(p, username, hash);
        }
        ctx.json(json(users.require(username)));
    }

    /** A new pending secret, shown in this answer (and by the Matrix setup route until its first use). */
    public void resetTotp(Context ctx) {
        Enrollment e = users.resetSecret(RequestContext.principal(ctx), ctx.pathParam("username"));
        ctx.json(Json.object(
                "username",
                e.user().username(),
                "secret",
                e.secretBase32(),
                "otpauth_uri",
                e.uri(),
                "qr",
                e.qrDataUri(),
                "sessions_revoked",
                true));
    }

    static Map<String, Object> json(User u) {
        return Json.object(
                "id",
                u.id().toString(),
                "username",
                u.username(),
                "email",
                u.email().orElse(null),
                "role",
                u.role().wire(),
                "disabled",
                u.disabled(),
                "created_at",
                u.createdAt().toString(),
                "updated_at",
                u.updatedAt().toString());
    }
}
