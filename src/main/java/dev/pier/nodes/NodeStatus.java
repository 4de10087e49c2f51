package dev.pier.nodes;

import java.util.Locale;

public enum NodeStatus {
    UNKNOWN,
    ONLINE,
    OFFLINE;

    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    static NodeStatus parse(String s) {
        return valueOf(s.toUpperCase(Locale.ROOT));
    }
}
