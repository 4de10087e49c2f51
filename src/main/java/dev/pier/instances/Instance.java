package dev.pier.instances;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/** An instance (a droplet): desired state is Pier's, observed state is what Docker last said. */
public record Instance(UUID id, String name, Optional<UUID> ownerId, UUID nodeId, Optional<UUID> imageId, String imageRef,
                       List<String> command, int memoryMib, int diskMib, double cpu, List<PortMapping> ports,
                       Optional<Integer> primaryPort, Map<String, String> variables, String desiredState,
                       String observedState, boolean suspended, Optional<String> containerId,
                       Optional<String> lastError, Instant createdAt, Instant updatedAt) {
}
