package dev.pier.instances;

import dev.pier.errors.PierException;
import dev.pier.nodes.HostPortRange;
import dev.pier.nodes.Node;
import dev.pier.nodes.NodeStatus;
import dev.pier.support.DatabaseFree;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Which host ports a caller may choose on a node (pure: no database, no engine). */
@DatabaseFree
class PlacementTest {
    private static Node node(HostPortRange range) {
        return new Node(
                UUID.randomUUID(),
                "n1",
                "",
                1024,
                1024,
                "",
                "unix:///var/run/docker.sock",
                false,
                NodeStatus.ONLINE,
                Optional.empty(),
                Instant.now(),
                Instant.now(),
                range);
    }

    private static void check(Placement p, Node n, int hostPort) {
        p.checkHostPorts(n, List.of(new PortMapping(80, hostPort, "tcp")));
    }

    @Test
    void pier_s_own_port_and_the_docker_api_s_are_reserved_whatever_the_range() {
        Placement p = new Placement(null, null, 1337);
        Node wide = node(new HostPortRange(1, 65535));
        for (int reserved : new int[] {1337, 2375, 2376}) {
            assertThatThrownBy(() -> check(p, wide, reserved))
                    .isInstanceOf(PierException.Invalid.class)
                    .hasMessageContaining("reserved");
        }
        assertThatCode(() -> check(p, wide, 80)).doesNotThrowAnyException();
        assertThatCode(() -> check(p, wide, 0)).as("automatic").doesNotThrowAnyException();
        // a server on a port picked at start (0) keeps no port of its own free
        assertThatCode(() -> check(new Placement(null, null, 0), wide, 1337)).doesNotThrowAnyException();
    }

    @Test
    void the_range_bounds_are_included_and_parsed_strictly() {
        Placement p = new Placement(null, null, 1337);
        Node n = node(HostPortRange.parse("20000 - 20010", "host_ports"));
        assertThatCode(() -> check(p, n, 20000)).doesNotThrowAnyException();
        assertThatCode(() -> check(p, n, 20010)).doesNotThrowAnyException();
        assertThatThrownBy(() -> check(p, n, 20011)).hasMessageContaining("(20000-20010)");
        assertThatThrownBy(() -> check(p, n, 19999)).hasMessageContaining("(20000-20010)");
        for (String bad : new String[] {"", "5", "5-", "-5", "a-b", "10-5", "0-5", "1-65536", "99999-100000"}) {
            assertThatThrownBy(() -> HostPortRange.parse(bad, "host_ports"))
                    .as(bad)
                    .isInstanceOf(PierException.Invalid.class)
                    .hasMessageContaining("host_ports");
        }
        assertThat(HostPortRange.DEFAULT).hasToString("1024-65535");
    }
}
