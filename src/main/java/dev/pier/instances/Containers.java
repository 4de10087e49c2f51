package dev.pier.instances;

import dev.pier.runtime.ContainerConflictException;
import dev.pier.runtime.ContainerNotFoundException;
import dev.pier.runtime.ContainerRuntime;
import dev.pier.runtime.ContainerSpec;
import dev.pier.runtime.ContainerStatus;
import dev.pier.runtime.ContainerSummary;
import dev.pier.runtime.PierLabels;
import dev.pier.runtime.RuntimeOperationException;
import dev.pier.runtime.VolumeSummary;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The containers of instances: making one from a record, finding an instance's containers by their
 * labels, telling this installation's containers from another's on a shared engine. Thread-safe; callers
 * serialize work on one instance ({@link InstanceLocks}).
 */
public final class Containers {
    /** Label naming the installation a container belongs to (engines may be shared). */
    static final String INSTALLATION_LABEL = "pier.installation";

    private final InstanceStore store;
    private final UUID installation;
    private final long logMaxBytes;

    /** @param logMaxBytes how much output a new container keeps ({@code PIER_LOG_MAX_MIB}) */
    public Containers(InstanceStore store, UUID installation, long logMaxBytes) {
        this.store = store;
        this.installation = installation;
        this.logMaxBytes = logMaxBytes;
    }

    /**
     * Creates the container for a recorded instance and records its id; adopts the one a crashed earlier
     * attempt made. Container names are global to an engine that other installations may share: the
     * instance id makes the name unique there, and fixed per instance, so a second create after a crash is
     * a conflict rather than a duplicate. The instance's data volume is made first, unless it exists (a
     * container made again mounts the data of the one before).
     */
    String create(ContainerRuntime runtime, Instance inst) {
        ContainerSpec.Builder b = ContainerSpec.builder(inst.id(), inst.name() + "-" + inst.id(), inst.imageRef())
                .command(inst.command())
                .env(inst.variables())
                .memoryMiB(inst.memoryMib())
                .cpus(inst.cpu())
                .stdin(inst.stdin())
                .label(INSTALLATION_LABEL, installation.toString())
                .logMaxBytes(logMaxBytes);
        if (inst.volume().isPresent()) {
            String volume = inst.volume().get();
            runtime.createVolume(volume, labels(inst));
            b.volume(volume, inst.dataPath().orElseThrow());
        }
        for (PortMapping p : inst.ports()) {
            b.port(new ContainerSpec.PortBinding(
                    p.containerPort(),
                    p.hostPort(),
                    p.protocol().equals("udp") ? ContainerSpec.Protocol.UDP : ContainerSpec.Protocol.TCP));
        }
        ContainerSpec spec = b.build();
        String cid = null;
        for (int attempt = 1; cid == null; attempt++) {
            try {
                cid = runtime.create(spec);
            } catch (ContainerConflictException exists) {
                ContainerSummary found = runtime.listManaged().stream()
                        .filter(c -> ours(c)
                                && c.instanceId().filter(inst.id()::equals).isPresent())
                        .findFirst()
                        .orElse(null);
                if (found == null) {
                    // the name is held by a container another process is removing (or has just made and the
                    // listing does not show yet): ask again shortly
                    if (attempt >= 5) {
                        throw exists;
                    }
                    pause(Duration.ofMillis(300L * attempt));
                } else if (found.image().equals(spec.image()) || attempt >= 3) {
                    cid = found.id();
                } else {
                    // made from another image than the record's (by another process that read the record before
                    // a reinstall changed it): never adopt it, make the one the record describes
                    runtime.remove(found.id(), true);
                    pause(Duration.ofMillis(300L * attempt));
                }
            }
        }
        store.setContainer(inst.id(), cid);
        return cid;
    }

    /** Gives another process time to see the record as it is now; an interrupt ends the wait early. */
    private static void pause(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The container id, re-discovered from labels if the record lost it. */
    String of(ContainerRuntime runtime, Instance inst) {
        if (inst.containerId().isPresent()) {
            return inst.containerId().get();
        }
        List<String> found = all(runtime, inst);
        if (found.isEmpty()) {
            throw new ContainerNotFoundException("instance '" + inst.name() + "' has no container yet");
        }
        return found.getFirst();
    }

    /**
     * Every container of the instance: the recorded one and any other with its labels (a create whose
     * answer was lost made a container the record does not name).
     */
    List<String> all(ContainerRuntime runtime, Instance inst) {
        List<String> ids = new ArrayList<>();
        inst.containerId().ifPresent(ids::add);
        for (ContainerSummary c : runtime.listManaged()) {
            if (ours(c) && c.instanceId().filter(inst.id()::equals).isPresent() && !ids.contains(c.id())) {
                ids.add(c.id());
            }
        }
        return ids;
    }

    /** Removes every container of the instance (killing running ones). */
    void removeAll(ContainerRuntime runtime, Instance inst) {
        for (String cid : all(runtime, inst)) {
            runtime.remove(cid, true);
        }
    }

    /** Removes the instance's data volume, if it has one; its containers must be gone. */
    void removeVolume(ContainerRuntime runtime, Instance inst) {
        if (inst.volume().isPresent()) {
            runtime.removeVolume(inst.volume().get());
        }
    }

    /** The labels of the instance's volume: those of its containers. */
    private Map<String, String> labels(Instance inst) {
        return Map.of(
                PierLabels.MANAGED,
                "true",
                PierLabels.INSTANCE,
                inst.id().toString(),
                INSTALLATION_LABEL,
                installation.toString());
    }

    /**
     * Starts a container, or unpauses it when it is paused (the engine refuses to start a paused
     * container, and a user's start means "make it run").
     */
    void start(ContainerRuntime runtime, String containerId) {
        try {
            runtime.start(containerId);
        } catch (RuntimeOperationException e) {
            boolean paused = runtime.inspect(containerId)
                    .map(st -> st.status() == ContainerStatus.PAUSED)
                    .orElse(false);
            if (!paused) {
                throw e;
            }
            runtime.unpause(containerId);
        }
    }

    /** Whether a container was made by this installation. */
    boolean ours(ContainerSummary c) {
        return installation.toString().equals(c.labels().get(INSTALLATION_LABEL));
    }

    /** Whether a volume was made by this installation. */
    boolean ours(VolumeSummary v) {
        return installation.toString().equals(v.labels().get(INSTALLATION_LABEL));
    }
}
