package dev.pier.nodes;

import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

record NodeRow(
        UUID id,
        String name,
        String tags,
        long ramMib,
        long diskMib,
        String processor,
        String endpoint,
        String tlsCa,
        String tlsCert,
        String tlsKey,
        String status,
        Instant lastSeenAt,
        Instant createdAt,
        Instant updatedAt,
        int hostPortMin,
        int hostPortMax) {

    Node toNode() {
        return new Node(
                id,
                name,
                tags,
                ramMib,
                diskMib,
                processor,
                endpoint,
                tlsCert != null,
                NodeStatus.parse(status),
                Optional.ofNullable(lastSeenAt),
                createdAt,
                updatedAt,
                new HostPortRange(hostPortMin, hostPortMax));
    }
}
