package dev.pier.instances;

import dev.pier.support.DatabaseFree;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The restart back-off's arithmetic, and how the two new states are stored (pure unit tests). */
@DatabaseFree
class BackoffTest {

    @Test
    void the_first_retry_is_at_once_then_the_wait_doubles_from_one_second_up_to_five_minutes() {
        List<Long> seconds = new ArrayList<>();
        for (int failures = 1; failures <= 12; failures++) {
            seconds.add(Backoff.delay(failures).toSeconds());
        }
        assertThat(seconds).containsExactly(0L, 1L, 2L, 4L, 8L, 16L, 32L, 64L, 128L, 256L, 300L, 300L);
        assertThat(Backoff.delay(Integer.MAX_VALUE)).isEqualTo(Duration.ofMinutes(5));
    }

    @Test
    void a_container_that_exits_at_once_is_started_at_most_ten_times_in_its_first_minute() {
        long at = 0;
        int starts = 1; // the deploy's own
        for (int deaths = 1; ; deaths++) {
            at += Backoff.delay(deaths).toMillis();
            if (at > 60_000) {
                break;
            }
            starts++;
        }
        assertThat(starts).isLessThan(10);
    }

    @Test
    void a_run_of_ten_minutes_ends_the_loop_and_a_shorter_one_continues_it() {
        assertThat(Backoff.crashesAfter(7, Duration.ofMinutes(10))).isEqualTo(1);
        assertThat(Backoff.crashesAfter(7, Duration.ofMinutes(10).minusSeconds(1)))
                .isEqualTo(8);
        assertThat(Backoff.crashesAfter(0, Duration.ZERO)).isEqualTo(1);
    }

    @Test
    void crashloop_and_paused_are_stored_as_the_older_states_with_a_condition_and_read_back() {
        for (ObservedState s : ObservedState.values()) {
            assertThat(ObservedState.read(s.column(), s.condition())).isEqualTo(s);
            assertThat(s.column()).isIn("creating", "running", "stopped", "exited", "failed", "deleting", "unknown");
        }
        assertThat(ObservedState.CRASHLOOP.column()).isEqualTo("exited");
        assertThat(ObservedState.PAUSED.column()).isEqualTo("running");
        assertThat(ObservedState.RUNNING.condition()).isNull();
        assertThat(ObservedState.read("something-new", null)).isEqualTo(ObservedState.UNKNOWN);
    }
}
