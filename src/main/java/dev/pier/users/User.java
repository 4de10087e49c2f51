package dev.pier.users;

import dev.pier.security.Account;
import dev.pier.security.Role;

import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

/** A user as the services see it: never serialized directly, so the secret columns cannot leak. */
public record User(UUID id, String username, Optional<String> email, Role role, boolean disabled, Instant createdAt,
                   Instant updatedAt) implements Account {
}
