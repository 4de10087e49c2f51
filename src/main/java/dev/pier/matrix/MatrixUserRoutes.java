package dev.pier.matrix;

import dev.pier.auth.AuthService;
import dev.pier.auth.Tokens;
import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.http.Fields;
import dev.pier.http.Json;
import dev.pier.http.RequestContext;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.users.Enrollment;
import dev.pier.users.User;
import dev.pier.users.UserService;
import io.javalin.http.Context;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Matrix API's users and login (seeds/cikit-matrix-rest-api.md): translates its paths, fields
 * and shapes onto {@link AuthService} and {@link UserService}. No rules live here.
 */
public final class MatrixUserRoutes {
    private final AuthService auth;
    private final UserService users;
    private final dev.pier.http.JsonCache listJson = new dev.pier.http.JsonCache();

    public MatrixUserRoutes(AuthService auth, UserService users) {
        this.auth = auth;
        this.users = users;
    }

    public void login(Context ctx) {
        Fields f = Fields.of(ctx);
        Tokens t = auth.login(f.scalar("username"), f.scalar("code"), f.string("password"), ctx.ip());
        // not stored by a browser or proxy (RFC 6749 §5.1): SecurityFilter sends Cache-Control: no-store
        ctx.json(tokens(t));
    }

    public void refresh(Context ctx) {
        Fields f = Fields.of(ctx);
        Tokens t = auth.refresh(f.string("grant_type"), f.string("refresh_token"), ctx.ip());
        ctx.json(tokens(t));
    }

    public void revoke(Context ctx) {
        auth.revokeAll(RequestContext.principal(ctx), ctx.pathParam("user"));
        ctx.json(Map.of("status", "ok"));
    }

    public void setup(Context ctx) {
        Enrollment e = users.enrollment(RequestContext.principal(ctx), ctx.pathParam("user"));
        ctx.json(Json.object("qr", e.qrDataUri(), "secret", e.secretBase32()));
    }

    public void list(Context ctx) {
        var all = users.list();
        listJson.send(
                ctx,
                java.util.List.of(all),
                () -> all.stream().map(MatrixUserRoutes::userJson).toList());
    }

    public void add(Context ctx) {
        Principal p = RequestContext.principal(ctx);
        Fields f = Fields.of(ctx);
        String username = f.string("username");
        String group = f.string("group");
        if (username == null || username.isBlank() || group == null || group.isBlank()) {
            throw new PierException.Invalid(
                    Reason.USER_DATA_MISSING, "user data missing: username and group are required");
        }
        Role role = Role.parse(group)
                .orElseThrow(() -> new PierException.Invalid(
                        Reason.UNKNOWN_ROLE, "unknown group '" + group + "'; use viewer, manager, admin or owner"));
        UserService.validatePlainUsername(username);
        users.create(p, new UserService.NewUser(null, username, role, null, null));
        ctx.json(userList());
    }

    public void delete(Context ctx) {
        users.delete(RequestContext.principal(ctx), ctx.pathParam("user"));
        ctx.json(userList());
    }

    private List<Map<String, Object>> userList() {
        return users.list().stream().map(MatrixUserRoutes::userJson).toList();
    }

    private static Map<String, Object> userJson(User u) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("_id", u.id().toString());
        m.put("username", u.username());
        m.put("created", u.createdAt().toString());
        m.put("group", u.role().wire());
        return m;
    }

    private static Map<String, Object> tokens(Tokens t) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("token_type", "Bearer");
        m.put("expires_in", t.expiresInSeconds());
        m.put("access_token", t.accessToken());
        m.put("refresh_token", t.refreshToken());
        return m;
    }
}
