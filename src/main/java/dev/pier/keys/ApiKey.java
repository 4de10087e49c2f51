package dev.pier.keys;

import dev.pier.security.AccessLevel;

import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

/**
 * An API key as services and adapters see it: never the hash, never the value.
 *
 * @param fingerprint a non-secret name its holder can compute from the key (see {@link ApiKeyService#fingerprint})
 */
public record ApiKey(
        UUID id,
        UUID userId,
        String username,
        String description,
        AccessLevel level,
        boolean enabled,
        Optional<Instant> expiresAt,
        Instant createdAt,
        Instant updatedAt,
        Optional<Instant> lastUsedAt,
        String fingerprint) {}
