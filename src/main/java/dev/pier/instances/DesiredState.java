package dev.pier.instances;

import java.util.Locale;

/** What Pier wants an instance to be; persisted as its lower-case {@link #wire()} name. */
public enum DesiredState {
    RUNNING,
    STOPPED,
    /** Marked for deletion: the delete (or the reconciler, after a crash) removes container and record. */
    DELETED;

    /** The lower-case name used in the database and in every API. */
    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static DesiredState parse(String stored) {
        return valueOf(stored.toUpperCase(Locale.ROOT));
    }
}
