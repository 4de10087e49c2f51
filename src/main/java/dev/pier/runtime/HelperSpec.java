package dev.pier.runtime;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A throwaway container that works on one volume for Pier (lists, reads or writes files, archives it):
 * the helper image's tools, the volume at {@link #MOUNT}, and nothing else of the node's.
 *
 * @param image   the helper image (a small image with a POSIX shell, {@code find}, {@code stat}, {@code tar})
 * @param volume  the named volume to work on
 * @param command what to run, without a shell unless it is one
 * @param stdin   whether Pier writes to its stdin (and closes it to say the input ended)
 * @param labels  extra labels, e.g. the installation's; keys under {@link PierLabels#PREFIX} are reserved
 */
public record HelperSpec(String image, String volume, List<String> command, boolean stdin, Map<String, String> labels) {
    /** Where the volume is mounted in a helper. */
    public static final String MOUNT = "/v";

    public HelperSpec {
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(volume, "volume");
        command = List.copyOf(command);
        if (command.isEmpty()) {
            throw new IllegalArgumentException("a helper needs a command");
        }
        labels = Map.copyOf(labels);
        for (String key : labels.keySet()) {
            if (key.startsWith(PierLabels.PREFIX)) {
                throw new IllegalArgumentException("label key is reserved for Pier: " + key);
            }
        }
    }
}
