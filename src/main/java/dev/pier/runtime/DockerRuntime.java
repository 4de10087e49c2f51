package dev.pier.runtime;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.CreateContainerCmd;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.command.InspectVolumeResponse;
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
import com.github.dockerjava.api.model.Mount;
import com.github.dockerjava.api.model.MountType;
import com.github.dockerjava.api.model.Ports;
import com.github.dockerjava.api.model.PullResponseItem;
import com.github.dockerjava.api.model.RestartPolicy;
import com.github.dockerjava.api.model.VolumeOptions;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.transport.DockerHttpClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLException;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.URLEncoder;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@link ContainerRuntime} on a Docker engine, through docker-java over Pier's own transport
 * ({@link JettyDockerHttpClient}): every call has a deadline chosen by what it is (see
 * {@link DockerEndpoint.Deadlines}), on a unix socket as on TCP, and answers are size-limited; a call past
 * its deadline fails with {@link RuntimeUnavailableException}. Log reads and stats go through the transport
 * as Pier's own requests, parsed here as they stream ({@link DockerLogReader}, {@link DockerStats}); an
 * attachment is a connection the engine takes over ({@link JettyDockerHttpClient#hijack},
 * {@link DockerAttachment}), closed with the runtime.
 *
 * <p>Every container gets the same hardened host configuration: memory limit with no extra swap, NanoCPUs,
 * a pids limit, Docker's init as PID 1 (so SIGTERM reaches the process and stops are prompt),
 * {@code no-new-privileges}, all capabilities dropped, not privileged, no binds or devices and no mount but
 * the instance's own named volume ({@link ContainerSpec#volume}), the
 * default bridge network, restart policy {@code no} (Pier decides about restarts), no terminal (so its
 * output stays two streams), and a json-file log of {@value #LOG_FILES} rotated files holding
 * {@link ContainerSpec#logMaxBytes} between them, so {@link #logs} and {@link #readLogs} work and a chatty
 * container cannot fill the disk. Its stdin is open (and stays open between attachments) only when the
 * spec asks for one.
 *
 * <p>Messages of the exceptions are in Pier's words: what the engine answered goes to the server log, never
 * into a message (messages reach API clients). An engine that breaks the protocol (a redirect, an answer
 * over the limits, something that is not Docker's JSON or stream format) fails its {@link #ping} for
 * {@link #QUARANTINE} afterwards, so the node check marks the node offline with the reason even when the
 * misbehaviour was in a stream, which no caller waits on.
 */
public final class DockerRuntime implements ContainerRuntime {
    private static final Logger log = LoggerFactory.getLogger(DockerRuntime.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern STATUS_PREFIX = Pattern.compile("^Status (\\d+): (.*)$", Pattern.DOTALL);
    static final int MAX_LOG_BYTES = 1 << 20;
    /** How many files the engine keeps a container's output in ({@link ContainerSpec#logMaxBytes} over them). */
    static final int LOG_FILES = 3;
    /** The longest grace period a stop may be given (its deadline is the grace plus a margin). */
    static final Duration MAX_GRACE = Duration.ofMinutes(10);
    /** How long a node that broke the protocol fails its pings. */
    static final Duration QUARANTINE = Duration.ofSeconds(30);
    /** How Docker reports a host port in use: "Bind for 0.0.0.0:N failed: port is already allocated", "…:N: bind: address already in use". */
    private static final Pattern PORT_TAKEN =
            Pattern.compile("[:\\]](\\d{1,5})(?: failed: port is already allocated|: bind: address already in use)");

    /** The memory of a helper container: enough for tar and gzip, nothing to spare. */
    private static final long HELPER_MEMORY = 128L << 20;

    private final DockerEndpoint endpoint;
    private final JettyDockerHttpClient http;
    private final DockerClient docker;
    private final Set<EventStream> streams = ConcurrentHashMap.newKeySet();
    private final Set<DockerAttachment> attachments = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;
    private volatile Quarantine quarantine;

    private record Quarantine(String reason, long untilNanos) {}

    private DockerRuntime(DockerEndpoint endpoint) {
        this.endpoint = endpoint;
        this.http = new JettyDockerHttpClient(endpoint, this::misbehaved);
        // a config built from scratch, so DOCKER_* variables and ~/.docker never redirect Pier's nodes; TLS is
        // the transport's business, the config's own TLS settings would want certificate files
        var config = new DefaultDockerClientConfig.Builder()
                .withDockerHost(endpoint.uri().toString())
                .withDockerTlsVerify(false)
                .build();
        this.docker = DockerClientImpl.getInstance(config, http);
    }

    /** Builds a runtime for the endpoint. Does not contact the engine; {@link #ping()} does. */
    public static DockerRuntime connect(DockerEndpoint endpoint) {
        return new DockerRuntime(Objects.requireNonNull(endpoint, "endpoint"));
    }

    public DockerEndpoint endpoint() {
        return endpoint;
    }

    @Override
    public void abortCalls(String why) {
        http.abortCalls(why);
    }

    @Override
    public void ping() {
        Quarantine q = quarantine;
        if (q != null && q.untilNanos() - System.nanoTime() > 0) {
            throw new RuntimeUnavailableException(prefix() + q.reason());
        }
        try {
            call("ping", "", () -> {
                var request = DockerHttpClient.Request.builder()
                        .method(DockerHttpClient.Request.Method.GET)
                        .path("/_ping")
                        .build();
                try (DockerHttpClient.Response r = http.execute(request);
                        InputStream body = r.getBody()) {
                    byte[] answer = body.readNBytes(64);
                    if (r.getStatusCode() != 200
                            || !new String(answer, StandardCharsets.US_ASCII)
                                    .strip()
                                    .equals("OK")) {
                        throw new UncheckedIOException(misbehaved(new EngineAnswerException(
                                EngineAnswerException.Kind.NOT_DOCKER, "its answer to a ping is not Docker's")));
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                return null;
            });
        } catch (RuntimeUnavailableException e) {
            for (EventStream s : streams) {
                s.reconnect();
            }
            throw e;
        }
    }

    @Override
    public boolean imageExists(String imageRef) {
        requireText(imageRef, "imageRef");
        return call("inspect image", imageRef, () -> {
            try {
                docker.inspectImageCmd(imageRef).exec();
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
        ImageReference ref;
        try {
            ref = ImageReference.parse(imageRef);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("imageRef: " + e.getMessage(), e);
        }
        String repository = ref.name();
        // without a tag the engine would pull every tag of the repository; a digest wins over a tag
        String tag = ref.digest().orElse(ref.tag().orElse("latest"));
        call("pull", imageRef, () -> {
            PullCallback callback = new PullCallback(progress);
            try {
                docker.pullImageCmd(repository).withTag(tag).exec(callback);
                callback.await(endpoint.deadlines().pull());
            } catch (NotFoundException e) {
                logAnswer("pull", imageRef, e.getHttpStatus(), engineMessage(e));
                throw new ImageNotFoundException(imageRef, "not in its registry", e);
            }
            if (callback.failure instanceof NotFoundException e) {
                logAnswer("pull", imageRef, e.getHttpStatus(), engineMessage(e));
                throw new ImageNotFoundException(imageRef, "not in its registry", e);
            }
            if (callback.failure != null) {
                throw callback.failure;
            }
            if (callback.registryError != null) {
                String msg = callback.registryError;
                logAnswer("pull", imageRef, 200, msg);
                if (msg.contains("not found") || msg.contains("does not exist") || msg.contains("manifest unknown")) {
                    throw new ImageNotFoundException(
                            imageRef, "not in its registry, or the registry wants a login", null);
                }
                throw new RuntimeOperationException(
                        "pulling " + imageRef + " failed: the registry could not be " + "reached or refused the pull");
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
            ExposedPort port = new ExposedPort(
                    p.containerPort(), InternetProtocol.parse(p.protocol().lowerCase()));
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
                .withLogConfig(new LogConfig(
                        LogConfig.LoggingType.JSON_FILE,
                        Map.of("max-size", logFileSize(spec.logMaxBytes()), "max-file", Integer.toString(LOG_FILES))));
        spec.volume()
                .ifPresent(v -> host.withMounts(List.of(new Mount()
                        .withType(MountType.VOLUME)
                        .withSource(v.volume())
                        .withTarget(v.target())
                        .withReadOnly(false)
                        // should the volume be gone by now, the engine makes it again: with Pier's labels, not without
                        .withVolumeOptions(new VolumeOptions().withLabels(spec.allLabels())))));
        List<String> env = spec.env().entrySet().stream()
                .map(e -> e.getKey() + "=" + e.getValue())
                .toList();

        return call("create", spec.name(), () -> {
            try (CreateContainerCmd cmd = docker.createContainerCmd(spec.image())) {
                cmd.withName(spec.name())
                        .withLabels(spec.allLabels())
                        .withEnv(env)
                        .withExposedPorts(exposed)
                        .withHostConfig(host)
                        // no terminal: output stays two streams, multiplexed; a stdin stays open across attachments
                        .withTty(false)
                        .withStdinOpen(spec.stdin())
                        .withStdInOnce(false);
                if (!spec.command().isEmpty()) {
                    cmd.withCmd(spec.command());
                }
                return cmd.exec().getId();
            } catch (NotFoundException e) {
                logAnswer("create", spec.name(), e.getHttpStatus(), engineMessage(e));
                throw new ImageNotFoundException(spec.image(), "not on the node", e);
            } catch (ConflictException e) {
                logAnswer("create", spec.name(), e.getHttpStatus(), engineMessage(e));
                throw new ContainerConflictException("a container named " + spec.name() + " already exists", e);
            }
        });
    }

    @Override
    public void start(String containerId) {
        requireText(containerId, "containerId");
        call("start", containerId, () -> {
            try {
                docker.startContainerCmd(containerId).exec();
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
                docker.stopContainerCmd(containerId).withTimeout(seconds).exec();
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
                docker.killContainerCmd(containerId).exec();
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
                docker.restartContainerCmd(containerId).withTimeout(seconds).exec();
            } catch (NotFoundException e) {
                throw new ContainerNotFoundException(containerId, e);
            }
            return null;
        });
    }

    @Override
    public void pause(String containerId) {
        requireText(containerId, "containerId");
        call("pause", containerId, () -> {
            try {
                docker.pauseContainerCmd(containerId).exec();
            } catch (NotFoundException e) {
                throw new ContainerNotFoundException(containerId, e);
            } catch (ConflictException e) {
                // "is not running" or "is already paused": nothing to freeze
            }
            return null;
        });
    }

    @Override
    public void unpause(String containerId) {
        requireText(containerId, "containerId");
        call("unpause", containerId, () -> {
            try {
                docker.unpauseContainerCmd(containerId).exec();
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
                docker.removeContainerCmd(containerId)
                        .withForce(force)
                        .withRemoveVolumes(true)
                        .exec();
            } catch (NotFoundException e) {
                // already gone
            } catch (ConflictException e) {
                String msg = engineMessage(e);
                if (!msg.contains("already in progress")) {
                    logAnswer("remove", containerId, e.getHttpStatus(), msg);
                    throw new ContainerConflictException(
                            "container " + containerId + " cannot be removed now " + "(it is running, or busy)", e);
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
                return Optional.of(
                        toState(docker.inspectContainerCmd(containerId).exec()));
            } catch (NotFoundException e) {
                return Optional.empty();
            }
        });
    }

    @Override
    public List<ContainerSummary> listManaged() {
        return call("list", "", () -> {
            List<Container> containers = docker.listContainersCmd()
                    .withShowAll(true)
                    .withLabelFilter(Map.of(PierLabels.MANAGED, "true"))
                    .exec();
            return containers.stream().map(DockerRuntime::toSummary).toList();
        });
    }

    @Override
    public void createVolume(String name, Map<String, String> labels) {
        requireText(name, "name");
        Objects.requireNonNull(labels, "labels");
        call(
                "create volume",
                name,
                () -> docker.createVolumeCmd()
                        .withName(name)
                        .withDriver("local")
                        .withLabels(labels)
                        .exec());
    }

    @Override
    public void removeVolume(String name) {
        requireText(name, "name");
        call("remove volume", name, () -> {
            for (int attempt = 1; ; attempt++) {
                try {
                    docker.removeVolumeCmd(name).exec();
                    return null;
                } catch (NotFoundException e) {
                    return null; // already gone
                } catch (ConflictException e) {
                    // helpers are throwaway: one kept up for quick file operations does not keep a volume
                    List<Container> helpers = docker.listContainersCmd()
                            .withShowAll(true)
                            .withLabelFilter(Map.of(PierLabels.HELPER, "true"))
                            .withVolumeFilter(List.of(name))
                            .exec();
                    if (attempt > 1 || helpers.isEmpty()) {
                        logAnswer("remove volume", name, e.getHttpStatus(), engineMessage(e));
                        throw new ContainerConflictException("volume " + name + " is in use by a container", e);
                    }
                    for (Container h : helpers) {
                        remove(h.getId(), true);
                    }
                }
            }
        });
    }

    @Override
    public Map<String, Long> volumeSizes() {
        return call("measure volumes", "", () -> {
            try (DockerHttpClient.Response r = get("/system/df?type=volume")) {
                expectOk(r, "measure", "its volumes");
                JsonNode answer;
                try (InputStream body = r.getBody()) {
                    answer = JSON.readTree(body);
                }
                Map<String, Long> sizes = new HashMap<>();
                for (JsonNode v : answer.path("Volumes")) {
                    long size = v.path("UsageData").path("Size").asLong(-1);
                    if (v.hasNonNull("Name") && size >= 0) {
                        sizes.put(v.get("Name").asText(), size);
                    }
                }
                return sizes;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    @Override
    public List<VolumeSummary> listManagedVolumes() {
        return call("list volumes", "", () -> {
            List<InspectVolumeResponse> volumes = docker.listVolumesCmd()
                    .withFilter("label", List.of(PierLabels.MANAGED + "=true"))
                    .exec()
                    .getVolumes();
            return volumes == null
                    ? List.<VolumeSummary>of()
                    : volumes.stream()
                            .map(v -> new VolumeSummary(v.getName(), v.getLabels()))
                            .toList();
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
                docker.logContainerCmd(containerId)
                        .withStdOut(true)
                        .withStdErr(true)
                        .withFollowStream(false)
                        .withTail(tail)
                        .exec(callback);
                callback.await(endpoint.deadlines().read());
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
    public LogReader readLogs(String containerId, LogRequest request) {
        requireText(containerId, "containerId");
        Objects.requireNonNull(request, "request");
        int tail = request.tail().orElse(-1);
        // the engine's until is inclusive; Pier's is not
        Optional<Instant> through = request.until().map(u -> u.minusNanos(1));
        if (tail > 0 && through.isPresent()) {
            // the engine takes the last lines of the whole log before it applies until: count the lines
            // before until, then read them again and keep the last ones
            LogReader counting = openLogs(containerId, request, through, -1);
            return new DockerLogReader.LastLines(
                    counting, tail, last -> openLogs(containerId, request, Optional.of(last), -1));
        }
        return openLogs(containerId, request, through, tail);
    }

    /** Opens a log read; {@code through} is the engine's (inclusive) until, {@code tail} -1 for all. */
    private LogReader openLogs(String containerId, LogRequest request, Optional<Instant> through, int tail) {
        if (through.isPresent() && !through.get().isAfter(Instant.EPOCH)) {
            // nothing is that old; the engine reads an until of 0 as none, so ask for no lines instead
            through = Optional.empty();
            tail = 0;
        }
        StringBuilder query = new StringBuilder()
                .append("stdout=")
                .append(request.stdout() ? 1 : 0)
                .append("&stderr=")
                .append(request.stderr() ? 1 : 0)
                .append("&timestamps=1&follow=")
                .append(request.follow() ? 1 : 0);
        request.since()
                .filter(t -> t.isAfter(Instant.EPOCH))
                .ifPresent(t -> query.append("&since=").append(dockerTime(t)));
        through.ifPresent(t -> query.append("&until=").append(dockerTime(t)));
        query.append("&tail=").append(tail < 0 ? "all" : Integer.toString(tail));
        String path = "/containers/" + pathSegment(containerId) + "/logs?" + query;
        return call("read logs", containerId, () -> {
            DockerHttpClient.Response r = get(path);
            try {
                expectOk(r, "read the log of", containerId);
            } catch (RuntimeException e) {
                closeQuietly(r);
                throw e;
            }
            return new DockerLogReader(this, containerId, r);
        });
    }

    @Override
    public StatsReader readStats(String containerId) {
        requireText(containerId, "containerId");
        String path = "/containers/" + pathSegment(containerId) + "/stats?stream=1";
        return call("read stats", containerId, () -> {
            DockerHttpClient.Response r = get(path);
            try {
                expectOk(r, "read the stats of", containerId);
            } catch (RuntimeException e) {
                closeQuietly(r);
                throw e;
            }
            return new DockerStats.Reader(this, containerId, r);
        });
    }

    @Override
    public StatsSample statsOnce(String containerId, StatsSample earlier) {
        requireText(containerId, "containerId");
        StatsSample.CpuCounters since = earlier == null ? null : earlier.counters();
        // one-shot (API 1.41) skips the engine's second sample; an older engine ignores it and samples twice
        String path =
                "/containers/" + pathSegment(containerId) + "/stats?stream=0" + (since != null ? "&one-shot=1" : "");
        return call("read stats", containerId, () -> {
            try (DockerHttpClient.Response r = get(path)) {
                expectOk(r, "read the stats of", containerId);
                JsonNode answer;
                try (InputStream body = r.getBody()) {
                    answer = JSON.readTree(body);
                }
                StatsSample sample = DockerStats.sample(answer, since);
                // a container that is not running: the engine has no data, which is no use
                return sample != null ? sample : DockerStats.idle(Instant.now());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    @Override
    public Attachment attach(String containerId) {
        requireText(containerId, "containerId");
        if (closed) {
            throw new IllegalStateException("the runtime is closed");
        }
        DockerAttachment attachment = call("attach", containerId, () -> {
            InspectContainerResponse c;
            try {
                c = docker.inspectContainerCmd(containerId).exec();
            } catch (NotFoundException e) {
                throw new ContainerNotFoundException(containerId, e);
            }
            // the engine would accept an attach to a stopped container and wait for its next start
            var state = c.getState();
            if (state == null || !Boolean.TRUE.equals(state.getRunning())) {
                throw new RuntimeOperationException("container " + containerId + " is not running");
            }
            if (Boolean.TRUE.equals(state.getPaused())) {
                throw new RuntimeOperationException("container " + containerId + " is paused");
            }
            boolean stdin =
                    c.getConfig() != null && Boolean.TRUE.equals(c.getConfig().getStdinOpen());
            boolean tty =
                    c.getConfig() != null && Boolean.TRUE.equals(c.getConfig().getTty());
            return hijackAttach(c.getId(), stdin, tty, attachments::remove);
        });
        return registered(attachment);
    }

    /** Takes a connection over for an attach to the container's main process (running or about to start). */
    private DockerAttachment hijackAttach(
            String containerId, boolean stdin, boolean tty, Consumer<DockerAttachment> onClose) {
        String path = "/containers/" + pathSegment(containerId) + "/attach?stream=1&stdin=" + (stdin ? 1 : 0)
                + "&stdout=1&stderr=1";
        JettyDockerHttpClient.Hijacked h = http.hijack(path);
        if (!h.upgraded()) {
            if (h.status() == 404) {
                throw new ContainerNotFoundException(containerId);
            }
            logAnswer("attach", containerId, h.status(), answerMessage(h.refusal()));
            if (h.status() == 409) {
                throw new RuntimeOperationException("container " + containerId
                        + " cannot be attached to now (it is paused, restarting " + "or stopping)");
            }
            throw new RuntimeOperationException("the node refused to attach to " + containerId + " (HTTP " + h.status()
                    + "); the server log has its answer");
        }
        return new DockerAttachment(this, containerId, h, stdin, tty, onClose);
    }

    private DockerAttachment registered(DockerAttachment attachment) {
        attachments.add(attachment);
        if (closed) {
            attachment.close();
            throw new IllegalStateException("the runtime is closed");
        }
        return attachment;
    }

    @Override
    public Attachment runHelper(HelperSpec spec) {
        String id = createHelper(spec);
        DockerAttachment attachment;
        try {
            // a helper whose attachment closes has no more use: gone (with its command, if that still runs)
            attachment = call(
                    "attach to helper",
                    id,
                    () -> hijackAttach(id, spec.stdin(), false, a -> {
                        attachments.remove(a);
                        Thread.ofVirtual().name("pier-helper-remove").start(() -> removeQuietly(id));
                    }));
            start(id);
        } catch (RuntimeException e) {
            removeQuietly(id);
            throw e;
        }
        return registered(attachment);
    }

    @Override
    public String startHelper(HelperSpec spec) {
        String id = createHelper(spec);
        try {
            start(id);
        } catch (RuntimeException e) {
            removeQuietly(id);
            throw e;
        }
        return id;
    }

    @Override
    public Attachment execInHelper(String containerId, List<String> command) {
        requireText(containerId, "containerId");
        DockerAttachment attachment = call("run in helper", containerId, () -> {
            String exec;
            try {
                exec = docker.execCreateCmd(containerId)
                        .withCmd(command.toArray(String[]::new))
                        .withUser("0:0")
                        .withAttachStdin(false)
                        .withAttachStdout(true)
                        .withAttachStderr(true)
                        .withTty(false)
                        .exec()
                        .getId();
            } catch (NotFoundException e) {
                throw new ContainerNotFoundException(containerId, e);
            } catch (ConflictException e) {
                throw new RuntimeOperationException("helper " + containerId + " is not running", e);
            }
            JettyDockerHttpClient.Hijacked h = http.hijack(
                    "/exec/" + pathSegment(exec) + "/start",
                    "{\"Detach\":false,\"Tty\":false}".getBytes(StandardCharsets.US_ASCII));
            if (!h.upgraded()) {
                logAnswer("run in helper", containerId, h.status(), answerMessage(h.refusal()));
                if (h.status() == 404) {
                    throw new ContainerNotFoundException(containerId);
                }
                throw new RuntimeOperationException("the node refused to run a command in helper " + containerId
                        + " (HTTP " + h.status() + "); the server log has its answer");
            }
            return new DockerAttachment(this, containerId, h, false, false, attachments::remove);
        });
        return registered(attachment);
    }

    /** Creates (does not start) a helper container: see {@link ContainerRuntime#runHelper}. */
    private String createHelper(HelperSpec spec) {
        Objects.requireNonNull(spec, "spec");
        Map<String, String> labels = new LinkedHashMap<>(spec.labels());
        labels.put(PierLabels.HELPER, "true");
        HostConfig host = HostConfig.newHostConfig()
                .withMemory(HELPER_MEMORY)
                .withMemorySwap(HELPER_MEMORY)
                .withPidsLimit(64L)
                .withInit(true)
                .withSecurityOpts(List.of("no-new-privileges"))
                .withCapDrop(Capability.ALL)
                // root in the helper reads and writes the files of every owner in the volume, and keeps their
                // owners and modes when it writes them back; nothing else
                .withCapAdd(Capability.CHOWN, Capability.DAC_OVERRIDE, Capability.FOWNER)
                .withPrivileged(false)
                .withReadonlyRootfs(true)
                .withNetworkMode("none")
                .withRestartPolicy(RestartPolicy.noRestart())
                .withAutoRemove(true)
                // what it prints is a file or an archive on its way to Pier: never kept in a log on the node
                .withLogConfig(new LogConfig(LogConfig.LoggingType.NONE, Map.of()))
                .withMounts(List.of(new Mount()
                        .withType(MountType.VOLUME)
                        .withSource(spec.volume())
                        .withTarget(HelperSpec.MOUNT)
                        .withReadOnly(false)));
        String name = "pier-helper-" + UUID.randomUUID();
        String id = call("create helper", spec.volume(), () -> {
            try (CreateContainerCmd cmd = docker.createContainerCmd(spec.image())) {
                cmd.withName(name)
                        .withLabels(labels)
                        .withHostConfig(host)
                        .withEntrypoint(spec.command())
                        .withWorkingDir(HelperSpec.MOUNT)
                        .withUser("0:0")
                        .withTty(false)
                        .withAttachStdin(spec.stdin())
                        .withAttachStdout(true)
                        .withAttachStderr(true)
                        .withStdinOpen(spec.stdin())
                        // the process's stdin closes when Pier's attachment says the input ended
                        .withStdInOnce(spec.stdin());
                return cmd.exec().getId();
            } catch (NotFoundException e) {
                logAnswer("create helper", spec.volume(), e.getHttpStatus(), engineMessage(e));
                throw new ImageNotFoundException(spec.image(), "not on the node", e);
            }
        });
        return id;
    }

    /** Removes a container, whatever its state, for a failure path; a failure to do so is only logged. */
    private void removeQuietly(String containerId) {
        try {
            remove(containerId, true);
        } catch (RuntimeException e) {
            log.warn("could not remove container {} on {}: {}", containerId, endpoint.display(), e.getMessage());
        }
    }

    /** A GET of Pier's own through the transport (its deadline and limits chosen by the path). */
    private DockerHttpClient.Response get(String path) {
        return http.execute(DockerHttpClient.Request.builder()
                .method(DockerHttpClient.Request.Method.GET)
                .path(path)
                .build());
    }

    /**
     * Lets a 200 through; a 404 is a missing container; anything else is the engine refusing, in Pier's
     * words (its answer to the server log).
     */
    private void expectOk(DockerHttpClient.Response r, String what, String containerId) {
        int status = r.getStatusCode();
        if (status == 200) {
            return;
        }
        if (status == 404) {
            throw new ContainerNotFoundException(containerId);
        }
        String answer;
        try (InputStream body = r.getBody()) {
            answer = answerMessage(new String(body.readNBytes(64 * 1024), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String operation = what + " " + containerId;
        logAnswer(operation, "", status, answer);
        throw new RuntimeOperationException(
                "the node refused to " + operation + " (HTTP " + status + "); the server log has its answer");
    }

    /** The engine reported, inside a stream, that it failed: its words to the server log, Pier's to the caller. */
    RuntimeOperationException streamFailed(String what, String containerId, byte[] engineText) {
        String operation = what + " " + containerId;
        log.warn(
                "{} on {}: the engine failed: {}",
                operation,
                endpoint.display(),
                printable(new String(engineText, StandardCharsets.UTF_8), 512));
        return new RuntimeOperationException(
                "the node failed to " + operation + " part way through; the server log has its answer");
    }

    /** The {@code message} of the engine's JSON error, or its text as it is. */
    private static String answerMessage(String body) {
        try {
            JsonNode node = JSON.readTree(body);
            if (node != null && node.hasNonNull("message")) {
                return node.get("message").asText();
            }
        } catch (IOException notJson) {
            // the raw text, then
        }
        return body.strip();
    }

    /** Docker's {@code since}/{@code until}: seconds since the epoch with a nine-digit fraction. */
    static String dockerTime(Instant t) {
        return t.getEpochSecond() + "." + String.format(Locale.ROOT, "%09d", t.getNano());
    }

    /** An id or name as one segment of a request path. */
    private static String pathSegment(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    @Override
    public Closeable events(Consumer<RuntimeEvent> consumer) {
        Objects.requireNonNull(consumer, "consumer");
        if (closed) {
            throw new IllegalStateException("the runtime is closed");
        }
        EventStream stream = new EventStream(docker, endpoint, consumer, streams::remove, this::streamFailed);
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
        for (DockerAttachment a : attachments) {
            a.close();
        }
        closeQuietly(docker);
        http.close();
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
            throw refused(operation, target, e);
        } catch (RuntimeException e) {
            IOException io = ioCause(e);
            if (io != null) {
                throw unavailable(io);
            }
            log.warn("{} on {} failed", describe(operation, target), endpoint.display(), e);
            throw new RuntimeOperationException(
                    describe(operation, target) + " failed inside Pier; see the server log", e);
        }
    }

    /** The engine said no: in Pier's words for the caller, in the engine's own for the log. */
    private RuntimeOperationException refused(String operation, String target, DockerException e) {
        String answer = engineMessage(e);
        logAnswer(operation, target, e.getHttpStatus(), answer);
        Matcher port = PORT_TAKEN.matcher(answer);
        if (port.find()) {
            return RuntimeOperationException.hostPortTaken(Integer.parseInt(port.group(1)), e);
        }
        if (answer.contains("executable file not found") || answer.contains("exec format error")) {
            return new RuntimeOperationException(
                    "the node cannot run the container's command (it is not an " + "executable in the image)", e);
        }
        return new RuntimeOperationException(
                "the node refused to " + describe(operation, target) + " (HTTP " + e.getHttpStatus()
                        + "); the server log has its answer",
                e);
    }

    private void logAnswer(String operation, String target, int status, String answer) {
        log.warn(
                "{} on {}: the engine answered HTTP {}: {}",
                describe(operation, target),
                endpoint.display(),
                status,
                printable(answer, 512));
    }

    RuntimeUnavailableException unavailable(Throwable cause) {
        if (misbehaviour(cause) instanceof EngineAnswerException e && e.misbehaved()) {
            misbehaved(e);
        } else if (misbehaviour(cause) instanceof JsonProcessingException) {
            misbehaved(new EngineAnswerException(
                    EngineAnswerException.Kind.NOT_DOCKER, "its answer is not the Docker API's JSON"));
        }
        log.debug("{} is unreachable", endpoint.display(), cause);
        return new RuntimeUnavailableException(prefix() + reason(cause), cause);
    }

    private String prefix() {
        return "the Docker engine at " + endpoint.display() + " is unreachable: ";
    }

    /**
     * Why a connection or an answer failed, in Pier's words: never the text of what the engine sent (a
     * parser's message quotes it), only what kind of failure it was.
     */
    static String reason(Throwable t) {
        Throwable m = misbehaviour(t);
        if (m instanceof EngineAnswerException e) {
            return e.getMessage();
        }
        if (m instanceof JsonProcessingException) {
            return "its answer is not the Docker API's JSON";
        }
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof ConnectException) {
                return "the connection was refused";
            }
            if (c instanceof NoSuchFileException) {
                return "there is no socket at that path";
            }
            if (c instanceof UnknownHostException) {
                return "its name does not resolve";
            }
            if (c instanceof SSLException) {
                return "the TLS handshake failed (a certificate is not trusted)";
            }
            if (c instanceof java.util.concurrent.TimeoutException || c instanceof java.net.SocketTimeoutException) {
                return "it did not answer in time";
            }
        }
        String root = rootMessage(t);
        if (root.contains("No such file or directory")) {
            return "there is no socket at that path";
        }
        if (root.contains("Connection refused")) {
            return "the connection was refused";
        }
        if (root.contains("Permission denied")) {
            return "Pier may not open its socket (permission denied)";
        }
        if (root.contains("Connection reset") || root.contains("Broken pipe") || t instanceof java.io.EOFException) {
            return "it closed the connection";
        }
        return "the connection failed (" + rootType(t) + ")";
    }

    /** The first {@link EngineAnswerException} or parser failure in a cause chain, if any. */
    static Throwable misbehaviour(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof EngineAnswerException || c instanceof JsonProcessingException) {
                return c;
            }
        }
        return null;
    }

    /** An engine that broke the protocol fails its pings for a while, with the reason. */
    EngineAnswerException misbehaved(EngineAnswerException e) {
        if (e.misbehaved()) {
            Quarantine q = quarantine;
            if (q == null || q.untilNanos() - System.nanoTime() <= 0) {
                log.warn("the Docker engine at {} misbehaved: {}", endpoint.display(), e.getMessage());
            }
            quarantine = new Quarantine(e.getMessage(), System.nanoTime() + QUARANTINE.toNanos());
        }
        return e;
    }

    /** An event stream ended with an error: a protocol breach counts as it does for a call. */
    private void streamFailed(Throwable error) {
        Throwable m = misbehaviour(error);
        if (m instanceof EngineAnswerException e) {
            misbehaved(e);
        } else if (m instanceof JsonProcessingException) {
            misbehaved(new EngineAnswerException(
                    EngineAnswerException.Kind.NOT_DOCKER, "its event stream is not the Docker API's JSON"));
        }
    }

    private static String rootType(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getClass().getSimpleName();
    }

    /** At most {@code max} characters, control characters replaced: engine text goes into one log line. */
    static String printable(String s, int max) {
        String cut = s.length() > max ? s.substring(0, max) + "…" : s;
        StringBuilder b = new StringBuilder(cut.length());
        cut.codePoints().forEach(c -> b.appendCodePoint(Character.isISOControl(c) ? '?' : c));
        return b.toString();
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

    /** Docker's json-file {@code max-size} for one of the {@value #LOG_FILES} files: a third of the whole. */
    static String logFileSize(long logMaxBytes) {
        long perFile = logMaxBytes / LOG_FILES;
        if (perFile % (1024 * 1024) == 0) {
            return perFile / (1024 * 1024) + "m";
        }
        if (perFile % 1024 == 0) {
            return perFile / 1024 + "k";
        }
        return Long.toString(perFile);
    }

    private int graceSeconds(Duration grace) {
        Objects.requireNonNull(grace, "grace");
        if (grace.isNegative()) {
            throw new IllegalArgumentException("grace must not be negative");
        }
        if (grace.compareTo(MAX_GRACE) > 0) {
            throw new IllegalArgumentException("grace must be at most " + MAX_GRACE);
        }
        long ms = grace.toMillis();
        return (int) ((ms + 999) / 1000);
    }

    private static ContainerState toState(InspectContainerResponse r) {
        var s = r.getState();
        Map<String, String> labels = r.getConfig() == null || r.getConfig().getLabels() == null
                ? Map.of()
                : r.getConfig().getLabels();
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

        /** Waits for the end; the transport's deadline ends the call in time, this only backs it up. */
        void await(Duration deadline) {
            try {
                if (!done.await(deadline.toMillis() + 2000, TimeUnit.MILLISECONDS)) {
                    close();
                    throw new UncheckedIOException(JettyDockerHttpClient.deadline(deadline, null));
                }
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
                boolean sized = detail != null
                        && detail.getTotal() != null
                        && detail.getTotal() > 0
                        && detail.getCurrent() != null;
                String line = (item.getId() == null ? "" : item.getId() + ": ")
                        + item.getStatus()
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
