package dev.pier.live;

import dev.pier.config.Config;
import dev.pier.config.ConfigException;
import dev.pier.config.ConfigLoader;
import dev.pier.instances.InstanceFixture;
import dev.pier.support.DatabaseFree;
import dev.pier.support.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code PIER_LOG_MAX_MIB}: its default, both spellings, refusals, and the log size of a new container. */
@DatabaseFree
class LogSizeSettingTest {
    @TempDir
    Path data;

    private Config load(Map<String, String> env) {
        return new ConfigLoader(env).load(new ConfigLoader.Overrides(null, data, null, null));
    }

    @Test
    void thirty_mib_unless_set_in_the_environment_or_the_file() throws IOException {
        assertThat(load(Map.of()).logMaxMib()).isEqualTo(30);
        assertThat(load(Map.of("PIER_LOG_MAX_MIB", "1200")).logMaxMib()).isEqualTo(1200);
        Files.writeString(data.resolve("pier.properties"), "logs.max_mib=90\n");
        assertThat(load(Map.of()).logMaxMib()).isEqualTo(90);
        assertThatThrownBy(() -> load(Map.of("PIER_LOG_MAX_MIB", "2")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("PIER_LOG_MAX_MIB (logs.max_mib)");
    }

    @Test
    void a_new_container_keeps_that_much_log_in_three_files() {
        try (InstanceFixture pier = InstanceFixture.start(() -> TestServer.start(c -> c.with(b -> b.logMaxMib = 6)))) {
            String id = pier.deployQuiet("logsize").path("id").asText();
            var cfg = pier.inspectInstance(id).getHostConfig().getLogConfig().getConfig();
            assertThat(cfg).containsEntry("max-size", "2m").containsEntry("max-file", "3");
        }
    }
}
