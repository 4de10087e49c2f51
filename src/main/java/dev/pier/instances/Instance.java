package dev.pier.instances;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * An instance (a droplet): desired state is Pier's, observed state is what Docker last said.
 *
 * @param name        unique, a DNS label; names the container
 * @param displayName what a person called it (the Panel API's {@code name}: "Minecraft 1.21"); empty when
 *                    it was deployed by its {@code name}
 * @param stdin       whether its container has an open stdin (a console); fixed at deploy
 * @param dataPath    where its data volume is mounted in its container; empty when it has no volume
 * @param diskOver    its volume outgrew its disk limit: stopped, and it may not start until it is under it
 */
public record Instance(
        UUID id,
        String name,
        Optional<String> displayName,
        Optional<UUID> ownerId,
        UUID nodeId,
        Optional<UUID> imageId,
        String imageRef,
        List<String> command,
        int memoryMib,
        int diskMib,
        double cpu,
        List<PortMapping> ports,
        Optional<Integer> primaryPort,
        Map<String, String> variables,
        boolean stdin,
        Optional<String> dataPath,
        DesiredState desiredState,
        ObservedState observedState,
        boolean suspended,
        boolean diskOver,
        Optional<String> containerId,
        Optional<String> lastError,
        Restarts restarts,
        Instant createdAt,
        Instant updatedAt) {

    /** The name to show a person: the display name, or else the name. */
    public String label() {
        return displayName.orElse(name);
    }

    /** Prefix of the names of instances' data volumes; the instance id follows. */
    public static final String VOLUME_PREFIX = "pier-data-";

    /** The name of its data volume (on its node), when it has one: named after its id. */
    public Optional<String> volume() {
        return dataPath.map(p -> volumeOf(id));
    }

    /** The name the data volume of instance {@code id} has. */
    public static String volumeOf(UUID id) {
        return VOLUME_PREFIX + id;
    }

    /** Whether its container should run: desired running and not suspended. */
    public boolean wantsRunning() {
        return desiredState == DesiredState.RUNNING && !suspended;
    }
}
