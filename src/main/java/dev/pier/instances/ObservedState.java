package dev.pier.instances;

import java.util.Locale;

/**
 * What Docker last said about an instance's container, as Pier reports it; shown by its lower-case
 * {@link #wire()} name in every API.
 *
 * <p>Stored in two columns: {@code observed_state}, whose check constraint predates {@link #CRASHLOOP}
 * and {@link #PAUSED} and which migrations may not change, holds the nearest older state ({@code exited},
 * {@code running}), and {@code observed_condition} the refinement. An older Pier reading the database sees
 * a valid state.
 */
public enum ObservedState {
    /** Recorded, container not made yet. */
    CREATING,
    RUNNING,
    /** Not running, as desired. */
    STOPPED,
    /** Not running although desired running; a restart is scheduled. */
    EXITED,
    /** Desired running, but the container keeps dying: restarts back off (see {@link Backoff}). */
    CRASHLOOP,
    /** Frozen by {@code docker pause} (behind Pier's back); the reconciler unpauses it when it should run. */
    PAUSED,
    /** The engine refused an operation; {@code last_error} says which. */
    FAILED,
    DELETING,
    UNKNOWN;

    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The value for the {@code observed_state} column. */
    String column() {
        return switch (this) {
            case CRASHLOOP -> EXITED.wire();
            case PAUSED -> RUNNING.wire();
            default -> wire();
        };
    }

    /** The value for the {@code observed_condition} column: null unless {@link #column()} is not the state itself. */
    String condition() {
        return this == CRASHLOOP || this == PAUSED ? wire() : null;
    }

    static ObservedState read(String column, String condition) {
        String s = condition != null ? condition : column;
        try {
            return valueOf(s.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return UNKNOWN;
        }
    }

    /** By its wire name, for filters; empty when no state has that name. */
    static java.util.Optional<ObservedState> byWire(String name) {
        for (ObservedState s : values()) {
            if (s.wire().equals(name)) {
                return java.util.Optional.of(s);
            }
        }
        return java.util.Optional.empty();
    }
}
