package dev.pier.backups;

import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

record BackupRow(
        UUID id,
        UUID instanceId,
        String instanceName,
        UUID nodeId,
        String state,
        boolean live,
        String note,
        Long sizeBytes,
        String sha256,
        String error,
        Instant createdAt,
        Instant completedAt,
        UUID restoreInto,
        String restoreDesired,
        Instant restoreStarted) {

    Backup toBackup() {
        return new Backup(
                id,
                instanceId,
                instanceName,
                nodeId,
                Backup.State.parse(state),
                live,
                Optional.ofNullable(note),
                Optional.ofNullable(sizeBytes),
                Optional.ofNullable(sha256),
                Optional.ofNullable(error),
                createdAt,
                Optional.ofNullable(completedAt));
    }
}
