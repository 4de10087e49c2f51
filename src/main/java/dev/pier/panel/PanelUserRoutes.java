package dev.pier.panel;

import dev.pier.auth.Passwords;
import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.http.Fields;
import dev.pier.http.RequestContext;
import dev.pier.security.Role;
import dev.pier.users.User;
import dev.pier.users.UserService;
import io.javalin.http.Context;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Panel API's users (seeds/panel-api-reference.txt) over {@link UserService}: its statuses
 * (getUser answers 201, a missing user is a 400) and its shapes {userId, username, email, admin}.
 */
public final class PanelUserRoutes {
    private final UserService users;
    private final Passwords passwords;
    private final dev.pier.http.JsonCache listJson = new dev.pier.http.JsonCache();

    public PanelUserRoutes(UserService users, Passwords passwords) {
        this.users = users;
        this.passwords = passwords;
    }

    public void list(Context ctx) {
        var all = users.list();
        listJson.send(
                ctx,
                java.util.List.of(all),
                () -> all.stream().map(PanelUserRoutes::json).toList());
    }

    public void getUser(Context ctx) {
        Fields f = Fields.of(ctx);
        String type = f.string("type");
        String value = f.scalar("value");
        if (type == null || value == null || value.isBlank()) {
            throw new PierException.Invalid("type and value are required");
        }
        // No user's name or email holds a control character, and PostgreSQL refuses a NUL in a query
        // parameter outright: such a value finds nobody without asking the database.
        boolean plausible = value.length() <= 254 && value.chars().noneMatch(Character::isISOControl);
        User u = switch (type) {
            case "username" -> plausible ? users.find(value).orElse(null) : null;
            case "email" -> plausible ? users.findByEmail(value).orElse(null) : null;
            default -> throw new PierException.Invalid("type must be 'email' or 'username'");
        };
        if (u == null) {
            throw new PierException.Invalid(Reason.USER_NOT_FOUND, "User not found");
        }
        ctx.status(201).json(json(u));
    }

    public void create(Context ctx) {
        Fields f = Fields.of(ctx);
        String username = f.string("username");
        String email = f.string("email");
        String password = f.string("password");
        if (username == null || username.isBlank() || email == null || email.isBlank() || password == null) {
            throw new PierException.Invalid(
                    Reason.USER_DATA_MISSING, "Missing required parameters: username, email and password");
        }
        Boolean admin = f.bool("admin");
        // any string the client chooses (the document: "User ID, generated if not provided"): kept as the
        // user's external id and answered back; the user's own id stays a UUID
        String userId = f.scalar("userId");
        String externalId = userId == null || userId.isBlank() ? null : userId.strip();
        UserService.validateUsername(username);
        if (externalId != null && users.findByClientId(externalId).isPresent()) {
            throw new PierException.Conflict(Reason.CONFLICT, "userId '" + externalId + "' is taken");
        }
        String hash = passwords.hash(password, username, email);
        User u = users.create(
                        RequestContext.principal(ctx),
                        new UserService.NewUser(
                                null,
                                username,
                                Boolean.TRUE.equals(admin) ? Role.ADMIN : Role.VIEWER,
                                email.strip(),
                                hash,
                                externalId))
                .user();
        ctx.status(201).json(json(u));
    }

    static Map<String, Object> json(User u) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("userId", u.panelId());
        m.put("username", u.username());
        m.put("email", u.email().orElse(null));
        m.put("admin", u.role().atLeast(Role.ADMIN));
        return m;
    }
}
