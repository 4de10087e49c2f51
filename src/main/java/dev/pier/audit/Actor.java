package dev.pier.audit;

import java.util.UUID;

/**
 * Who did something, for the audit log: a user (with the credential used) from an address, or the
 * CLI. Built by the HTTP layer or the CLI and passed to services.
 */
public record Actor(UUID userId, String name, String credentialId, String clientAddr) {
    public static Actor cli() {
        return new Actor(null, "cli", null, "local");
    }

    public static Actor anonymous(String clientAddr) {
        return new Actor(null, null, null, clientAddr);
    }
}
