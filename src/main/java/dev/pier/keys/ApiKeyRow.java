package dev.pier.keys;

import dev.pier.security.AccessLevel;

import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

record ApiKeyRow(
        UUID id,
        UUID userId,
        String username,
        String description,
        String accessLevel,
        boolean enabled,
        Instant expiresAt,
        Instant createdAt,
        Instant updatedAt,
        Instant lastUsedAt,
        String keyHash) {

    ApiKey toKey() {
        return new ApiKey(
                id,
                userId,
                username,
                description,
                AccessLevel.parse(accessLevel).orElseThrow(),
                enabled,
                Optional.ofNullable(expiresAt),
                createdAt,
                updatedAt,
                Optional.ofNullable(lastUsedAt),
                ApiKeyService.fingerprint(keyHash));
    }
}
