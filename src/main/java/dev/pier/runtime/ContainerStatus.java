package dev.pier.runtime;

import java.util.Locale;

/** A container's state as the engine reports it. */
public enum ContainerStatus {
    CREATED,
    RUNNING,
    PAUSED,
    RESTARTING,
    REMOVING,
    EXITED,
    DEAD,
    UNKNOWN;

    /** Parses Docker's lower-case state name; anything unexpected is {@link #UNKNOWN}. */
    public static ContainerStatus parse(String engineState) {
        if (engineState == null) {
            return UNKNOWN;
        }
        try {
            return valueOf(engineState.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return UNKNOWN;
        }
    }
}
