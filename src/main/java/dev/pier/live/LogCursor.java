package dev.pier.live;

import java.time.Instant;
import java.util.Optional;

/**
 * Where a line sits in a container's log, as a resume id: the engine's timestamp of the line to the
 * nanosecond, and how many lines before it in the log had that same timestamp (almost always 0). Lines are
 * ordered by it, so a client that sends the id of the last line it got resumes after exactly that line.
 * Written {@code NANOS-K} with NANOS the nanoseconds since 1970.
 */
public record LogCursor(long nanos, int k) implements Comparable<LogCursor> {

    public static LogCursor of(Instant t, int k) {
        return new LogCursor(Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000_000L), t.getNano()), k);
    }

    /** Parses an id made by {@link #id()}; empty when it is not one. */
    public static Optional<LogCursor> parse(String id) {
        if (id == null) {
            return Optional.empty();
        }
        String s = id.strip();
        int dash = s.indexOf('-');
        if (dash <= 0 || dash == s.length() - 1 || s.length() > 40) {
            return Optional.empty();
        }
        try {
            long nanos = Long.parseLong(s.substring(0, dash));
            int k = Integer.parseInt(s.substring(dash + 1));
            return nanos < 0 || k < 0 ? Optional.empty() : Optional.of(new LogCursor(nanos, k));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    public Instant time() {
        return Instant.ofEpochSecond(Math.floorDiv(nanos, 1_000_000_000L), Math.floorMod(nanos, 1_000_000_000L));
    }

    public String id() {
        return nanos + "-" + k;
    }

    @Override
    public int compareTo(LogCursor o) {
        int c = Long.compare(nanos, o.nanos);
        return c != 0 ? c : Integer.compare(k, o.k);
    }

    /** Gives each line of one read its cursor, counting lines that share a timestamp. */
    static final class Counter {
        private long last = Long.MIN_VALUE;
        private int k;

        LogCursor next(Instant t) {
            LogCursor c = LogCursor.of(t, 0);
            if (c.nanos() == last) {
                k++;
            } else {
                last = c.nanos();
                k = 0;
            }
            return new LogCursor(c.nanos(), k);
        }
    }
}
