package dev.pier.images;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * A template to deploy instances from.
 *
 * @param stdin    whether its instances' containers get an open stdin (a console)
 * @param dataPath where its instances keep their data (their volume is mounted there); empty when they keep
 *                 none
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
        Optional<String> dataPath,
        Instant createdAt,
        Instant updatedAt) {}
