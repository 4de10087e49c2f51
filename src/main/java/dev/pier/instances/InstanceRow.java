package dev.pier.instances;

import dev.pier.db.JsonColumn;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

record InstanceRow(
        UUID id,
        String name,
        String displayName,
        UUID ownerId,
        UUID nodeId,
        UUID imageId,
        String imageRef,
        @JsonColumn List<String> command,
        int memoryMib,
        int diskMib,
        double cpu,
        @JsonColumn List<PortMapping> ports,
        Integer primaryPort,
        @JsonColumn Map<String, String> variables,
        boolean stdin,
        String dataPath,
        String desiredState,
        String observedState,
        String observedCondition,
        boolean suspended,
        boolean diskOver,
        String containerId,
        String lastError,
        Integer exitCode,
        int crashes,
        int startFailures,
        Instant nextAttemptAt,
        Instant createdAt,
        Instant updatedAt) {

    Instance toInstance() {
        return new Instance(
                id,
                name,
                Optional.ofNullable(displayName),
                Optional.ofNullable(ownerId),
                nodeId,
                Optional.ofNullable(imageId),
                imageRef,
                command,
                memoryMib,
                diskMib,
                cpu,
                ports,
                Optional.ofNullable(primaryPort),
                variables,
                stdin,
                Optional.ofNullable(dataPath),
                DesiredState.parse(desiredState),
                ObservedState.read(observedState, observedCondition),
                suspended,
                diskOver,
                Optional.ofNullable(containerId),
                Optional.ofNullable(lastError),
                new Restarts(crashes, startFailures, Optional.ofNullable(exitCode), Optional.ofNullable(nextAttemptAt)),
                createdAt,
                updatedAt);
    }
}
