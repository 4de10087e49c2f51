package dev.pier.runtime;

import java.time.Instant;
import java.util.Objects;

/**
 * One line of a container's log, as the engine stored it.
 *
 * @param time   when the engine received the line (nanosecond precision on Docker's json-file log)
 * @param output stdout or stderr
 * @param text   the line without its line break, decoded as UTF-8 (malformed bytes replaced)
 */
public record LogLine(Instant time, Output output, String text) {
    public LogLine {
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(output, "output");
        Objects.requireNonNull(text, "text");
    }
}
