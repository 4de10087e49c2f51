package dev.pier.runtime;

import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * The labels tying a container to Pier. Every container Pier creates carries {@link #MANAGED}{@code =true}
 * and {@link #INSTANCE}{@code =<instance uuid>}; the reconciler finds containers, and orphans, by them.
 * Labels under {@link #PREFIX} are reserved for Pier.
 */
public final class PierLabels {
    public static final String PREFIX = "dev.pier.";
    public static final String MANAGED = PREFIX + "managed";
    public static final String INSTANCE = PREFIX + "instance";
    /** Marks a helper container ({@link HelperSpec}); helpers are never {@link #MANAGED}. */
    public static final String HELPER = PREFIX + "helper";

    private PierLabels() {}

    /** The instance a container belongs to, if its labels name a valid one. */
    public static Optional<UUID> instanceId(Map<String, String> labels) {
        String value = labels.get(INSTANCE);
        if (value == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(UUID.fromString(value));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** Whether the labels mark a container as Pier's. */
    public static boolean managed(Map<String, String> labels) {
        return "true".equals(labels.get(MANAGED));
    }
}
