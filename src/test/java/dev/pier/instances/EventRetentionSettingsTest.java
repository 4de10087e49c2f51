package dev.pier.instances;

import dev.pier.config.Config;
import dev.pier.config.ConfigException;
import dev.pier.config.ConfigLoader;
import dev.pier.support.DatabaseFree;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The instance events' retention settings: defaults, both spellings, and refusals that name the setting. */
@DatabaseFree
class EventRetentionSettingsTest {
    @TempDir
    Path data;

    private Config load(Map<String, String> env) {
        return new ConfigLoader(env).load(new ConfigLoader.Overrides(null, data, null, null));
    }

    @Test
    void defaults_keep_thirty_days_and_a_hundred_events_per_instance() {
        Config c = load(Map.of());
        assertThat(c.eventsMaxAge()).isEqualTo(Duration.ofDays(30));
        assertThat(c.eventsPerInstance()).isEqualTo(100);
    }

    @Test
    void the_environment_and_the_properties_file_set_them() throws IOException {
        Config env = load(Map.of("PIER_EVENTS_KEEP_DAYS", "2", "PIER_EVENTS_KEEP_PER_INSTANCE", "7"));
        assertThat(env.eventsMaxAge()).isEqualTo(Duration.ofDays(2));
        assertThat(env.eventsPerInstance()).isEqualTo(7);
        Files.writeString(data.resolve("pier.properties"), "events.keep_days=3\nevents.keep_per_instance=9\n");
        Config file = load(Map.of());
        assertThat(file.eventsMaxAge()).isEqualTo(Duration.ofDays(3));
        assertThat(file.eventsPerInstance()).isEqualTo(9);
    }

    @Test
    void bad_values_are_refused_naming_the_setting() {
        assertThatThrownBy(() -> load(Map.of("PIER_EVENTS_KEEP_DAYS", "0")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("PIER_EVENTS_KEEP_DAYS (events.keep_days)");
        assertThatThrownBy(() -> load(Map.of("PIER_EVENTS_KEEP_PER_INSTANCE", "lots")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("PIER_EVENTS_KEEP_PER_INSTANCE (events.keep_per_instance)")
                .hasMessageContaining("whole number");
        assertThatThrownBy(() -> Config.defaults(data).with(b -> b.eventsPerInstance = 0))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("PIER_EVENTS_KEEP_PER_INSTANCE");
    }
}
