package dev.pier.runtime;

import java.time.Instant;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Which part of a container's log to read.
 *
 * @param since  lines received at or after this time (inclusive, to the nanosecond); empty: from the start
 * @param until  lines received before this time; empty: to the end (and on, when following)
 * @param tail   only the last this many lines (of those that match since/until); empty: all of them
 * @param follow keep the read open and deliver new lines as they come, until the container stops
 * @param stdout include stdout
 * @param stderr include stderr
 */
public record LogRequest(
        Optional<Instant> since,
        Optional<Instant> until,
        OptionalInt tail,
        boolean follow,
        boolean stdout,
        boolean stderr) {

    public LogRequest {
        if (tail.isPresent() && tail.getAsInt() < 0) {
            throw new IllegalArgumentException("tail must not be negative");
        }
        if (!stdout && !stderr) {
            throw new IllegalArgumentException("at least one of stdout and stderr");
        }
        if (follow && until.isPresent()) {
            throw new IllegalArgumentException("a followed read has no end time");
        }
    }

    /** The last {@code n} lines of both streams, not followed. */
    public static LogRequest tail(int n) {
        return new LogRequest(Optional.empty(), Optional.empty(), OptionalInt.of(n), false, true, true);
    }

    /** Both streams from {@code since} (inclusive) on, followed. */
    public static LogRequest followFrom(Instant since) {
        return new LogRequest(Optional.of(since), Optional.empty(), OptionalInt.empty(), true, true, true);
    }
}
