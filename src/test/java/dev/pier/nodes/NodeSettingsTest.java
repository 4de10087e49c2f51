package dev.pier.nodes;

import dev.pier.config.Config;
import dev.pier.config.ConfigException;
import dev.pier.config.ConfigLoader;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The settings of the node address policy: read from the environment or pier.properties, refused by name. */
class NodeSettingsTest {

    private static Config load(Map<String, String> env) throws Exception {
        Path data = Files.createTempDirectory("pier-settings");
        Map<String, String> all = new java.util.HashMap<>(env);
        all.put("PIER_DATA", data.toString());
        return new ConfigLoader(all).load(ConfigLoader.Overrides.NONE);
    }

    @Test
    void defaults_allow_only_the_docker_host_socket_and_no_plain_tcp_off_the_machine() throws Exception {
        Config c = load(Map.of());
        assertThat(c.dockerSockets()).isEmpty();
        assertThat(c.allowedSockets()).containsExactly("/var/run/docker.sock");
        assertThat(c.allowPlainTcp()).isFalse();
        assertThat(load(Map.of("PIER_DOCKER_HOST", "unix:///run/podman/podman.sock"))
                        .allowedSockets())
                .containsExactly("/run/podman/podman.sock");
        assertThat(load(Map.of("PIER_DOCKER_HOST", "tcp://127.0.0.1:2375")).allowedSockets())
                .isEmpty();
    }

    @Test
    void sockets_and_plain_tcp_are_read_from_the_environment_and_the_file() throws Exception {
        Config c = load(Map.of("PIER_DOCKER_SOCKETS", "/run/a.sock, /run/b.sock,", "PIER_ALLOW_PLAIN_TCP", "yes"));
        assertThat(c.dockerSockets()).containsExactly("/run/a.sock", "/run/b.sock");
        assertThat(c.allowedSockets()).containsExactly("/run/a.sock", "/run/b.sock", "/var/run/docker.sock");
        assertThat(c.allowPlainTcp()).isTrue();

        Path data = Files.createTempDirectory("pier-settings");
        Files.writeString(data.resolve("pier.properties"), "docker_sockets=/run/c.sock\nallow_plain_tcp=false\n");
        Config f = new ConfigLoader(Map.of("PIER_DATA", data.toString())).load(ConfigLoader.Overrides.NONE);
        assertThat(f.dockerSockets()).containsExactly("/run/c.sock");
        assertThat(f.allowPlainTcp()).isFalse();
    }

    @Test
    void bad_values_are_refused_naming_the_setting() {
        for (String bad : List.of("relative.sock", "/run/../etc/x.sock", "/run/a\u0001.sock")) {
            assertThatThrownBy(() -> load(Map.of("PIER_DOCKER_SOCKETS", bad)))
                    .as(bad)
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("PIER_DOCKER_SOCKETS (docker_sockets)");
        }
        assertThatThrownBy(() -> load(Map.of("PIER_ALLOW_PLAIN_TCP", "maybe")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("PIER_ALLOW_PLAIN_TCP (allow_plain_tcp)");
    }
}
