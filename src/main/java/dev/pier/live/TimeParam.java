package dev.pier.live;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.regex.Pattern;

/** A point in time as the live view's parameters (the API's {@code since} and {@code until}, the CLI's) take it. */
public final class TimeParam {
    private static final Pattern UNIX = Pattern.compile("\\d{1,12}(\\.\\d{1,9})?");
    private static final Pattern AGE = Pattern.compile("\\d{1,9}[smhd]");

    private TimeParam() {}

    /**
     * An RFC 3339 time or Unix seconds (with up to nine decimals); with {@code ages}, also an age before
     * {@code now} such as {@code 90s}, {@code 10m}, {@code 2h} or {@code 3d}.
     *
     * @throws IllegalArgumentException when it is none of these
     */
    public static Instant parse(String value, boolean ages, Instant now) {
        String s = value.strip();
        try {
            if (UNIX.matcher(s).matches()) {
                int dot = s.indexOf('.');
                long secs = Long.parseLong(dot < 0 ? s : s.substring(0, dot));
                long nanos = dot < 0 ? 0 : Long.parseLong((s.substring(dot + 1) + "000000000").substring(0, 9));
                return Instant.ofEpochSecond(secs, nanos);
            }
            if (ages && AGE.matcher(s).matches()) {
                long n = Long.parseLong(s.substring(0, s.length() - 1));
                long unit = switch (s.charAt(s.length() - 1)) {
                    case 's' -> 1;
                    case 'm' -> 60;
                    case 'h' -> 3600;
                    default -> 86400;
                };
                return now.minusSeconds(n * unit);
            }
            return OffsetDateTime.parse(s).toInstant();
        } catch (DateTimeException | ArithmeticException e) {
            throw new IllegalArgumentException("not a time: " + value, e);
        }
    }
}
