package dev.pier.nodes;

import dev.pier.errors.PierException;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The host ports a node lets instances publish, both ends included. Whatever the range, Pier never
 * publishes the Docker API ports or its own port (see the instances' placement).
 */
public record HostPortRange(int min, int max) {
    /** Every unprivileged port. */
    public static final HostPortRange DEFAULT = new HostPortRange(1024, 65535);

    private static final Pattern TEXT = Pattern.compile("\\s*(\\d{1,5})\\s*-\\s*(\\d{1,5})\\s*");

    public HostPortRange {
        if (min < 1 || max > 65535 || min > max) {
            throw new IllegalArgumentException(
                    "a host port range is MIN-MAX with 1 <= MIN <= MAX <= 65535, got " + min + "-" + max);
        }
    }

    public boolean contains(int port) {
        return port >= min && port <= max;
    }

    /** {@code "MIN-MAX"} as a caller wrote it; {@code field} names it in the 400. */
    public static HostPortRange parse(String text, String field) {
        Matcher m = text == null ? null : TEXT.matcher(text);
        if (m == null || !m.matches()) {
            throw new PierException.Invalid(field + " must look like MIN-MAX, e.g. 20000-29999");
        }
        try {
            return new HostPortRange(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
        } catch (IllegalArgumentException e) {
            throw new PierException.Invalid(field + " must be MIN-MAX with 1 <= MIN <= MAX <= 65535");
        }
    }

    @Override
    public String toString() {
        return min + "-" + max;
    }
}
