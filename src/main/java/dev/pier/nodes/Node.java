package dev.pier.nodes;

import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

/**
 * A Docker engine Pier deploys onto. Never carries the TLS key.
 *
 * @param hostPorts the host ports its instances may publish
 */
public record Node(
        UUID id,
        String name,
        String tags,
        long ramMib,
        long diskMib,
        String processor,
        String endpoint,
        boolean tls,
        NodeStatus status,
        Optional<Instant> lastSeenAt,
        Instant createdAt,
        Instant updatedAt,
        HostPortRange hostPorts) {

    /** Host part of a tcp:// endpoint, or the socket path of a unix:// one. */
    public String address() {
        if (endpoint.startsWith("tcp://")) {
            String hp = endpoint.substring(6);
            int colon = hp.lastIndexOf(':');
            return colon < 0 ? hp : hp.substring(0, colon);
        }
        return endpoint;
    }

    /** Port of a tcp:// endpoint; null for a socket. */
    public Integer port() {
        if (endpoint.startsWith("tcp://")) {
            String hp = endpoint.substring(6);
            int colon = hp.lastIndexOf(':');
            try {
                return colon < 0
                        ? null
                        : Integer.parseInt(hp.substring(colon + 1).replace("/", ""));
            } catch (NumberFormatException e) {
                return null;
            }
        }
        return null;
    }
}
