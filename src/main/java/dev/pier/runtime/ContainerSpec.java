package dev.pier.runtime;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * What Pier asks the engine to create for one instance. Only the knobs an instance has are here; the
 * hardening (no privileges, no capabilities, no bind mounts or devices, no host network, an init process,
 * no restart policy) is not negotiable and is applied by the runtime for every container. The one mount a
 * container may have is its instance's named data volume.
 *
 * @param instanceId the instance; becomes the {@link PierLabels#INSTANCE} label
 * @param name       container name, {@code [a-zA-Z0-9][a-zA-Z0-9_.-]*}, at most 128 characters
 * @param image      Docker image reference
 * @param command    command and arguments; empty means the image's own CMD
 * @param env        environment variables
 * @param memoryMiB  memory limit in MiB (swap is not granted on top of it); at least 6
 * @param cpus       CPU cores, fractional allowed (0.5 = half a core)
 * @param pidsLimit  maximum number of processes in the container
 * @param ports      published ports, bound on all host addresses
 * @param labels     extra labels; keys under {@link PierLabels#PREFIX} are reserved
 * @param stdin      whether the container's main process gets an open stdin (for a console)
 * @param logMaxBytes how much of its output the engine keeps (in three rotated files); at least 3 MiB
 * @param volume     the named volume mounted into it, if any
 */
public record ContainerSpec(
        UUID instanceId,
        String name,
        String image,
        List<String> command,
        Map<String, String> env,
        long memoryMiB,
        double cpus,
        int pidsLimit,
        List<PortBinding> ports,
        Map<String, String> labels,
        boolean stdin,
        long logMaxBytes,
        Optional<VolumeMount> volume) {

    public static final int DEFAULT_PIDS_LIMIT = 512;
    /** What the engine keeps of a container's output unless told otherwise: three files of 10 MiB. */
    public static final long DEFAULT_LOG_MAX_BYTES = 30L << 20;
    /** The least log an instance may keep: three files of 1 MiB. */
    public static final long MIN_LOG_MAX_BYTES = 3L << 20;

    private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}");

    public enum Protocol {
        TCP,
        UDP;

        public String lowerCase() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** A container port published on a host port. */
    public record PortBinding(int containerPort, int hostPort, Protocol protocol) {
        public PortBinding {
            checkPort(containerPort, "containerPort");
            checkPort(hostPort, "hostPort");
            Objects.requireNonNull(protocol, "protocol");
        }

        public static PortBinding tcp(int containerPort, int hostPort) {
            return new PortBinding(containerPort, hostPort, Protocol.TCP);
        }

        public static PortBinding udp(int containerPort, int hostPort) {
            return new PortBinding(containerPort, hostPort, Protocol.UDP);
        }

        private static void checkPort(int port, String what) {
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException(what + " must be 1-65535, was " + port);
            }
        }
    }

    /**
     * A named volume mounted read-write at {@code target}.
     *
     * @param volume the volume's name, as {@link ContainerRuntime#createVolume} made it
     * @param target an absolute, normalized path in the container, not {@code /}
     */
    public record VolumeMount(String volume, String target) {
        public VolumeMount {
            Objects.requireNonNull(volume, "volume");
            Objects.requireNonNull(target, "target");
            if (!NAME.matcher(volume).matches()) {
                throw new IllegalArgumentException("volume name must match " + NAME.pattern() + ": " + volume);
            }
            if (!target.startsWith("/")
                    || target.equals("/")
                    || target.endsWith("/")
                    || target.contains("//")
                    || target.contains("/./")
                    || target.contains("/../")
                    || target.endsWith("/.")
                    || target.endsWith("/..")
                    || target.chars().anyMatch(c -> c < 0x20 || c == ':' || c == ',')) {
                throw new IllegalArgumentException("mount target must be an absolute normalized path: " + target);
            }
        }
    }

    public ContainerSpec {
        Objects.requireNonNull(instanceId, "instanceId");
        Objects.requireNonNull(name, "name");
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("container name must match " + NAME.pattern() + ": " + name);
        }
        Objects.requireNonNull(image, "image");
        if (image.isBlank() || !image.equals(image.strip())) {
            throw new IllegalArgumentException("image reference must be non-blank without surrounding spaces");
        }
        command = List.copyOf(command);
        env = Collections.unmodifiableMap(new TreeMap<>(env));
        for (var e : env.entrySet()) {
            String key = e.getKey();
            if (key.isEmpty()
                    || key.indexOf('=') >= 0
                    || key.indexOf('\0') >= 0
                    || e.getValue().indexOf('\0') >= 0) {
                throw new IllegalArgumentException("invalid environment variable name: " + key);
            }
        }
        if (memoryMiB < 6) {
            throw new IllegalArgumentException("memoryMiB must be at least 6 (Docker's minimum), was " + memoryMiB);
        }
        if (!(cpus > 0) || Double.isInfinite(cpus) || nanoCpus(cpus) < 1) {
            throw new IllegalArgumentException("cpus must be a positive number, was " + cpus);
        }
        if (pidsLimit < 1) {
            throw new IllegalArgumentException("pidsLimit must be positive, was " + pidsLimit);
        }
        ports = List.copyOf(ports);
        Set<String> hostPorts = new HashSet<>();
        for (PortBinding p : ports) {
            if (!hostPorts.add(p.hostPort() + "/" + p.protocol())) {
                throw new IllegalArgumentException(
                        "host port " + p.hostPort() + "/" + p.protocol().lowerCase() + " is bound twice");
            }
        }
        labels = Collections.unmodifiableMap(new TreeMap<>(labels));
        for (String key : labels.keySet()) {
            if (key.isEmpty() || key.startsWith(PierLabels.PREFIX)) {
                throw new IllegalArgumentException("label key is empty or reserved for Pier: " + key);
            }
        }
        if (logMaxBytes < MIN_LOG_MAX_BYTES) {
            throw new IllegalArgumentException("logMaxBytes must be at least 3 MiB, was " + logMaxBytes);
        }
        Objects.requireNonNull(volume, "volume");
    }

    /** The labels the container gets: the extra ones plus Pier's own. */
    public Map<String, String> allLabels() {
        Map<String, String> all = new LinkedHashMap<>(labels);
        all.put(PierLabels.MANAGED, "true");
        all.put(PierLabels.INSTANCE, instanceId.toString());
        return Collections.unmodifiableMap(all);
    }

    /** {@link #cpus} in Docker's unit, billionths of a core. */
    public long nanoCpus() {
        return nanoCpus(cpus);
    }

    public long memoryBytes() {
        return memoryMiB * 1024L * 1024L;
    }

    private static long nanoCpus(double cpus) {
        return Math.round(cpus * 1_000_000_000d);
    }

    public static Builder builder(UUID instanceId, String name, String image) {
        return new Builder(instanceId, name, image);
    }

    /** Builds a spec; memory 256 MiB, 1 CPU and {@value #DEFAULT_PIDS_LIMIT} processes unless set. */
    public static final class Builder {
        private final UUID instanceId;
        private final String name;
        private final String image;
        private List<String> command = List.of();
        private final Map<String, String> env = new LinkedHashMap<>();
        private long memoryMiB = 256;
        private double cpus = 1.0;
        private int pidsLimit = DEFAULT_PIDS_LIMIT;
        private final List<PortBinding> ports = new ArrayList<>();
        private final Map<String, String> labels = new LinkedHashMap<>();
        private boolean stdin;
        private long logMaxBytes = DEFAULT_LOG_MAX_BYTES;
        private VolumeMount volume;

        private Builder(UUID instanceId, String name, String image) {
            this.instanceId = instanceId;
            this.name = name;
            this.image = image;
        }

        public Builder command(List<String> command) {
            this.command = List.copyOf(command);
            return this;
        }

        public Builder command(String... command) {
            return command(List.of(command));
        }

        public Builder env(Map<String, String> env) {
            this.env.putAll(env);
            return this;
        }

        public Builder env(String key, String value) {
            this.env.put(key, value);
            return this;
        }

        public Builder memoryMiB(long memoryMiB) {
            this.memoryMiB = memoryMiB;
            return this;
        }

        public Builder cpus(double cpus) {
            this.cpus = cpus;
            return this;
        }

        public Builder pidsLimit(int pidsLimit) {
            this.pidsLimit = pidsLimit;
            return this;
        }

        public Builder port(PortBinding port) {
            this.ports.add(port);
            return this;
        }

        public Builder ports(List<PortBinding> ports) {
            this.ports.addAll(ports);
            return this;
        }

        public Builder label(String key, String value) {
            this.labels.put(key, value);
            return this;
        }

        public Builder labels(Map<String, String> labels) {
            this.labels.putAll(labels);
            return this;
        }

        public Builder stdin(boolean stdin) {
            this.stdin = stdin;
            return this;
        }

        public Builder logMaxBytes(long logMaxBytes) {
            this.logMaxBytes = logMaxBytes;
            return this;
        }

        /** Mounts the named volume {@code name} at {@code target}. */
        public Builder volume(String name, String target) {
            this.volume = new VolumeMount(name, target);
            return this;
        }

        public ContainerSpec build() {
            return new ContainerSpec(
                    instanceId,
                    name,
                    image,
                    command,
                    env,
                    memoryMiB,
                    cpus,
                    pidsLimit,
                    ports,
                    labels,
                    stdin,
                    logMaxBytes,
                    Optional.ofNullable(volume));
        }
    }
}
