package dev.pier.db;

import java.util.Locale;

/** A kind of data that servers keep copies of in memory; each has a change counter (see {@link ChangeFeed}). */
public enum Topic {
    /** users, sessions and API keys: whatever decides who a credential is and what it may do */
    AUTH,
    INSTANCES,
    NODES,
    IMAGES;

    String key() {
        return name().toLowerCase(Locale.ROOT);
    }
}
