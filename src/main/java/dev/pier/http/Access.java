package dev.pier.http;

import dev.pier.security.Scope;
import dev.pier.security.Role;
import io.javalin.security.RouteRole;

/**
 * What a route needs, attached to the route itself so the route table shows who may call what.
 *
 * @param acceptsRefreshToken whether a refresh token may stand in for an access token (Matrix revoke)
 */
public record Access(Role min, Scope scope, boolean acceptsRefreshToken) implements RouteRole {
    public static final Access VIEW = new Access(Role.VIEWER, Scope.READ, false);
    public static final Access OPERATE = new Access(Role.MANAGER, Scope.WRITE, false);
    public static final Access ADMIN_READ = new Access(Role.ADMIN, Scope.READ, false);
    public static final Access ADMIN_WRITE = new Access(Role.ADMIN, Scope.WRITE, false);
    public static final Access MANAGE_USERS = new Access(Role.ADMIN, Scope.USERS, false);
    public static final Access OWN_KEYS = new Access(Role.VIEWER, Scope.KEYS, false);
    public static final Access ALL_KEYS = new Access(Role.ADMIN, Scope.KEYS, false);
    public static final Access OWN_SESSIONS = new Access(Role.VIEWER, Scope.USERS, true);
    public static final Access ANY = new Access(Role.VIEWER, Scope.READ, false);
}
