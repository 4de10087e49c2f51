package dev.pier.runtime;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

/**
 * One container as the engine sees it at the moment of inspection.
 *
 * @param id         the engine's full container id
 * @param name       the container name, without Docker's leading slash
 * @param image      the image reference the container was created from
 * @param status     running, exited, created, …
 * @param exitCode   the last exit code (0 when it never exited)
 * @param oomKilled  whether the kernel's OOM killer ended the last run
 * @param startedAt  when the last run started; empty if it never started
 * @param finishedAt when the last run ended; empty if it never ended
 * @param error      the engine's error for the last start attempt, or empty
 * @param labels     all labels
 */
public record ContainerState(
        String id,
        String name,
        String image,
        ContainerStatus status,
        int exitCode,
        boolean oomKilled,
        Optional<Instant> startedAt,
        Optional<Instant> finishedAt,
        String error,
        Map<String, String> labels) {
    public ContainerState {
        Objects.requireNonNull(id, "id");
        name = Objects.requireNonNullElse(name, "");
        image = Objects.requireNonNullElse(image, "");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(startedAt, "startedAt");
        Objects.requireNonNull(finishedAt, "finishedAt");
        error = Objects.requireNonNullElse(error, "");
        labels = Map.copyOf(labels);
    }

    public boolean running() {
        return status == ContainerStatus.RUNNING;
    }

    /** The Pier instance this container belongs to, from its labels. */
    public Optional<UUID> instanceId() {
        return PierLabels.instanceId(labels);
    }
}
