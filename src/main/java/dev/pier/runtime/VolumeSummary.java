package dev.pier.runtime;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

/** One line of a volume listing: its name and labels (the instance it belongs to, by {@link PierLabels}). */
public record VolumeSummary(String name, Map<String, String> labels) {
    public VolumeSummary {
        Objects.requireNonNull(name, "name");
        labels = labels == null ? Map.of() : Map.copyOf(labels);
    }

    public Optional<UUID> instanceId() {
        return PierLabels.instanceId(labels);
    }
}
