package dev.pier.images;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A template to deploy instances from.
 *
 * @param stdin whether its instances' containers get an open stdin (a console)
 */
public record Image(
        UUID id,
        String name,
        String reference,
        String description,
        List<String> command,
        List<Integer> ports,
        Map<String, String> variables,
        boolean isDefault,
        boolean stdin,
        Instant createdAt,
        Instant updatedAt) {}
