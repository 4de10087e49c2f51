package dev.pier.live;

import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TimeParamTest {
    private static final Instant NOW = Instant.parse("2026-12-02T12:00:00Z");

    @Test
    void rfc3339_unix_seconds_and_ages() {
        assertThat(TimeParam.parse("2026-12-01T10:00:00Z", false, NOW))
                .isEqualTo(Instant.parse("2026-12-01T10:00:00Z"));
        assertThat(TimeParam.parse(" 2026-12-01T11:00:00.5+01:00 ", false, NOW))
                .isEqualTo(Instant.parse("2026-12-01T10:00:00.5Z"));
        assertThat(TimeParam.parse("1796195311", false, NOW)).isEqualTo(Instant.ofEpochSecond(1796195311));
        assertThat(TimeParam.parse("1796195311.000000042", false, NOW))
                .isEqualTo(Instant.ofEpochSecond(1796195311, 42));
        assertThat(TimeParam.parse("1.5", false, NOW)).isEqualTo(Instant.ofEpochSecond(1, 500_000_000));
        assertThat(TimeParam.parse("90s", true, NOW)).isEqualTo(NOW.minusSeconds(90));
        assertThat(TimeParam.parse("10m", true, NOW)).isEqualTo(NOW.minusSeconds(600));
        assertThat(TimeParam.parse("2h", true, NOW)).isEqualTo(NOW.minusSeconds(7200));
        assertThat(TimeParam.parse("3d", true, NOW)).isEqualTo(NOW.minusSeconds(3 * 86400));
    }

    @Test
    void anything_else_is_refused() {
        for (String bad : new String[] {
            "yesterday",
            "",
            "-1",
            "1e9",
            "2026-12-01",
            "2026-12-01T10:00:00",
            "1.",
            ".5",
            "1.0000000001",
            "10m ago",
            "1234567890123",
            "10w"
        }) {
            assertThatThrownBy(() -> TimeParam.parse(bad, true, NOW))
                    .as(bad)
                    .isInstanceOf(IllegalArgumentException.class);
        }
        // the API takes no ages: an age is a time the caller meant relative to its own clock
        assertThatThrownBy(() -> TimeParam.parse("10m", false, NOW)).isInstanceOf(IllegalArgumentException.class);
    }
}
