package dev.pier.backups;

import java.time.Instant;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;

/**
 * A backup of an instance's data volume: a gzip'd tar in Pier's backup store, with its SHA-256. It outlives
 * its instance (whose name it keeps).
 *
 * @param live whether the copy was made while the instance ran (not paused): faster, not consistent
 */
public record Backup(
        UUID id,
        UUID instanceId,
        String instanceName,
        UUID nodeId,
        State state,
        boolean live,
        Optional<String> note,
        Optional<Long> size,
        Optional<String> sha256,
        Optional<String> error,
        Instant createdAt,
        Optional<Instant> completedAt) {

    public enum State {
        PENDING,
        RUNNING,
        COMPLETED,
        FAILED;

        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }

        static State parse(String s) {
            return valueOf(s.toUpperCase(Locale.ROOT));
        }
    }
}
