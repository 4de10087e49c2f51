package dev.pier.backups;

import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

@RegisterConstructorMapper(BackupRow.class)
interface BackupDao {
    String COLUMNS = """
            id, instance_id, instance_name, node_id, state, live, note, size_bytes, sha256, error, created_at,
            completed_at, restore_into, restore_desired, restore_started""";

    @SqlQuery("SELECT " + COLUMNS + " FROM backups ORDER BY created_at, id")
    List<BackupRow> listAll();

    @SqlQuery("SELECT " + COLUMNS + " FROM backups WHERE instance_id = :id ORDER BY created_at, id")
    List<BackupRow> listByInstance(@Bind("id") UUID instanceId);

    @SqlQuery("SELECT " + COLUMNS + " FROM backups WHERE id = :id")
    Optional<BackupRow> find(@Bind("id") UUID id);

    @SqlQuery("SELECT " + COLUMNS + " FROM backups WHERE state IN ('pending', 'running')")
    List<BackupRow> unfinished();

    /** Restores that began before {@code before} and have not ended. */
    @SqlQuery("SELECT " + COLUMNS + " FROM backups WHERE restore_into IS NOT NULL AND restore_started < :before")
    List<BackupRow> restoringSince(@Bind("before") Instant before);

    @SqlUpdate("""
            INSERT INTO backups (id, instance_id, instance_name, node_id, state, live, note, created_at)
            VALUES (:id, :instanceId, :instanceName, :nodeId, 'pending', :live, :note, :now)""")
    void insert(
            @Bind("id") UUID id,
            @Bind("instanceId") UUID instanceId,
            @Bind("instanceName") String instanceName,
            @Bind("nodeId") UUID nodeId,
            @Bind("live") boolean live,
            @Bind("note") String note,
            @Bind("now") Instant now);

    /** Only a pending backup starts: one atomic update decides, whoever else looks. */
    @SqlUpdate("UPDATE backups SET state = 'running' WHERE id = :id AND state = 'pending'")
    int running(@Bind("id") UUID id);

    @SqlUpdate("""
            UPDATE backups SET state = 'completed', size_bytes = :size, sha256 = :sha, error = NULL, completed_at = :now
            WHERE id = :id""")
    int completed(@Bind("id") UUID id, @Bind("size") long size, @Bind("sha") String sha256, @Bind("now") Instant now);

    @SqlUpdate("UPDATE backups SET state = 'failed', error = :error, completed_at = :now WHERE id = :id")
    int failed(@Bind("id") UUID id, @Bind("error") String error, @Bind("now") Instant now);

    /** A restore from it begins: which instance, and the desired state it goes back to. */
    @SqlUpdate("""
            UPDATE backups SET restore_into = :instance, restore_desired = :desired, restore_started = :now
            WHERE id = :id AND restore_into IS NULL""")
    int restoreStarted(
            @Bind("id") UUID id,
            @Bind("instance") UUID instanceId,
            @Bind("desired") String desired,
            @Bind("now") Instant now);

    @SqlUpdate("UPDATE backups SET restore_into = NULL, restore_desired = NULL, restore_started = NULL WHERE id = :id")
    int restoreEnded(@Bind("id") UUID id);

    @SqlUpdate("DELETE FROM backups WHERE id = :id")
    int delete(@Bind("id") UUID id);
}
