package dev.pier.runtime;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Where a Docker engine listens and how to talk to it: a {@code unix://} socket or a {@code tcp://host:port}
 * address (HTTPS with client certificates when {@link #tls} is present), and the timeouts.
 *
 * @param uri                {@code unix:///var/run/docker.sock} or {@code tcp://host:port}
 * @param tls                client certificates; TCP only
 * @param connectTimeout     how long to wait for a connection (default 2 s): the bound on how long an
 *                           unreachable node holds a caller up
 * @param requestTimeout     how long to wait for data on short calls (default 30 s)
 * @param longRequestTimeout how long to wait for data on calls that legitimately take a while: pulls, stops
 *                           (which wait out the grace period) and the event stream (default 10 min)
 */
public record DockerEndpoint(URI uri, Optional<TlsMaterial> tls, Duration connectTimeout, Duration requestTimeout,
                             Duration longRequestTimeout) {

    public static final String DEFAULT_SOCKET = "unix:///var/run/docker.sock";
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(2);
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(30);
    public static final Duration DEFAULT_LONG_REQUEST_TIMEOUT = Duration.ofMinutes(10);

    public DockerEndpoint {
        Objects.requireNonNull(uri, "uri");
        Objects.requireNonNull(tls, "tls");
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
            default -> throw new IllegalArgumentException(
                    "a Docker address is unix:///path/to/docker.sock or tcp://host:port, not " + uri);
        }
        positive(connectTimeout, "connectTimeout");
        positive(requestTimeout, "requestTimeout");
        positive(longRequestTimeout, "longRequestTimeout");
    }

    /** The engine on the local default socket (node {@code local} of a fresh install). */
    public static DockerEndpoint local() {
        return parse(DEFAULT_SOCKET);
    }

    /** Parses {@code unix:///path} or {@code tcp://host:port}, with the default timeouts and no TLS. */
    public static DockerEndpoint parse(String address) {
        Objects.requireNonNull(address, "address");
        URI uri;
        try {
            uri = URI.create(address.strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not a Docker address: " + address, e);
        }
        return new DockerEndpoint(uri, Optional.empty(), DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT,
                DEFAULT_LONG_REQUEST_TIMEOUT);
    }

    public static DockerEndpoint unix(Path socket) {
        return parse("unix://" + socket.toAbsolutePath());
    }

    public static DockerEndpoint tcp(String host, int port) {
        String h = host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
        return parse("tcp://" + h + ":" + port);
    }

    public DockerEndpoint withTls(TlsMaterial material) {
        return new DockerEndpoint(uri, Optional.of(material), connectTimeout, requestTimeout, longRequestTimeout);
    }

    public DockerEndpoint withTimeouts(Duration connect, Duration request, Duration longRequest) {
        return new DockerEndpoint(uri, tls, connect, request, longRequest);
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
