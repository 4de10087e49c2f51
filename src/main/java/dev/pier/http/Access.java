package dev.pier.http;

import dev.pier.security.Role;
import dev.pier.security.Scope;
import io.javalin.security.RouteRole;

/**
 * What a route needs, attached to the route itself so the route table shows who may call what.
 *
 * @param acceptsRefreshToken whether a refresh token may stand in for an access token (Matrix revoke)
 * @param acceptsPassword     whether username + password (+ TOTP code) in the body is a credential here
 *                            (the User API keys family's {@code create_apikey})
 * @param rawBody             whether the body is bytes of any type and any length, streamed by the route (a file
 *                            upload) rather than a form or JSON document read whole
 */
public record Access(Role min, Scope scope, boolean acceptsRefreshToken, boolean acceptsPassword, boolean rawBody)
        implements RouteRole {
    public Access(Role min, Scope scope, boolean acceptsRefreshToken, boolean acceptsPassword) {
        this(min, scope, acceptsRefreshToken, acceptsPassword, false);
    }

    public static final Access VIEW = new Access(Role.VIEWER, Scope.READ, false, false);
    public static final Access OPERATE = new Access(Role.MANAGER, Scope.WRITE, false, false);
    /** Managers and up, reading what only they may see (an instance's files). */
    public static final Access MANAGE_READ = new Access(Role.MANAGER, Scope.READ, false, false);
    /** Managers and up, sending bytes the route streams (a file upload). */
    public static final Access UPLOAD = new Access(Role.MANAGER, Scope.WRITE, false, false, true);

    public static final Access ADMIN_READ = new Access(Role.ADMIN, Scope.READ, false, false);
    public static final Access ADMIN_WRITE = new Access(Role.ADMIN, Scope.WRITE, false, false);
    public static final Access MANAGE_USERS = new Access(Role.ADMIN, Scope.USERS, false, false);
    /** Anyone, about their own account (the service decides whose account the caller may change). */
    public static final Access OWN_ACCOUNT = new Access(Role.VIEWER, Scope.USERS, false, false);

    public static final Access OWN_KEYS = new Access(Role.VIEWER, Scope.KEYS, false, false);
    /** Own keys, with a key or session, or with username + password + TOTP code. */
    public static final Access OWN_KEYS_OR_PASSWORD = new Access(Role.VIEWER, Scope.KEYS, false, true);

    public static final Access ALL_KEYS = new Access(Role.ADMIN, Scope.KEYS, false, false);
    public static final Access OWN_SESSIONS = new Access(Role.VIEWER, Scope.USERS, true, false);
    public static final Access ANY = new Access(Role.VIEWER, Scope.READ, false, false);
}
