package dev.pier.runtime;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Which Docker engine addresses Pier may talk to. A node's address comes from an admin, and an engine is a
 * powerful thing to point Pier at: so the control plane's own neighbourhood is off limits.
 * <ul>
 *   <li>Link-local addresses (169.254.0.0/16, fe80::/10) and the cloud metadata services (169.254.169.254,
 *       fd00:ec2::254, fd20:ce::254, 100.100.100.200, and their names such as {@code metadata.google.internal})
 *       are always refused, also when a name resolves to one of them.</li>
 *   <li>A {@code unix://} socket only when its path is listed ({@code PIER_DOCKER_SOCKETS}, plus the socket of
 *       {@code PIER_DOCKER_HOST}); {@code null} means any path (a runtime opened by hand, in tests).</li>
 *   <li>Plain TCP (without TLS) only to loopback addresses, unless {@code allowPlainTcp}: Docker's API has no
 *       authentication of its own, so anyone on the network path would control the engine.</li>
 * </ul>
 * Checked when a node is registered and again on every new connection (a name's addresses can change).
 * Thread-safe.
 *
 * @param sockets       the socket paths allowed, normalized; null allows every path
 * @param allowPlainTcp whether plain TCP may go to addresses other than loopback
 * @param resolver      how names are resolved ({@link InetAddress#getAllByName} outside tests)
 */
public record EngineAddressPolicy(Set<Path> sockets, boolean allowPlainTcp, Resolver resolver) {

    /** Looks a host name up; a seam for tests, since DNS itself cannot be steered from one. */
    @FunctionalInterface
    public interface Resolver {
        InetAddress[] resolve(String host) throws UnknownHostException;
    }

    /** Host names of cloud metadata services (lower case, no trailing dot). */
    static final Set<String> METADATA_NAMES = Set.of(
            "metadata.google.internal",
            "metadata.goog",
            "metadata",
            "instance-data",
            "instance-data.ec2.internal",
            "metadata.azure.internal",
            "metadata.tencentyun.com");

    /** Metadata services that are not link-local (the link-local ones are refused as such). */
    private static final Set<String> METADATA_ADDRESSES =
            Set.of("fd00:ec2:0:0:0:0:0:254", "fd20:ce:0:0:0:0:0:254", "100.100.100.200");

    /** Any socket, any plain TCP: for runtimes opened directly (tests, tools); link-local stays refused. */
    public static final EngineAddressPolicy OPEN = new EngineAddressPolicy(null, true, InetAddress::getAllByName);

    public EngineAddressPolicy {
        Objects.requireNonNull(resolver, "resolver");
        sockets = sockets == null
                ? null
                : sockets.stream().map(EngineAddressPolicy::normalize).collect(Collectors.toUnmodifiableSet());
    }

    /** The policy of a server: the sockets listed, and whether plain TCP may leave the machine. */
    public static EngineAddressPolicy of(List<String> socketPaths, boolean allowPlainTcp) {
        Set<Path> paths = socketPaths.stream().map(Path::of).collect(Collectors.toSet());
        return new EngineAddressPolicy(paths, allowPlainTcp, InetAddress::getAllByName);
    }

    public EngineAddressPolicy withResolver(Resolver r) {
        return new EngineAddressPolicy(sockets, allowPlainTcp, r);
    }

    /**
     * Checks an address as it is written, before any connection: the socket path, the literal address or
     * the name, and what the name resolves to now (a name that does not resolve is let through, except for
     * plain TCP that must be shown to be loopback).
     *
     * @throws IllegalArgumentException with a message for the admin who typed it
     */
    public void checkRegistration(URI uri, boolean tls) {
        if ("unix".equalsIgnoreCase(uri.getScheme())) {
            checkSocket(uri.getPath());
            return;
        }
        String host = host(uri);
        checkName(host);
        InetAddress[] addresses;
        try {
            addresses = resolver.resolve(host);
        } catch (UnknownHostException e) {
            if (!tls && !allowPlainTcp) {
                throw new IllegalArgumentException("address '" + host + "' does not resolve, so it cannot be shown "
                        + "to be a loopback address; plain TCP without TLS goes only to loopback unless "
                        + "PIER_ALLOW_PLAIN_TCP (allow_plain_tcp) is true");
            }
            return; // the node is offline until it resolves; every connection checks again
        }
        checkAddresses(host, addresses, tls);
    }

    /** Refuses a socket path that is not listed. */
    void checkSocket(String path) {
        if (sockets == null) {
            return;
        }
        if (path == null || !path.startsWith("/") || !sockets.contains(normalize(Path.of(path)))) {
            throw new IllegalArgumentException("unix socket " + path + " is not one Pier may use: list it in "
                    + "PIER_DOCKER_SOCKETS (docker_sockets)");
        }
    }

    /** Refuses a name of a metadata service. */
    static void checkName(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        while (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        if (METADATA_NAMES.contains(h)) {
            throw new IllegalArgumentException(
                    "address '" + host + "' is a cloud metadata service, not a Docker engine");
        }
    }

    /** Refuses a resolved name if any of its addresses is forbidden, or not loopback for plain TCP. */
    void checkAddresses(String host, InetAddress[] addresses, boolean tls) {
        if (addresses.length == 0) {
            throw new IllegalArgumentException("address '" + host + "' resolves to nothing");
        }
        for (InetAddress a : addresses) {
            String why = forbidden(a);
            if (why != null) {
                throw new IllegalArgumentException("address '" + host + "' is " + why + " (" + a.getHostAddress()
                        + "), never a Docker engine Pier talks to");
            }
        }
        if (!tls && !allowPlainTcp) {
            for (InetAddress a : addresses) {
                if (!a.isLoopbackAddress()) {
                    throw new IllegalArgumentException("plain TCP without TLS goes only to loopback addresses, and '"
                            + host + "' is " + a.getHostAddress() + ": give the node TLS certificates, or set "
                            + "PIER_ALLOW_PLAIN_TCP (allow_plain_tcp) to true");
                }
            }
        }
    }

    /** Why an address is never an engine: link-local or a metadata service; null when it may be one. */
    static String forbidden(InetAddress a) {
        if (METADATA_ADDRESSES.contains(
                a.getHostAddress().toLowerCase(Locale.ROOT).replaceAll("%.*$", ""))) {
            return "a cloud metadata service";
        }
        if (a instanceof Inet4Address v4) {
            byte[] b = v4.getAddress();
            if ((b[0] & 0xff) == 169 && (b[1] & 0xff) == 254) {
                return (b[2] & 0xff) == 169 && (b[3] & 0xff) == 254 ? "a cloud metadata service" : "link-local";
            }
        }
        if (a instanceof Inet6Address v6) {
            byte[] b = v6.getAddress();
            if ((b[0] & 0xff) == 0xfe && (b[1] & 0xc0) == 0x80) {
                return "link-local";
            }
            boolean nat64 = (b[0] & 0xff) == 0
                    && (b[1] & 0xff) == 0x64
                    && (b[2] & 0xff) == 0xff
                    && (b[3] & 0xff) == 0x9b
                    && java.util.Arrays.equals(b, 4, 12, new byte[8], 0, 8);
            if (v6.isIPv4CompatibleAddress() || nat64) {
                try {
                    return forbidden(InetAddress.getByAddress(java.util.Arrays.copyOfRange(b, 12, 16)));
                } catch (UnknownHostException impossible) {
                    return null;
                }
            }
        }
        return a.isLinkLocalAddress() ? "link-local" : null;
    }

    /** Whether a plain-TCP address is one the policy lets through only because plain TCP is allowed. */
    public static boolean plainTcpLeavesTheMachine(URI uri, boolean tls) {
        if (tls || !"tcp".equalsIgnoreCase(uri.getScheme())) {
            return false;
        }
        String host = host(uri);
        if (host.equalsIgnoreCase("localhost")) {
            return false;
        }
        try {
            // a literal only: no lookup for a listing
            if (host.matches("[0-9.]+") || host.contains(":")) {
                return !InetAddress.getByName(host).isLoopbackAddress();
            }
        } catch (UnknownHostException e) {
            return true;
        }
        return true;
    }

    static String host(URI uri) {
        String h = uri.getHost();
        if (h == null) {
            throw new IllegalArgumentException("address has no host: " + uri);
        }
        return h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
    }

    private static Path normalize(Path p) {
        return p.toAbsolutePath().normalize();
    }
}
