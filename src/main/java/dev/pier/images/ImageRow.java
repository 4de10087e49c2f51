package dev.pier.images;

import java.time.Instant;
import java.util.UUID;

record ImageRow(UUID id, String name, String reference, String description, String command, String ports,
                String variables, Integer defaultSlot, Instant createdAt, Instant updatedAt) {
}
