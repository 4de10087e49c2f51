package dev.pier.runtime;

import dev.pier.support.DatabaseFree;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The runtime's value types: validation at the edge, no engine needed. */
@DatabaseFree
class RuntimeValuesTest {
    private static final UUID INSTANCE = UUID.fromString("5f0c6a4e-8f7e-4d61-9a63-7f6f1b7f2c11");

    @Test
    void a_spec_carries_piers_labels_and_docker_units() {
        ContainerSpec spec = ContainerSpec.builder(INSTANCE, "web-1", "nginx:1.27")
                .memoryMiB(512)
                .cpus(1.5)
                .label("team", "blue")
                .build();

        assertThat(spec.allLabels())
                .containsEntry(PierLabels.MANAGED, "true")
                .containsEntry(PierLabels.INSTANCE, INSTANCE.toString())
                .containsEntry("team", "blue");
        assertThat(spec.memoryBytes()).isEqualTo(512L * 1024 * 1024);
        assertThat(spec.nanoCpus()).isEqualTo(1_500_000_000L);
        assertThat(spec.pidsLimit()).isEqualTo(ContainerSpec.DEFAULT_PIDS_LIMIT);
        assertThat(spec.command()).isEmpty();
    }

    @Test
    void a_spec_refuses_what_docker_would_refuse_or_pier_must_not_allow() {
        var ok = ContainerSpec.builder(INSTANCE, "web-1", "busybox");
        assertThatThrownBy(
                        () -> ContainerSpec.builder(INSTANCE, "-bad", "busybox").build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("name");
        assertThatThrownBy(
                        () -> ContainerSpec.builder(INSTANCE, "a/b", "busybox").build())
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ContainerSpec.builder(INSTANCE, "web", " ").build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("image");
        assertThatThrownBy(() -> ContainerSpec.builder(INSTANCE, "web", "busybox")
                        .memoryMiB(4)
                        .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("memoryMiB");
        assertThatThrownBy(() -> ContainerSpec.builder(INSTANCE, "web", "busybox")
                        .cpus(0)
                        .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cpus");
        assertThatThrownBy(() -> ContainerSpec.builder(INSTANCE, "web", "busybox")
                        .cpus(Double.NaN)
                        .build())
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ContainerSpec.builder(INSTANCE, "web", "busybox")
                        .pidsLimit(0)
                        .build())
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ContainerSpec.builder(INSTANCE, "web", "busybox")
                        .env("A=B", "x")
                        .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("environment");
        assertThatThrownBy(() -> ContainerSpec.builder(INSTANCE, "web", "busybox")
                        .label(PierLabels.MANAGED, "false")
                        .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("reserved");
        assertThatThrownBy(() -> ContainerSpec.PortBinding.tcp(0, 80)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ContainerSpec.PortBinding.udp(53, 65536)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ContainerSpec.builder(INSTANCE, "web", "busybox")
                        .port(ContainerSpec.PortBinding.tcp(80, 8080))
                        .port(ContainerSpec.PortBinding.tcp(81, 8080))
                        .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("8080/tcp");
        // the same host port on both protocols is two different bindings
        assertThat(ok.port(ContainerSpec.PortBinding.tcp(53, 5353))
                        .port(ContainerSpec.PortBinding.udp(53, 5353))
                        .build()
                        .ports())
                .hasSize(2);
    }

    @Test
    void endpoints_are_unix_sockets_or_tcp_addresses() {
        assertThat(DockerEndpoint.local().uri().toString()).isEqualTo("unix:///var/run/docker.sock");
        assertThat(DockerEndpoint.local().isUnixSocket()).isTrue();
        assertThat(DockerEndpoint.local().connectTimeout()).isLessThanOrEqualTo(Duration.ofSeconds(2));
        assertThat(DockerEndpoint.tcp("10.0.0.5", 2376).uri().toString()).isEqualTo("tcp://10.0.0.5:2376");
        assertThat(DockerEndpoint.tcp("::1", 2376).uri().getHost()).isEqualTo("[::1]");

        assertThatThrownBy(() -> DockerEndpoint.parse("http://host:2375")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> DockerEndpoint.parse("tcp://host")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> DockerEndpoint.parse("unix://")).isInstanceOf(IllegalArgumentException.class);
        TlsMaterial tls = TestCertificates.generate("values").clientMaterial();
        assertThatThrownBy(() -> DockerEndpoint.local().withTls(tls)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void tls_material_is_checked_up_front_and_keeps_the_key_out_of_logs() {
        TestCertificates certs = TestCertificates.generate("values");
        TlsMaterial tls = certs.clientMaterial();

        assertThat(tls.toString()).doesNotContain("PRIVATE KEY").contains("hidden");
        assertThat(DockerEndpoint.tcp("127.0.0.1", 2376).withTls(tls).display()).endsWith("(TLS)");
        assertThatThrownBy(() -> new TlsMaterial("not a pem", certs.clientCertPem, certs.clientKeyPem))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("CA certificate");
        assertThatThrownBy(() -> new TlsMaterial(certs.caPem, certs.clientCertPem, certs.caPem))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("private key");
    }

    @Test
    void labels_name_the_instance() {
        assertThat(PierLabels.instanceId(Map.of(PierLabels.INSTANCE, INSTANCE.toString())))
                .contains(INSTANCE);
        assertThat(PierLabels.instanceId(Map.of(PierLabels.INSTANCE, "nope"))).isEmpty();
        assertThat(PierLabels.managed(Map.of(PierLabels.MANAGED, "true"))).isTrue();
        assertThat(ContainerStatus.parse("running")).isEqualTo(ContainerStatus.RUNNING);
        assertThat(ContainerStatus.parse("weird")).isEqualTo(ContainerStatus.UNKNOWN);
    }

    @Test
    void event_stream_resumes_from_dockers_since_format() {
        assertThat(EventStream.since(1_700_000_000_000_000_123L)).isEqualTo("1700000000.000000123");
    }
}
