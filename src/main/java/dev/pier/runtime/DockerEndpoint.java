package dev.pier.runtime;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Where a Docker engine listens and how to talk to it: a {@code unix://} socket or a {@code tcp://host:port}
 * address (HTTPS with client certificates when {@link #tls} is present), the deadline of each kind of call,
 * and the {@link EngineAddressPolicy} every connection is checked against.
 *
 * @param uri       {@code unix:///var/run/docker.sock} or {@code tcp://host:port}
 * @param tls       client certificates; TCP only
 * @param deadlines how long each kind of call may take, answer included
 * @param policy    which addresses may be connected to
 */
public record DockerEndpoint(URI uri, Optional<TlsMaterial> tls, Deadlines deadlines, EngineAddressPolicy policy) {

    public static final String DEFAULT_SOCKET = "unix:///var/run/docker.sock";

    /**
     * The deadline of each kind of engine call, from sending the request to the answer's last byte. A call
     * still running at its deadline is aborted and fails with {@link RuntimeUnavailableException}: no caller
     * (and no lock a caller holds) waits on an engine longer than this. The deadlines of ordinary calls leave
     * room for an engine that is busy (fifty containers starting at once take it many seconds); an engine
     * that has stopped answering is found by the ping within a few seconds, and then its calls in flight
     * are cut short at once ({@link ContainerRuntime#abortCalls}).
     *
     * @param connect    establishing a connection (and the TLS handshake): how long an unreachable node holds
     *                   a caller up
     * @param ping       {@code /_ping}: the node check runs it every few seconds, so that a hung engine is marked
     *                   offline within the check interval plus two of these (a ping out of time is asked once more at once)
     * @param read       calls that only read (inspect, list, logs), and the wait for an event stream's headers
     * @param write      calls that change something and should be quick (create, start, kill, remove)
     * @param stopMargin what a stop or a restart may take beyond the grace period it was given
     * @param pull       an image pull, which downloads: long, but finite
     */
    public record Deadlines(
            Duration connect, Duration ping, Duration read, Duration write, Duration stopMargin, Duration pull) {
        public static final Deadlines DEFAULT = new Deadlines(
                Duration.ofSeconds(2),
                Duration.ofSeconds(2),
                Duration.ofSeconds(15),
                Duration.ofSeconds(30),
                Duration.ofSeconds(15),
                Duration.ofMinutes(10));

        public Deadlines {
            positive(connect, "connect");
            positive(ping, "ping");
            positive(read, "read");
            positive(write, "write");
            positive(stopMargin, "stopMargin");
            positive(pull, "pull");
        }

        /** A stop or restart with this grace period: the grace plus the margin. */
        public Duration stop(Duration grace) {
            return grace.plus(stopMargin);
        }
    }

    public DockerEndpoint {
        Objects.requireNonNull(uri, "uri");
        Objects.requireNonNull(tls, "tls");
        Objects.requireNonNull(deadlines, "deadlines");
        Objects.requireNonNull(policy, "policy");
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        switch (scheme) {
            case "unix" -> {
                if (uri.getPath() == null || uri.getPath().isEmpty()) {
                    throw new IllegalArgumentException("a unix:// Docker address needs a socket path: " + uri);
                }
                if (tls.isPresent()) {
                    throw new IllegalArgumentException("TLS applies to tcp:// Docker addresses only: " + uri);
                }
            }
            case "tcp" -> {
                if (uri.getHost() == null || uri.getPort() < 1) {
                    throw new IllegalArgumentException("a tcp:// Docker address needs a host and a port: " + uri);
                }
            }
            default ->
                throw new IllegalArgumentException(
                        "a Docker address is unix:///path/to/docker.sock or tcp://host:port, not " + uri);
        }
    }

    /** The engine on the local default socket (node {@code local} of a fresh install). */
    public static DockerEndpoint local() {
        return parse(DEFAULT_SOCKET);
    }

    /**
     * Parses {@code unix:///path} or {@code tcp://host:port}, with the default deadlines, no TLS, and the
     * {@link EngineAddressPolicy#OPEN open} policy (a server applies its own with {@link #withPolicy}).
     */
    public static DockerEndpoint parse(String address) {
        Objects.requireNonNull(address, "address");
        URI uri;
        try {
            uri = URI.create(address.strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not a Docker address: " + address, e);
        }
        return new DockerEndpoint(uri, Optional.empty(), Deadlines.DEFAULT, EngineAddressPolicy.OPEN);
    }

    public static DockerEndpoint unix(Path socket) {
        return parse("unix://" + socket.toAbsolutePath());
    }

    public static DockerEndpoint tcp(String host, int port) {
        String h = host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
        return parse("tcp://" + h + ":" + port);
    }

    public DockerEndpoint withTls(TlsMaterial material) {
        return new DockerEndpoint(uri, Optional.of(material), deadlines, policy);
    }

    public DockerEndpoint withDeadlines(Deadlines d) {
        return new DockerEndpoint(uri, tls, d, policy);
    }

    public DockerEndpoint withPolicy(EngineAddressPolicy p) {
        return new DockerEndpoint(uri, tls, deadlines, p);
    }

    public Duration connectTimeout() {
        return deadlines.connect();
    }

    public boolean isUnixSocket() {
        return "unix".equalsIgnoreCase(uri.getScheme());
    }

    /** For messages: the address, and whether TLS is used. */
    public String display() {
        return uri + (tls.isPresent() ? " (TLS)" : "");
    }

    @Override
    public String toString() {
        return "DockerEndpoint[" + display() + "]";
    }

    private static void positive(Duration d, String what) {
        Objects.requireNonNull(d, what);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(what + " must be positive");
        }
    }
}
