package dev.pier.files;

import dev.pier.errors.PierException;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A path in an instance's volume as a client gives it, normalized: {@code /} or empty is the volume's
 * root, a leading {@code /} means the same as none (an absolute path is read from the volume's root, never
 * the node's), empty and {@code .} segments are dropped. A {@code ..} segment, a control character (NUL,
 * newline) or a segment over 255 bytes is refused (400): nothing a client sends can name a place outside
 * the volume. Links inside the volume are the helper's business: it never follows one.
 */
record VolumePath(List<String> segments) {
    static final int MAX_LENGTH = 4096;

    VolumePath {
        segments = List.copyOf(segments);
    }

    static VolumePath parse(String path) {
        String p = path == null ? "" : path;
        if (p.length() > MAX_LENGTH) {
            throw new PierException.Invalid("path must be at most " + MAX_LENGTH + " characters");
        }
        if (p.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw new PierException.Invalid("path must not contain control characters (NUL, newline, ...)");
        }
        List<String> out = new ArrayList<>();
        for (String seg : p.split("/")) {
            if (seg.isEmpty() || seg.equals(".")) {
                continue;
            }
            if (seg.equals("..")) {
                throw new PierException.Invalid("path must not contain '..': paths are inside the instance's volume");
            }
            if (seg.getBytes(StandardCharsets.UTF_8).length > 255) {
                throw new PierException.Invalid("a name in the path is longer than 255 bytes");
            }
            out.add(seg);
        }
        return new VolumePath(out);
    }

    boolean root() {
        return segments.isEmpty();
    }

    /** As the helper takes it: relative to the volume, {@code ""} for the root. */
    String relative() {
        return String.join("/", segments);
    }

    /** As clients see it: from the volume's root, {@code /} for the root. */
    String display() {
        return "/" + relative();
    }

    String name() {
        return root() ? "" : segments.getLast();
    }
}
