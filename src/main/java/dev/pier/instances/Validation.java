package dev.pier.instances;

import dev.pier.errors.PierException;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Input rules for instances, shared by every family that deploys. */
public final class Validation {
    static final Pattern NAME = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
    private static final Pattern VARIABLE = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}");
    private static final Pattern PORT = Pattern.compile("(\\d{1,5})(?:/(tcp|udp))?(?::(\\d{1,5}))?(?:/(tcp|udp))?");
    public static final int MIN_MEMORY_MIB = 16;
    public static final int MAX_MEMORY_MIB = 1024 * 1024;
    public static final double MIN_CPU = 0.01;
    public static final double MAX_CPU = 256;
    static final int MAX_PORTS = 32;
    static final int MAX_VARIABLES = 128;

    private Validation() {}

    public static void name(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new PierException.Invalid("name must be a DNS label: 1-63 characters of a-z 0-9 and '-', "
                    + "starting and ending with a letter or digit");
        }
    }

    public static int memory(long mib) {
        if (mib < MIN_MEMORY_MIB || mib > MAX_MEMORY_MIB) {
            throw new PierException.Invalid(
                    "memory must be between " + MIN_MEMORY_MIB + " and " + MAX_MEMORY_MIB + " MiB");
        }
        return (int) mib;
    }

    public static double cpu(double cores) {
        if (!(cores >= MIN_CPU && cores <= MAX_CPU)) {
            throw new PierException.Invalid("cpu must be between " + MIN_CPU + " and " + (int) MAX_CPU + " cores");
        }
        return cores;
    }

    /** A port number as a caller gave it (a primary port), range-checked before it is narrowed; null stays null. */
    public static Integer port(Long port, String field) {
        if (port == null) {
            return null;
        }
        if (port < 1 || port > 65535) {
            throw new PierException.Invalid(field + " must be a port number 1-65535");
        }
        return port.intValue();
    }

    /** Names {@code [A-Za-z_][A-Za-z0-9_]*}, values without control characters other than tab. */
    public static void variables(Map<String, String> vars) {
        if (vars.size() > MAX_VARIABLES) {
            throw new PierException.Invalid("at most " + MAX_VARIABLES + " variables");
        }
        for (Map.Entry<String, String> e : vars.entrySet()) {
            if (e.getKey() == null || !VARIABLE.matcher(e.getKey()).matches()) {
                throw new PierException.Invalid(
                        "variable name '" + printable(e.getKey()) + "' must match [A-Za-z_][A-Za-z0-9_]*");
            }
            String v = e.getValue();
            if (v == null || v.length() > 4096 || v.chars().anyMatch(c -> Character.isISOControl(c) && c != '\t')) {
                throw new PierException.Invalid(
                        "variable " + e.getKey() + " must be at most 4096 characters without control characters");
            }
        }
    }

    /**
     * Parses {@code "container:host,…"}, each optionally with {@code /tcp} or {@code /udp}. A host port of
     * 0 or none means "pick a free one" (returned as 0).
     */
    public static List<PortMapping> ports(String spec) {
        List<PortMapping> out = new ArrayList<>();
        if (spec == null || spec.isBlank()) {
            return out;
        }
        Set<String> seenHost = new HashSet<>();
        Set<String> seenContainer = new HashSet<>();
        for (String part : spec.split(",")) {
            String p = part.strip();
            if (p.isEmpty()) {
                continue;
            }
            Matcher m = PORT.matcher(p);
            if (!m.matches() || (m.group(2) != null && m.group(4) != null)) {
                throw new PierException.Invalid(
                        "ports must look like \"container:host,…\" (e.g. \"22:2201,53:5353/udp\"), got '" + printable(p)
                                + "'");
            }
            int container = port(m.group(1), true);
            int host = m.group(3) == null ? 0 : port(m.group(3), false);
            String proto = m.group(2) != null ? m.group(2) : m.group(4) != null ? m.group(4) : "tcp";
            if (!seenContainer.add(container + "/" + proto)) {
                throw new PierException.Invalid("container port " + container + "/" + proto + " is listed twice");
            }
            if (host != 0 && !seenHost.add(host + "/" + proto)) {
                throw new PierException.Invalid("host port " + host + "/" + proto + " is listed twice");
            }
            out.add(new PortMapping(container, host, proto));
        }
        if (out.size() > MAX_PORTS) {
            throw new PierException.Invalid("at most " + MAX_PORTS + " ports");
        }
        return out;
    }

    private static int port(String s, boolean container) {
        int p = Integer.parseInt(s);
        if (p < (container ? 1 : 0) || p > 65535) {
            throw new PierException.Invalid("port " + s + " is out of range 1-65535");
        }
        return p;
    }

    /** The "container:host,…" form of a list of mappings. */
    public static String format(List<PortMapping> ports) {
        StringBuilder sb = new StringBuilder();
        for (PortMapping p : ports) {
            if (!sb.isEmpty()) {
                sb.append(',');
            }
            sb.append(p.containerPort()).append(':').append(p.hostPort());
            if (p.protocol().equals("udp")) {
                sb.append("/udp");
            }
        }
        return sb.toString();
    }

    static String printable(String s) {
        if (s == null) {
            return "null";
        }
        String t = s.length() > 64 ? s.substring(0, 64) + "…" : s;
        return t.replaceAll("\\p{Cntrl}", "?");
    }
}
