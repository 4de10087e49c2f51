package dev.pier.runtime;

import java.util.Locale;

/** Which of a container's output streams a piece of output came from. */
public enum Output {
    STDOUT,
    STDERR;

    /** The name in the API: {@code stdout} or {@code stderr}. */
    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }
}
