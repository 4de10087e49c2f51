package dev.pier.security;

import java.util.Locale;
import java.util.Optional;

/**
 * What a credential may do within its user's role. Sessions are always {@link #FULL}; an API key
 * carries its own level. {@code BASIC} reads; {@code APIKEY} also changes things but does not manage
 * users or keys; {@code FULL} does all the role allows.
 */
public enum AccessLevel {
    BASIC,
    APIKEY,
    FULL;

    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<AccessLevel> parse(String s) {
        if (s == null) {
            return Optional.empty();
        }
        for (AccessLevel l : values()) {
            if (l.wire().equals(s.trim().toLowerCase(Locale.ROOT))) {
                return Optional.of(l);
            }
        }
        return Optional.empty();
    }

    public boolean allows(Scope scope) {
        return switch (scope) {
            case READ -> true;
            case WRITE -> this != BASIC;
            case USERS, KEYS -> this == FULL;
        };
    }
}
