package dev.pier.runtime;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.UUID;

/**
 * Something happened to a Pier-labelled container, or to the event stream itself.
 *
 * @param kind          what happened
 * @param containerId   the container's id; empty for {@link Kind#RESYNC}
 * @param containerName the container's name; empty when unknown
 * @param instanceId    the instance from the container's labels
 * @param exitCode      the exit code, for {@link Kind#DIE}
 * @param time          when the engine recorded it (when Pier noticed, for RESYNC)
 */
public record RuntimeEvent(
        Kind kind,
        String containerId,
        String containerName,
        Optional<UUID> instanceId,
        OptionalInt exitCode,
        Instant time) {

    public enum Kind {
        /** The container started. */
        START,
        /** The container's process ended, for whatever reason (exit, kill, OOM, stop). */
        DIE,
        /** The container was stopped through the engine's stop call. */
        STOP,
        /** The container was removed. */
        DESTROY,
        /** The kernel's OOM killer hit a process of the container. */
        OOM,
        /**
         * The stream was broken and is connected again; events in between may be lost (an engine restart
         * loses them for certain). Subscribers should compare the full picture now ({@code listManaged}).
         */
        RESYNC
    }

    public RuntimeEvent {
        Objects.requireNonNull(kind, "kind");
        containerId = Objects.requireNonNullElse(containerId, "");
        containerName = Objects.requireNonNullElse(containerName, "");
        Objects.requireNonNull(instanceId, "instanceId");
        Objects.requireNonNull(exitCode, "exitCode");
        Objects.requireNonNull(time, "time");
    }

    static RuntimeEvent resync(Instant now) {
        return new RuntimeEvent(Kind.RESYNC, "", "", Optional.empty(), OptionalInt.empty(), now);
    }
}
