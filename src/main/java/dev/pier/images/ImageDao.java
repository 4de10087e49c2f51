package dev.pier.images;

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

@RegisterConstructorMapper(ImageRow.class)
interface ImageDao {
    String COLUMNS =
            "id, name, reference, description, command, ports, variables, default_slot, stdin, data_path, created_at, updated_at";

    @SqlQuery("SELECT " + COLUMNS + " FROM images ORDER BY created_at, name")
    List<ImageRow> listAll();

    @SqlQuery("SELECT " + COLUMNS + " FROM images WHERE id = :id")
    Optional<ImageRow> findById(@Bind("id") UUID id);

    @SqlQuery("SELECT " + COLUMNS + " FROM images WHERE name = :name")
    Optional<ImageRow> findByName(@Bind("name") String name);

    @SqlQuery("SELECT " + COLUMNS + " FROM images WHERE reference = :ref ORDER BY created_at")
    List<ImageRow> findByReference(@Bind("ref") String reference);

    @SqlQuery("SELECT " + COLUMNS + " FROM images WHERE default_slot = 1")
    Optional<ImageRow> findDefault();

    @SqlUpdate("""
            INSERT INTO images (id, name, reference, description, command, ports, variables, default_slot, stdin,
                                data_path, created_at, updated_at)
            VALUES (:id, :name, :reference, :description, :command, :ports, :variables, :slot, :stdin, :dataPath,
                    :now, :now)
            """)
    void insert(
            @Bind("id") UUID id,
            @Bind("name") String name,
            @Bind("reference") String reference,
            @Bind("description") String description,
            @Bind("command") @JsonColumn List<String> command,
            @Bind("ports") @JsonColumn List<Integer> ports,
            @Bind("variables") @JsonColumn Map<String, String> variables,
            @Bind("slot") Integer defaultSlot,
            @Bind("stdin") boolean stdin,
            @Bind("dataPath") String dataPath,
            @Bind("now") Instant now);

    @SqlUpdate("""
            UPDATE images SET name = :name, reference = :reference, description = :description, command = :command,
                              ports = :ports, variables = :variables, default_slot = :slot, stdin = :stdin,
                              data_path = :dataPath, updated_at = :now
            WHERE id = :id
            """)
    int update(
            @Bind("id") UUID id,
            @Bind("name") String name,
            @Bind("reference") String reference,
            @Bind("description") String description,
            @Bind("command") @JsonColumn List<String> command,
            @Bind("ports") @JsonColumn List<Integer> ports,
            @Bind("variables") @JsonColumn Map<String, String> variables,
            @Bind("slot") Integer defaultSlot,
            @Bind("stdin") boolean stdin,
            @Bind("dataPath") String dataPath,
            @Bind("now") Instant now);

    @SqlUpdate("UPDATE images SET default_slot = NULL WHERE default_slot = 1")
    int clearDefault();

    @SqlUpdate("DELETE FROM images WHERE id = :id")
    int delete(@Bind("id") UUID id);
}
