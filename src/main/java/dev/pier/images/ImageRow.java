package dev.pier.images;

import dev.pier.db.JsonColumn;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

record ImageRow(
        UUID id,
        String name,
        String reference,
        String description,
        @JsonColumn List<String> command,
        @JsonColumn List<Integer> ports,
        @JsonColumn Map<String, String> variables,
        Integer defaultSlot,
        boolean stdin,
        String dataPath,
        Instant createdAt,
        Instant updatedAt) {}
