package dev.pier.runtime;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Which engine addresses Pier accepts, without any network: names resolve through a fake resolver. */
class EngineAddressPolicyTest {
    private static final Map<String, String> DNS = Map.of(
            "engine.example", "10.20.30.40",
            "rebound.example", "169.254.169.254",
            "v6meta.example", "fd00:ec2::254",
            "loop.example", "127.0.0.1");

    private static EngineAddressPolicy policy(boolean allowPlain) {
        return new EngineAddressPolicy(
                Set.of(Path.of("/var/run/docker.sock"), Path.of("/run/engine2.sock")), allowPlain, host -> {
                    String a = DNS.get(host);
                    if (a == null) {
                        // literals resolve as themselves, as the JDK does
                        if (host.matches("[0-9.]+") || host.contains(":")) {
                            return InetAddress.getAllByName(host);
                        }
                        throw new UnknownHostException(host);
                    }
                    return new InetAddress[] {InetAddress.getByName(a)};
                });
    }

    private static void refused(EngineAddressPolicy p, String uri, boolean tls, String mentions) {
        assertThatThrownBy(() -> p.checkRegistration(URI.create(uri), tls))
                .as(uri)
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(mentions);
    }

    @Test
    void link_local_and_metadata_addresses_are_refused_even_with_tls_and_plain_tcp_allowed() {
        EngineAddressPolicy p = policy(true);
        for (String uri : List.of(
                "tcp://169.254.169.254:2376",
                "tcp://2852039166:2376",
                "tcp://rebound.example:2376",
                "tcp://[fd00:ec2::254]:2376",
                "tcp://v6meta.example:2376",
                "tcp://[fd20:ce::254]:2376",
                "tcp://100.100.100.200:2376",
                "tcp://[::ffff:169.254.169.254]:2376")) {
            refused(p, uri, true, "cloud metadata service");
        }
        for (String uri : List.of("tcp://169.254.1.1:2376", "tcp://[fe80::1]:2376", "tcp://[febf::1]:2376")) {
            refused(p, uri, true, "link-local");
        }
        for (String uri : List.of(
                "tcp://metadata.google.internal:2376",
                "tcp://METADATA.google.internal.:2376",
                "tcp://metadata:2376",
                "tcp://instance-data.ec2.internal:2376")) {
            refused(p, uri, true, "cloud metadata service");
        }
    }

    @Test
    void plain_tcp_goes_only_to_loopback_unless_allowed() {
        EngineAddressPolicy strict = policy(false);
        assertThatCode(() -> strict.checkRegistration(URI.create("tcp://127.0.0.1:2375"), false))
                .doesNotThrowAnyException();
        assertThatCode(() -> strict.checkRegistration(URI.create("tcp://[::1]:2375"), false))
                .doesNotThrowAnyException();
        assertThatCode(() -> strict.checkRegistration(URI.create("tcp://loop.example:2375"), false))
                .doesNotThrowAnyException();
        refused(strict, "tcp://10.20.30.40:2375", false, "PIER_ALLOW_PLAIN_TCP");
        refused(strict, "tcp://engine.example:2375", false, "PIER_ALLOW_PLAIN_TCP");
        refused(strict, "tcp://nowhere.example:2375", false, "does not resolve");
        // with TLS, anywhere but the forbidden ranges; a name that does not resolve yet is let through
        assertThatCode(() -> strict.checkRegistration(URI.create("tcp://engine.example:2376"), true))
                .doesNotThrowAnyException();
        assertThatCode(() -> strict.checkRegistration(URI.create("tcp://nowhere.example:2376"), true))
                .doesNotThrowAnyException();
        // allowed by the configuration
        assertThatCode(() -> policy(true).checkRegistration(URI.create("tcp://engine.example:2375"), false))
                .doesNotThrowAnyException();
        assertThat(EngineAddressPolicy.plainTcpLeavesTheMachine(URI.create("tcp://10.20.30.40:2375"), false))
                .isTrue();
        assertThat(EngineAddressPolicy.plainTcpLeavesTheMachine(URI.create("tcp://engine.example:2375"), false))
                .isTrue();
        assertThat(EngineAddressPolicy.plainTcpLeavesTheMachine(URI.create("tcp://10.20.30.40:2376"), true))
                .isFalse();
        assertThat(EngineAddressPolicy.plainTcpLeavesTheMachine(URI.create("tcp://127.0.0.1:2375"), false))
                .isFalse();
        assertThat(EngineAddressPolicy.plainTcpLeavesTheMachine(URI.create("tcp://localhost:2375"), false))
                .isFalse();
        assertThat(EngineAddressPolicy.plainTcpLeavesTheMachine(URI.create("unix:///x.sock"), false))
                .isFalse();
    }

    @Test
    void only_listed_sockets_are_used() {
        EngineAddressPolicy p = policy(false);
        assertThatCode(() -> p.checkRegistration(URI.create("unix:///var/run/docker.sock"), false))
                .doesNotThrowAnyException();
        assertThatCode(() -> p.checkRegistration(URI.create("unix:///run/engine2.sock"), false))
                .doesNotThrowAnyException();
        assertThatCode(() -> p.checkRegistration(URI.create("unix:///run/../run/engine2.sock"), false))
                .doesNotThrowAnyException();
        refused(p, "unix:///run/other.sock", false, "PIER_DOCKER_SOCKETS");
        refused(p, "unix:///var/run/docker.sock.evil", false, "PIER_DOCKER_SOCKETS");
        refused(p, "unix:///etc/../tmp/x.sock", false, "PIER_DOCKER_SOCKETS");
        assertThatCode(() -> EngineAddressPolicy.OPEN.checkRegistration(URI.create("unix:///anything.sock"), false))
                .doesNotThrowAnyException();
    }
}
