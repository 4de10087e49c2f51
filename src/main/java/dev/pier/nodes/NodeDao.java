package dev.pier.nodes;

import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

@RegisterConstructorMapper(NodeRow.class)
interface NodeDao {
    String COLUMNS = """
            id, name, tags, ram_mib, disk_mib, processor, endpoint, tls_ca, tls_cert, tls_key, status, last_seen_at,
            created_at, updated_at, host_port_min, host_port_max""";

    @SqlQuery("SELECT " + COLUMNS + " FROM nodes ORDER BY created_at, name")
    List<NodeRow> listAll();

    @SqlQuery("SELECT " + COLUMNS + " FROM nodes WHERE id = :id")
    Optional<NodeRow> findById(@Bind("id") UUID id);

    @SqlQuery("SELECT " + COLUMNS + " FROM nodes WHERE name = :name")
    Optional<NodeRow> findByName(@Bind("name") String name);

    @SqlQuery("SELECT COUNT(*) FROM nodes")
    int count();

    @SqlUpdate("""
            INSERT INTO nodes (id, name, tags, ram_mib, disk_mib, processor, endpoint, tls_ca, tls_cert, tls_key, status,
                               created_at, updated_at, host_port_min, host_port_max)
            VALUES (:id, :name, :tags, :ram, :disk, :processor, :endpoint, :ca, :cert, :key, 'unknown', :now, :now,
                    :portMin, :portMax)
            """)
    void insert(
            @Bind("id") UUID id,
            @Bind("name") String name,
            @Bind("tags") String tags,
            @Bind("ram") long ram,
            @Bind("disk") long disk,
            @Bind("processor") String processor,
            @Bind("endpoint") String endpoint,
            @Bind("ca") String ca,
            @Bind("cert") String cert,
            @Bind("key") String sealedKey,
            @Bind("now") Instant now,
            @Bind("portMin") int hostPortMin,
            @Bind("portMax") int hostPortMax);

    @SqlUpdate("UPDATE nodes SET status = :status, last_seen_at = COALESCE(:seen, last_seen_at) WHERE id = :id")
    int setStatus(@Bind("id") UUID id, @Bind("status") String status, @Bind("seen") Instant seen);

    @SqlUpdate("DELETE FROM nodes WHERE id = :id")
    int delete(@Bind("id") UUID id);

    @SqlQuery("SELECT COUNT(*) FROM instances WHERE node_id = :id")
    int countInstances(@Bind("id") UUID id);
}
