package dev.pier.instances;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import dev.pier.http.Json;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

record InstanceRow(UUID id, String name, String displayName, UUID ownerId, UUID nodeId, UUID imageId, String imageRef,
                   String command, int memoryMib, int diskMib, double cpu, String ports, Integer primaryPort,
                   String variables, String desiredState, String observedState, String observedCondition,
                   boolean suspended, String containerId, String lastError, Integer exitCode, int crashes,
                   int startFailures, Instant nextAttemptAt, Instant createdAt, Instant updatedAt) {

    Instance toInstance() {
        return new Instance(id, name, Optional.ofNullable(displayName), Optional.ofNullable(ownerId), nodeId,
                Optional.ofNullable(imageId), imageRef, read(command, new TypeReference<List<String>>() { }), memoryMib,
                diskMib, cpu, read(ports, new TypeReference<List<PortMapping>>() { }), Optional.ofNullable(primaryPort),
                read(variables, new TypeReference<Map<String, String>>() { }), DesiredState.parse(desiredState),
                ObservedState.read(observedState, observedCondition), suspended, Optional.ofNullable(containerId),
                Optional.ofNullable(lastError),
                new Restarts(crashes, startFailures, Optional.ofNullable(exitCode), Optional.ofNullable(nextAttemptAt)),
                createdAt, updatedAt);
    }

    static String json(Object o) {
        try {
            return Json.MAPPER.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static <T> T read(String s, TypeReference<T> type) {
        try {
            return Json.MAPPER.readValue(s, type);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("corrupt JSON column: " + e.getMessage(), e);
        }
    }
}
