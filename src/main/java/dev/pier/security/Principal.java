package dev.pier.security;

import dev.pier.audit.Actor;

import java.util.UUID;

/**
 * The authenticated caller of one request.
 *
 * @param credentialId the session id or API key id: what the audit log names, never the secret
 * @param kind         which kind of credential was presented
 */
public record Principal(
        UUID userId, String username, Role role, AccessLevel level, Kind kind, String credentialId, String clientAddr) {

    /** {@code PASSWORD}: username, password and TOTP code, for one request (User API keys' create_apikey). */
    public enum Kind {
        ACCESS_TOKEN,
        REFRESH_TOKEN,
        API_KEY,
        PASSWORD,
        SYSTEM
    }

    /** The CLI, run by whoever administers the machine: owner powers, no user behind it. */
    public static Principal system() {
        return new Principal(new UUID(0, 0), "cli", Role.OWNER, AccessLevel.FULL, Kind.SYSTEM, null, "local");
    }

    public Actor actor() {
        if (kind == Kind.SYSTEM) {
            return Actor.cli();
        }
        return new Actor(userId, username, credentialId, clientAddr);
    }

    public boolean isSelf(UUID otherUserId) {
        return userId.equals(otherUserId);
    }
}
