package dev.pier.nodes;

import dev.pier.errors.PierException;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A node's RAM or disk as the Panel document's "specification" strings: a plain number is MiB
 * ({@code 2048}); a number with a unit is converted ({@code 2GB}, {@code 2 GiB}, {@code 512M}, {@code 1.5G},
 * {@code 1T}). Units are binary whatever their spelling, as Docker's own {@code RAMInBytes} reads them
 * ({@code 1GB} = {@code 1G} = {@code 1GiB} = 1024 MiB); a part of a MiB is dropped.
 */
public final class Capacity {
    private static final Pattern SPEC = Pattern.compile("(\\d{1,15}(?:\\.\\d{1,6})?)\\s*([a-zA-Z]{0,3})");
    private static final Map<String, Long> KIB_PER_UNIT = Map.of(
            "",
            1024L,
            "m",
            1024L,
            "mb",
            1024L,
            "mib",
            1024L,
            "k",
            1L,
            "kb",
            1L,
            "kib",
            1L,
            "g",
            1024L * 1024,
            "gb",
            1024L * 1024,
            "gib",
            1024L * 1024);
    private static final Map<String, Long> KIB_PER_BIG_UNIT =
            Map.of("t", 1024L * 1024 * 1024, "tb", 1024L * 1024 * 1024, "tib", 1024L * 1024 * 1024);
    /** 1 PiB: more than any node has. */
    static final long MAX_MIB = 1024L * 1024 * 1024;

    private Capacity() {}

    /**
     * MiB of a specification.
     *
     * @param field the field's name, for the message
     * @throws PierException.Invalid when it is not a positive size up to 1 PiB
     */
    public static long mib(String spec, String field) {
        String s = spec == null ? "" : spec.strip();
        Matcher m = SPEC.matcher(s);
        String unit = m.matches() ? m.group(2).toLowerCase(Locale.ROOT) : null;
        Long kib = unit == null ? null : KIB_PER_UNIT.getOrDefault(unit, KIB_PER_BIG_UNIT.get(unit));
        if (kib == null) {
            throw new PierException.Invalid(field + " must be a size such as 2048 (MiB), 512M, 2GB, 2 GiB or 1.5G");
        }
        BigDecimal mib = new BigDecimal(m.group(1))
                .multiply(BigDecimal.valueOf(kib))
                .divide(BigDecimal.valueOf(1024), 0, RoundingMode.DOWN);
        if (mib.signum() <= 0 || mib.compareTo(BigDecimal.valueOf(MAX_MIB)) > 0) {
            throw new PierException.Invalid(field + " must be at least 1 MiB and at most 1 PiB, got '"
                    + (s.length() > 32 ? s.substring(0, 32) + "…" : s) + "'");
        }
        return mib.longValueExact();
    }
}
