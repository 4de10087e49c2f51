package dev.pier.live;

import dev.pier.runtime.Output;

import java.time.Instant;
import java.util.Optional;

/**
 * Where a line sits in a container's log, as a resume id: the engine's timestamp of the line to the
 * nanosecond, and how many lines before it in the log had that same timestamp (almost always 0). Written
 * {@code NANOS-K} with NANOS the nanoseconds since 1970.
 *
 * <p>The log's own order is not quite the order of its timestamps: the engine stamps stdout and stderr
 * lines in two threads and writes them in the order they reach its log file, so a line can follow one with
 * a later timestamp by a few microseconds (or more on a busy machine). Each stream's own timestamps do
 * grow. A read therefore never drops a line for being out of order with the other stream: {@link Order}
 * drops only what the engine repeats (its follow mode sends some lines again when it moves on to the next
 * log file), and {@link Past} skips the start of a read that repeats what a client already has.
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

    /**
     * Skips the lines at the start of a read that were already passed on, up to and including {@code mark},
     * and passes every line after. The first line that is {@code mark} or ordered after it ends the skipping,
     * so a read that repeats nothing loses nothing. It is exact unless the engine reordered two lines of
     * different streams right at {@code mark} (see the class comment).
     */
    static final class Past {
        private final LogCursor mark;
        private boolean done;

        /** {@code mark} null: nothing to skip. */
        Past(LogCursor mark) {
            this.mark = mark;
            this.done = mark == null;
        }

        boolean passes(LogCursor c) {
            if (done) {
                return true;
            }
            int order = c.compareTo(mark);
            if (order < 0) {
                return false;
            }
            done = true;
            return order > 0;
        }
    }

    /**
     * Passes a line only when it comes after the last line passed on of its own stream: drops what the
     * engine sends again, and never a line for being out of order with the other stream.
     */
    static final class Order {
        private LogCursor stdout;
        private LogCursor stderr;

        boolean passes(LogCursor c, Output stream) {
            LogCursor last = stream == Output.STDOUT ? stdout : stderr;
            if (last != null && c.compareTo(last) <= 0) {
                return false;
            }
            if (stream == Output.STDOUT) {
                stdout = c;
            } else {
                stderr = c;
            }
            return true;
        }
    }
}
