package dev.pier.live;

import dev.pier.runtime.Output;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

class LogCursorTest {
    private static final Instant T = Instant.parse("2026-12-02T10:00:00Z");

    private static LogCursor at(long micros) {
        return LogCursor.of(T.plusNanos(micros * 1_000), 0);
    }

    private static List<LogCursor> passed(LogCursor mark, LogCursor... read) {
        LogCursor.Past past = new LogCursor.Past(mark);
        return Stream.of(read).filter(past::passes).toList();
    }

    @Test
    void ids_round_trip_and_junk_is_refused() {
        LogCursor c = LogCursor.of(T.plusNanos(123), 2);
        assertThat(LogCursor.parse(c.id())).contains(c);
        assertThat(c.time()).isEqualTo(T.plusNanos(123));
        for (String junk : new String[] {null, "", "-", "12-", "-3", "a-1", "1-a", "-1-0", "1--1", "9".repeat(41)}) {
            assertThat(LogCursor.parse(junk)).as(String.valueOf(junk)).isEmpty();
        }
    }

    @Test
    void lines_sharing_a_timestamp_are_counted_apart() {
        LogCursor.Counter counter = new LogCursor.Counter();
        assertThat(Stream.of(T, T, T.plusNanos(1), T.plusNanos(1), T)
                        .map(counter::next)
                        .map(LogCursor::k))
                .containsExactly(0, 1, 0, 1, 0);
    }

    @Test
    void what_a_stream_repeats_is_dropped_and_the_other_stream_may_be_out_of_order() {
        LogCursor.Order order = new LogCursor.Order();
        assertThat(order.passes(at(1), Output.STDOUT)).isTrue();
        assertThat(order.passes(at(3), Output.STDERR)).isTrue();
        assertThat(order.passes(at(2), Output.STDOUT))
                .as("stamped before the stderr line, written after")
                .isTrue();
        assertThat(order.passes(at(4), Output.STDOUT)).isTrue();
        // the engine moved on to the next log file and sent the last lines again
        assertThat(order.passes(at(2), Output.STDOUT)).isFalse();
        assertThat(order.passes(at(3), Output.STDERR)).isFalse();
        assertThat(order.passes(at(4), Output.STDOUT)).isFalse();
        assertThat(order.passes(at(5), Output.STDOUT)).isTrue();
        assertThat(order.passes(at(4), Output.STDERR)).isTrue();
    }

    @Test
    void a_read_that_repeats_lines_passes_only_those_after_the_mark_even_out_of_timestamp_order() {
        // the log's order: 1, 2, 5, 4 (written after 5, stamped before it), 6
        LogCursor mark = at(2);
        assertThat(passed(mark, at(1), at(2), at(5), at(4), at(6))).containsExactly(at(5), at(4), at(6));
        // a read that begins at the mark
        assertThat(passed(mark, at(2), at(5), at(4))).containsExactly(at(5), at(4));
        // a read that repeats nothing (the mark was the last line before it) loses nothing
        assertThat(passed(mark, at(5), at(4), at(6))).containsExactly(at(5), at(4), at(6));
        // no mark: everything, in the log's order
        assertThat(passed(null, at(5), at(4))).containsExactly(at(5), at(4));
    }
}
