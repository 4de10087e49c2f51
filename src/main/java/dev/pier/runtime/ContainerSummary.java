package dev.pier.runtime;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

/**
 * One line of a container listing: enough for the reconciler to match containers to instances
 * ({@link #instanceId()}) and spot dead ones; {@link ContainerRuntime#inspect} gives the details.
 */
public record ContainerSummary(
        String id, String name, String image, ContainerStatus status, Map<String, String> labels) {
    public ContainerSummary {
        Objects.requireNonNull(id, "id");
        name = Objects.requireNonNullElse(name, "");
        image = Objects.requireNonNullElse(image, "");
        Objects.requireNonNull(status, "status");
        labels = Map.copyOf(labels);
    }

    public boolean running() {
        return status == ContainerStatus.RUNNING;
    }

    public Optional<UUID> instanceId() {
        return PierLabels.instanceId(labels);
    }
}
