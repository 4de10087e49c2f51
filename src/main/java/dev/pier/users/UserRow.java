package dev.pier.users;

import dev.pier.security.Role;

import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

/** One row of {@code users}, secret columns included. Stays inside the users and auth packages. */
public record UserRow(
        UUID id,
        String username,
        String usernameKey,
        String email,
        String passwordHash,
        String role,
        String totpSecret,
        long totpLastStep,
        boolean disabled,
        Instant createdAt,
        Instant updatedAt,
        String externalId) {

    public User toUser() {
        return new User(
                id,
                username,
                Optional.ofNullable(email),
                Role.parse(role).orElseThrow(),
                disabled,
                createdAt,
                updatedAt,
                Optional.ofNullable(externalId));
    }

    /** Whether the TOTP secret still waits for its first use: no code of it was ever accepted. */
    public boolean totpPending() {
        return totpLastStep == 0;
    }
}
