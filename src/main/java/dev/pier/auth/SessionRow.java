package dev.pier.auth;

import java.time.Instant;
import java.util.UUID;

record SessionRow(
        UUID id,
        UUID userId,
        String accessHash,
        Instant accessExpiresAt,
        String refreshHash,
        Instant refreshExpiresAt,
        Instant createdAt,
        Instant refreshedAt) {}
