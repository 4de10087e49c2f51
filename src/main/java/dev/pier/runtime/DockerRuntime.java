package dev.pier.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.CreateContainerCmd;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.exception.NotModifiedException;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.InternetProtocol;
import com.github.dockerjava.api.model.LogConfig;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;
import com.github.dockerjava.api.model.PullResponseItem;
import com.github.dockerjava.api.model.RestartPolicy;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import com.github.dockerjava.transport.DockerHttpClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@link ContainerRuntime} on a Docker engine, through docker-java over Apache HttpClient 5 (the unix
 * socket goes through the JDK; no JNA).
 *
 * <p>Every container gets the same hardened host configuration: memory limit with no extra swap, NanoCPUs,
 * a pids limit, Docker's init as PID 1 (so SIGTERM reaches the process and stops are prompt),
 * {@code no-new-privileges}, all capabilities dropped, not privileged, no binds, mounts or devices, the
 * default bridge network, restart policy {@code no} (Pier decides about restarts), and a size-capped
 * json-file log so {@link #logs} works and a chatty container cannot fill the disk.
 *
 * <p>Two HTTP clients share the endpoint: one with {@link DockerEndpoint#requestTimeout()} for short calls,
 * one with {@link DockerEndpoint#longRequestTimeout()} for pulls, stops and event streams, so that a hung
 * engine fails short calls promptly while a stop may wait out its grace period.
 */
public final class DockerRuntime implements ContainerRuntime {
    private static final Logger log = LoggerFactory.getLogger(DockerRuntime.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern STATUS_PREFIX = Pattern.compile("^Status (\\d+): (.*)$", Pattern.DOTALL);
    static final int MAX_LOG_BYTES = 1 << 20;
    /** What a stop may take beyond its grace period before the long timeout is too short for it. */
    private static final Duration STOP_MARGIN = Duration.ofSeconds(30);

    private final DockerEndpoint endpoint;
    private final DockerClient quick;
    private final DockerClient slow;
    private final Set<EventStream> streams = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private DockerRuntime(DockerEndpoint endpoint) {
        this.endpoint = endpoint;
        this.quick = client(endpoint, endpoint.requestTimeout(), 32);
        this.slow = client(endpoint, endpoint.longRequestTimeout(), 32);
    }

    /** Builds a runtime for the endpoint. Does not contact the engine; {@link #ping()} does. */
    public static DockerRuntime connect(DockerEndpoint endpoint) {
        return new DockerRuntime(Objects.requireNonNull(endpoint, "endpoint"));
    }

    public DockerEndpoint endpoint() {
        return endpoint;
    }

    private static DockerClient client(DockerEndpoint endpoint, Duration responseTimeout, int maxConnections) {
        var http = new ApacheDockerHttpClient.Builder()
                .dockerHost(endpoint.uri())
                .sslConfig(endpoint.tls().map(t -> (com.github.dockerjava.transport.SSLConfig) t::sslContext).orElse(null))
                .connectionTimeout(endpoint.connectTimeout())
                .responseTimeout(responseTimeout)
                .maxConnections(maxConnections)
                .build();
        // a config built from scratch, so DOCKER_* variables and ~/.docker never redirect Pier's nodes; TLS is
        // the HTTP client's business (above), the config's own TLS settings would want certificate files
        var config = new DefaultDockerClientConfig.Builder()
                .withDockerHost(endpoint.uri().toString())
                .withDockerTlsVerify(false)
                .build();
        return DockerClientImpl.getInstance(config, http);
    }

    @Override
    public void ping() {
        call("ping", "", () -> quick.pingCmd().exec());
    }

    @Override
    public boolean imageExists(String imageRef) {
        requireText(imageRef, "imageRef");
        return call("inspect image", imageRef, () -> {
            try {
                quick.inspectImageCmd(imageRef).exec();
                return true;
            } catch (NotFoundException e) {
                return false;
            }
        });
    }

    @Override
    public void pullImage(String imageRef, Consumer<String> progress) {
        requireText(imageRef, "imageRef");
        Objects.requireNonNull(progress, "progress");
        String repository;
        String tag;
        int at = imageRef.indexOf('@');
        int colon = imageRef.lastIndexOf(':');
        if (at >= 0) {
            repository = imageRef.substring(0, at);
            tag = imageRef.substring(at + 1);
        } else if (colon > imageRef.lastIndexOf('/')) {
            repository = imageRef.substring(0, colon);
            tag = imageRef.substring(colon + 1);
        } else {
            // without a tag the engine would pull every tag of the repository
            repository = imageRef;
            tag = "latest";
        }
        call("pull", imageRef, () -> {
            PullCallback callback = new PullCallback(progress);
            try {
                slow.pullImageCmd(repository).withTag(tag).exec(callback);
                callback.await();
            } catch (NotFoundException e) {
                throw new ImageNotFoundException(imageRef, engineMessage(e), e);
            }
            if (callback.failure instanceof NotFoundException e) {
                throw new ImageNotFoundException(imageRef, engineMessage(e), e);
            }
            if (callback.failure != null) {
                throw callback.failure;
            }
            if (callback.registryError != null) {
                String msg = callback.registryError;
                if (msg.contains("not found") || msg.contains("does not exist")) {
                    throw new ImageNotFoundException(imageRef, msg, null);
                }
                throw new RuntimeOperationException("pulling " + imageRef + " failed: " + msg);
            }
            return null;
        });
    }

    @Override
    public String create(ContainerSpec spec) {
        Objects.requireNonNull(spec, "spec");
        List<ExposedPort> exposed = new ArrayList<>();
        Ports bindings = new Ports();
        for (ContainerSpec.PortBinding p : spec.ports()) {
            ExposedPort port = new ExposedPort(p.containerPort(), InternetProtocol.parse(p.protocol().lowerCase()));
            if (!exposed.contains(port)) {
                exposed.add(port);
            }
            bindings.bind(port, Ports.Binding.bindIpAndPort("0.0.0.0", p.hostPort()));
        }
        HostConfig host = HostConfig.newHostConfig()
                .withMemory(spec.memoryBytes())
                .withMemorySwap(spec.memoryBytes())
                .withNanoCPUs(spec.nanoCpus())
                .withPidsLimit((long) spec.pidsLimit())
                .withInit(true)
                .withSecurityOpts(List.of("no-new-privileges"))
                .withCapDrop(Capability.ALL)
                .withPrivileged(false)
                .withReadonlyRootfs(false)
                .withNetworkMode("bridge")
                .withRestartPolicy(RestartPolicy.noRestart())
                .withPublishAllPorts(false)
                .withPortBindings(bindings)
                .withLogConfig(new LogConfig(LogConfig.LoggingType.JSON_FILE, Map.of("max-size", "10m", "max-file", "3")));
        List<String> env = spec.env().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList();

        return call("create", spec.name(), () -> {
            try (CreateContainerCmd cmd = quick.createContainerCmd(spec.image())) {
                cmd.withName(spec.name())
                        .withLabels(spec.allLabels())
                        .withEnv(env)
                        .withExposedPorts(exposed)
                        .withHostConfig(host);
                if (!spec.command().isEmpty()) {
                    cmd.withCmd(spec.command());
                }
                return cmd.exec().getId();
            } catch (NotFoundException e) {
                throw new ImageNotFoundException(spec.image(), engineMessage(e), e);
            } catch (ConflictException e) {
                throw new ContainerConflictException("a container named " + spec.name() + " already exists: "
                        + engineMessage(e), e);
            }
        });
    }

    @Override
    public void start(String containerId) {
        requireText(containerId, "containerId");
        call("start", containerId, () -> {
            try {
                quick.startContainerCmd(containerId).exec();
            } catch (NotModifiedException e) {
                // already running
            } catch (NotFoundException e) {
                throw new ContainerNotFoundException(containerId, e);
            }
            return null;
        });
    }

    @Override
    public void stop(String containerId, Duration grace) {
        requireText(containerId, "containerId");
        int seconds = graceSeconds(grace);
        call("stop", containerId, () -> {
            try {
                slow.stopContainerCmd(containerId).withTimeout(seconds).exec();
            } catch (NotModifiedException e) {
                // not running
            } catch (NotFoundException e) {
                throw new ContainerNotFoundException(containerId, e);
            }
            return null;
        });
    }

    @Override
    public void kill(String containerId) {
        requireText(containerId, "containerId");
        call("kill", containerId, () -> {
            try {
                quick.killContainerCmd(containerId).exec();
            } catch (ConflictException e) {
                // "is not running": what a kill wants
            } catch (NotFoundException e) {
                throw new ContainerNotFoundException(containerId, e);
            }
            return null;
        });
    }

    @Override
    public void restart(String containerId, Duration grace) {
        requireText(containerId, "containerId");
        int seconds = graceSeconds(grace);
        call("restart", containerId, () -> {
            try {
                slow.restartContainerCmd(containerId).withTimeout(seconds).exec();
            } catch (NotFoundException e) {
                throw new ContainerNotFoundException(containerId, e);
            }
            return null;
        });
    }

    @Override
    public void unpause(String containerId) {
        requireText(containerId, "containerId");
        call("unpause", containerId, () -> {
            try {
                quick.unpauseContainerCmd(containerId).exec();
            } catch (NotFoundException e) {
                throw new ContainerNotFoundException(containerId, e);
            } catch (DockerException e) {
                // Engine 20.10 answers 500 "Container … is not paused": what an unpause wants
                if (!engineMessage(e).contains("is not paused")) {
                    throw e;
                }
            }
            return null;
        });
    }

    @Override
    public void remove(String containerId, boolean force) {
        requireText(containerId, "containerId");
        call("remove", containerId, () -> {
            try {
                quick.removeContainerCmd(containerId).withForce(force).withRemoveVolumes(true).exec();
            } catch (NotFoundException e) {
                // already gone
            } catch (ConflictException e) {
                String msg = engineMessage(e);
                if (!msg.contains("already in progress")) {
                    throw new ContainerConflictException("cannot remove container " + containerId + ": " + msg, e);
                }
            }
            return null;
        });
    }

    @Override
    public Optional<ContainerState> inspect(String containerId) {
        requireText(containerId, "containerId");
        return call("inspect", containerId, () -> {
            try {
                return Optional.of(toState(quick.inspectContainerCmd(containerId).exec()));
            } catch (NotFoundException e) {
                return Optional.empty();
            }
        });
    }

    @Override
    public List<ContainerSummary> listManaged() {
        return call("list", "", () -> {
            List<Container> containers = quick.listContainersCmd()
                    .withShowAll(true)
                    .withLabelFilter(Map.of(PierLabels.MANAGED, "true"))
                    .exec();
            return containers.stream().map(DockerRuntime::toSummary).toList();
        });
    }

    @Override
    public String logs(String containerId, int tail) {
        requireText(containerId, "containerId");
        if (tail < 0) {
            throw new IllegalArgumentException("tail must not be negative");
        }
        return call("logs", containerId, () -> {
            LogCallback callback = new LogCallback();
            try {
                quick.logContainerCmd(containerId)
                        .withStdOut(true)
                        .withStdErr(true)
                        .withFollowStream(false)
                        .withTail(tail)
                        .exec(callback);
                callback.await();
            } catch (NotFoundException e) {
                throw new ContainerNotFoundException(containerId, e);
            }
            if (callback.failure instanceof NotFoundException e) {
                throw new ContainerNotFoundException(containerId, e);
            }
            if (callback.failure != null) {
                throw callback.failure;
            }
            return callback.text();
        });
    }

    @Override
    public Closeable events(Consumer<RuntimeEvent> consumer) {
        Objects.requireNonNull(consumer, "consumer");
        if (closed) {
            throw new IllegalStateException("the runtime is closed");
        }
        EventStream stream = new EventStream(slow, endpoint, consumer, streams::remove);
        streams.add(stream);
        stream.start();
        return stream;
    }

    @Override
    public void close() {
        closed = true;
        for (EventStream s : streams) {
            s.close();
        }
        closeQuietly(quick);
        closeQuietly(slow);
    }

    @Override
    public String toString() {
        return "DockerRuntime[" + endpoint.display() + "]";
    }

    // ---- translation between docker-java and Pier's terms

    /**
     * Runs one engine call and translates what docker-java throws. Bodies catch the engine answers that
     * mean something for their operation (404, 409, 304) themselves; everything else lands here.
     */
    private <T> T call(String operation, String target, Supplier<T> body) {
        try {
            return body.get();
        } catch (ContainerRuntimeException e) {
            throw e;
        } catch (DockerException e) {
            throw new RuntimeOperationException(describe(operation, target) + " failed: " + engineMessage(e), e);
        } catch (RuntimeException e) {
            IOException io = ioCause(e);
            if (io != null) {
                throw unavailable(io);
            }
            throw new RuntimeOperationException(describe(operation, target) + " failed: " + rootMessage(e), e);
        }
    }

    RuntimeUnavailableException unavailable(Throwable cause) {
        return new RuntimeUnavailableException("the Docker engine at " + endpoint.display() + " is unreachable: "
                + rootMessage(cause), cause);
    }

    private static String describe(String operation, String target) {
        return target.isEmpty() ? operation : operation + " " + target;
    }

    /** The first I/O failure in the cause chain: what a lost or refused connection looks like. */
    static IOException ioCause(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof IOException io) {
                return io;
            }
        }
        return null;
    }

    static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String msg = root.getMessage();
        return msg == null || msg.isBlank() ? root.getClass().getSimpleName() : msg;
    }

    /** The engine's own message from an error response ({@code {"message": "..."}}). */
    static String engineMessage(DockerException e) {
        String raw = Objects.requireNonNullElse(e.getMessage(), "");
        Matcher m = STATUS_PREFIX.matcher(raw.strip());
        String body = m.matches() ? m.group(2) : raw;
        try {
            JsonNode node = JSON.readTree(body);
            if (node != null && node.hasNonNull("message")) {
                return node.get("message").asText();
            }
        } catch (IOException notJson) {
            // fall through to the raw body
        }
        return body.strip();
    }

    private int graceSeconds(Duration grace) {
        Objects.requireNonNull(grace, "grace");
        if (grace.isNegative()) {
            throw new IllegalArgumentException("grace must not be negative");
        }
        if (grace.plus(STOP_MARGIN).compareTo(endpoint.longRequestTimeout()) > 0) {
            throw new IllegalArgumentException("grace " + grace + " does not fit the endpoint's long request timeout "
                    + endpoint.longRequestTimeout());
        }
        long ms = grace.toMillis();
        return (int) ((ms + 999) / 1000);
    }

    private static ContainerState toState(InspectContainerResponse r) {
        var s = r.getState();
        Map<String, String> labels = r.getConfig() == null || r.getConfig().getLabels() == null
                ? Map.of() : r.getConfig().getLabels();
        String image = r.getConfig() == null ? null : r.getConfig().getImage();
        Long exit = s == null ? null : s.getExitCodeLong();
        return new ContainerState(
                r.getId(),
                stripSlash(r.getName()),
                image,
                s == null ? ContainerStatus.UNKNOWN : ContainerStatus.parse(s.getStatus()),
                exit == null ? 0 : exit.intValue(),
                s != null && Boolean.TRUE.equals(s.getOOMKilled()),
                instant(s == null ? null : s.getStartedAt()),
                instant(s == null ? null : s.getFinishedAt()),
                s == null ? null : s.getError(),
                labels);
    }

    private static ContainerSummary toSummary(Container c) {
        String[] names = c.getNames();
        return new ContainerSummary(
                c.getId(),
                names == null || names.length == 0 ? "" : stripSlash(names[0]),
                c.getImage(),
                ContainerStatus.parse(c.getState()),
                c.getLabels() == null ? Map.of() : c.getLabels());
    }

    private static String stripSlash(String name) {
        return name != null && name.startsWith("/") ? name.substring(1) : name;
    }

    /** Docker's RFC 3339 times; its zero time (year 1) means "never". */
    private static Optional<Instant> instant(String text) {
        if (text == null || text.isBlank() || text.startsWith("0001-01-01")) {
            return Optional.empty();
        }
        try {
            return Optional.of(Instant.parse(text));
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }

    private static void requireText(String value, String what) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(what + " must not be blank");
        }
    }

    static void closeQuietly(Closeable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (IOException | RuntimeException e) {
            log.debug("closing {} failed", c, e);
        }
    }

    // ---- callbacks for the streamed calls

    /** Waits for a streamed call to end; keeps the first error. */
    private abstract static class Completion<T> implements ResultCallback<T> {
        private final CountDownLatch done = new CountDownLatch(1);
        private volatile Closeable stream;
        volatile RuntimeException failure;

        @Override
        public void onStart(Closeable closeable) {
            this.stream = closeable;
        }

        @Override
        public void onError(Throwable t) {
            if (failure == null) {
                failure = t instanceof RuntimeException r ? r : new RuntimeException(t);
            }
            done.countDown();
        }

        @Override
        public void onComplete() {
            done.countDown();
        }

        @Override
        public void close() {
            closeQuietly(stream);
            done.countDown();
        }

        void await() {
            try {
                // the HTTP client's response timeout bounds each read; this only waits for the stream to end
                done.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                close();
                throw new RuntimeOperationException("interrupted while waiting for the engine", e);
            }
        }
    }

    private static final class PullCallback extends Completion<PullResponseItem> {
        private final Consumer<String> progress;
        volatile String registryError;

        PullCallback(Consumer<String> progress) {
            this.progress = progress;
        }

        @Override
        public void onNext(PullResponseItem item) {
            if (item.getErrorDetail() != null) {
                registryError = Objects.requireNonNullElse(item.getErrorDetail().getMessage(), "registry error");
            } else if (item.getStatus() != null) {
                var detail = item.getProgressDetail();
                boolean sized = detail != null && detail.getTotal() != null && detail.getTotal() > 0
                        && detail.getCurrent() != null;
                String line = (item.getId() == null ? "" : item.getId() + ": ") + item.getStatus()
                        + (sized ? " " + detail.getCurrent() + "/" + detail.getTotal() : "");
                try {
                    progress.accept(line);
                } catch (RuntimeException e) {
                    log.debug("pull progress consumer failed", e);
                }
            }
        }
    }

    private static final class LogCallback extends Completion<Frame> {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        @Override
        public void onNext(Frame frame) {
            byte[] payload = frame.getPayload();
            if (payload == null) {
                return;
            }
            synchronized (out) {
                out.write(payload, 0, payload.length);
                if (out.size() > 2 * MAX_LOG_BYTES) {
                    // keep only what text() can return
                    byte[] all = out.toByteArray();
                    out.reset();
                    out.write(all, all.length - MAX_LOG_BYTES, MAX_LOG_BYTES);
                }
            }
        }

        String text() {
            byte[] bytes;
            synchronized (out) {
                bytes = out.toByteArray();
            }
            int from = Math.max(0, bytes.length - MAX_LOG_BYTES);
            return new String(bytes, from, bytes.length - from, StandardCharsets.UTF_8);
        }
    }
}
