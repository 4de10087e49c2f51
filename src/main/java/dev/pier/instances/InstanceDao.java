package dev.pier.instances;

import dev.pier.db.JsonColumn;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

@RegisterConstructorMapper(InstanceRow.class)
interface InstanceDao {
    String COLUMNS = """
            id, name, display_name, owner_id, node_id, image_id, image_ref, command, memory_mib, disk_mib, cpu, ports,
            primary_port, variables, stdin, data_path, desired_state, observed_state, observed_condition, suspended, disk_over, container_id,
            last_error, exit_code, crashes, start_failures, next_attempt_at, created_at, updated_at""";

    @SqlQuery("SELECT " + COLUMNS + " FROM instances ORDER BY created_at, name")
    List<InstanceRow> listAll();

    @SqlQuery("SELECT " + COLUMNS + " FROM instances WHERE node_id = :nodeId")
    List<InstanceRow> listByNode(@Bind("nodeId") UUID nodeId);

    @SqlQuery("SELECT " + COLUMNS + " FROM instances WHERE id = :id")
    Optional<InstanceRow> findById(@Bind("id") UUID id);

    @SqlQuery("SELECT " + COLUMNS + " FROM instances WHERE name = :name")
    Optional<InstanceRow> findByName(@Bind("name") String name);

    @SqlQuery("SELECT COALESCE(SUM(memory_mib), 0) FROM instances WHERE node_id = :nodeId")
    long memoryOnNode(@Bind("nodeId") UUID nodeId);

    @SqlQuery("SELECT COALESCE(SUM(disk_mib), 0) FROM instances WHERE node_id = :nodeId")
    long diskOnNode(@Bind("nodeId") UUID nodeId);

    /**
     * Locks the node row for the rest of the transaction: deploys to one node check capacity one after
     * another. An update, not {@code SELECT ... FOR UPDATE}, which SQLite lacks (there the transaction
     * already holds the database's write lock).
     */
    @SqlUpdate("UPDATE nodes SET ram_mib = ram_mib WHERE id = :nodeId")
    int lockNode(@Bind("nodeId") UUID nodeId);

    @SqlQuery("SELECT host_port FROM instance_ports WHERE node_id = :nodeId AND protocol = :protocol")
    List<Integer> usedPorts(@Bind("nodeId") UUID nodeId, @Bind("protocol") String protocol);

    @SqlUpdate("""
            INSERT INTO instances (id, name, display_name, owner_id, node_id, image_id, image_ref, command, memory_mib,
                                   disk_mib, cpu, ports, primary_port, variables, stdin, data_path, desired_state,
                                   observed_state, suspended, crashes, start_failures, created_at, updated_at)
            VALUES (:id, :name, :displayName, :ownerId, :nodeId, :imageId, :imageRef, :command, :memory, :disk, :cpu,
                    :ports, :primary, :variables, :stdin, :dataPath, 'running', 'creating', FALSE, 0, 0, :now, :now)
            """)
    void insert(
            @Bind("id") UUID id,
            @Bind("name") String name,
            @Bind("displayName") String displayName,
            @Bind("ownerId") UUID ownerId,
            @Bind("nodeId") UUID nodeId,
            @Bind("imageId") UUID imageId,
            @Bind("imageRef") String imageRef,
            @Bind("command") @JsonColumn List<String> command,
            @Bind("memory") int memory,
            @Bind("disk") int disk,
            @Bind("cpu") double cpu,
            @Bind("ports") @JsonColumn List<PortMapping> ports,
            @Bind("primary") Integer primary,
            @Bind("variables") @JsonColumn Map<String, String> variables,
            @Bind("stdin") boolean stdin,
            @Bind("dataPath") String dataPath,
            @Bind("now") Instant now);

    @SqlUpdate(
            "INSERT INTO instance_ports (node_id, host_port, protocol, instance_id) VALUES (:nodeId, :port, :protocol, :id)")
    void insertPort(
            @Bind("nodeId") UUID nodeId,
            @Bind("port") int port,
            @Bind("protocol") String protocol,
            @Bind("id") UUID instanceId);

    /** A reinstall: another image (or the same again), its command, and where the volume is mounted. */
    @SqlUpdate("""
            UPDATE instances SET image_id = :imageId, image_ref = :imageRef, command = :command, data_path = :dataPath,
                                 updated_at = :now
            WHERE id = :id""")
    int reinstalled(
            @Bind("id") UUID id,
            @Bind("imageId") UUID imageId,
            @Bind("imageRef") String imageRef,
            @Bind("command") @JsonColumn List<String> command,
            @Bind("dataPath") String dataPath,
            @Bind("now") Instant now);

    @SqlUpdate("UPDATE instances SET disk_over = :over, updated_at = :now WHERE id = :id")
    int setDiskOver(@Bind("id") UUID id, @Bind("over") boolean over, @Bind("now") Instant now);

    @SqlUpdate("UPDATE instances SET disk_mib = :disk, updated_at = :now WHERE id = :id")
    int setDiskMib(@Bind("id") UUID id, @Bind("disk") int diskMib, @Bind("now") Instant now);

    @SqlUpdate("UPDATE instances SET container_id = :cid, updated_at = :now WHERE id = :id")
    int setContainer(@Bind("id") UUID id, @Bind("cid") String containerId, @Bind("now") Instant now);

    @SqlUpdate("""
            UPDATE instances SET observed_state = :observed, observed_condition = :condition, last_error = :error,
                                 updated_at = :now
            WHERE id = :id""")
    int setObserved(
            @Bind("id") UUID id,
            @Bind("observed") String observed,
            @Bind("condition") String condition,
            @Bind("error") String error,
            @Bind("now") Instant now);

    /** A user's decision: the restart bookkeeping starts over. */
    @SqlUpdate("""
            UPDATE instances SET desired_state = :desired, crashes = 0, start_failures = 0, next_attempt_at = NULL,
                                 updated_at = :now
            WHERE id = :id""")
    int setDesired(@Bind("id") UUID id, @Bind("desired") String desired, @Bind("now") Instant now);

    @SqlUpdate("""
            UPDATE instances SET suspended = :suspended, desired_state = :desired, crashes = 0, start_failures = 0,
                                 next_attempt_at = NULL, updated_at = :now
            WHERE id = :id""")
    int setSuspended(
            @Bind("id") UUID id,
            @Bind("suspended") boolean suspended,
            @Bind("desired") String desired,
            @Bind("now") Instant now);

    @SqlUpdate("""
            UPDATE instances SET desired_state = 'deleted', observed_state = 'deleting', observed_condition = NULL,
                                 next_attempt_at = NULL, updated_at = :now
            WHERE id = :id""")
    int markDeleting(@Bind("id") UUID id, @Bind("now") Instant now);

    @SqlUpdate("DELETE FROM instances WHERE id = :id")
    int delete(@Bind("id") UUID id);

    /** The container died: how, and when the reconciler tries again. */
    @SqlUpdate("""
            UPDATE instances SET observed_state = :observed, observed_condition = :condition, exit_code = :exitCode,
                                 crashes = :crashes, next_attempt_at = :next, last_error = NULL, updated_at = :now
            WHERE id = :id""")
    int crashed(
            @Bind("id") UUID id,
            @Bind("observed") String observed,
            @Bind("condition") String condition,
            @Bind("exitCode") int exitCode,
            @Bind("crashes") int crashes,
            @Bind("next") Instant next,
            @Bind("now") Instant now);

    /** The container was started: running, nothing scheduled; the crash count stays until a long run ends it. */
    @SqlUpdate("""
            UPDATE instances SET observed_state = 'running', observed_condition = NULL, last_error = NULL,
                                 start_failures = 0, next_attempt_at = NULL, updated_at = :now
            WHERE id = :id""")
    int started(@Bind("id") UUID id, @Bind("now") Instant now);

    @SqlUpdate("""
            UPDATE instances SET observed_state = 'failed', observed_condition = NULL, last_error = :error,
                                 start_failures = :failures, next_attempt_at = :next, updated_at = :now
            WHERE id = :id""")
    int startFailed(
            @Bind("id") UUID id,
            @Bind("failures") int failures,
            @Bind("next") Instant next,
            @Bind("error") String error,
            @Bind("now") Instant now);

    @SqlUpdate("UPDATE instances SET crashes = 0, updated_at = :now WHERE id = :id AND crashes > 0")
    int resetCrashes(@Bind("id") UUID id, @Bind("now") Instant now);

    @SqlUpdate(
            "INSERT INTO instance_events (instance_id, node_id, at, kind, detail) VALUES (:id, :nodeId, :at, :kind, :detail)")
    void event(
            @Bind("id") UUID instanceId,
            @Bind("nodeId") UUID nodeId,
            @Bind("at") Instant at,
            @Bind("kind") String kind,
            @Bind("detail") String detail);

    @SqlUpdate("DELETE FROM instance_events WHERE at < :before")
    int deleteEventsBefore(@Bind("before") Instant before);

    @SqlQuery("""
            SELECT instance_id FROM instance_events WHERE instance_id IS NOT NULL
            GROUP BY instance_id HAVING COUNT(*) > :keep""")
    List<UUID> instancesWithMoreEventsThan(@Bind("keep") int keep);

    /** The newest event of the instance that is not among its {@code keep} newest; empty when there is none. */
    @SqlQuery("SELECT id FROM instance_events WHERE instance_id = :id ORDER BY id DESC LIMIT 1 OFFSET :keep")
    Optional<Long> firstEventBeyond(@Bind("id") UUID instanceId, @Bind("keep") int keep);

    @SqlUpdate("DELETE FROM instance_events WHERE instance_id = :id AND id <= :upTo")
    int deleteEventsUpTo(@Bind("id") UUID instanceId, @Bind("upTo") long upTo);

    @SqlQuery("SELECT id FROM instance_events WHERE instance_id IS NULL ORDER BY id DESC LIMIT 1 OFFSET :keep")
    Optional<Long> firstUnattachedEventBeyond(@Bind("keep") int keep);

    @SqlUpdate("DELETE FROM instance_events WHERE instance_id IS NULL AND id <= :upTo")
    int deleteUnattachedEventsUpTo(@Bind("upTo") long upTo);
}
