package dev.pier.keys;

import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

@RegisterConstructorMapper(ApiKeyRow.class)
interface ApiKeyDao {
    String SELECT = """
            SELECT k.id, k.user_id, u.username, k.description, k.access_level, k.enabled, k.expires_at,
                   k.created_at, k.updated_at, k.last_used_at, k.key_hash
            FROM api_keys k JOIN users u ON u.id = k.user_id
            """;

    @SqlUpdate("""
            INSERT INTO api_keys (id, user_id, key_hash, description, access_level, enabled, expires_at, created_at, updated_at)
            VALUES (:id, :userId, :hash, :description, :level, :enabled, :expires, :now, :now)
            """)
    void insert(
            @Bind("id") UUID id,
            @Bind("userId") UUID userId,
            @Bind("hash") String hash,
            @Bind("description") String description,
            @Bind("level") String level,
            @Bind("enabled") boolean enabled,
            @Bind("expires") Instant expires,
            @Bind("now") Instant now);

    @SqlQuery(SELECT + " WHERE k.id = :id")
    Optional<ApiKeyRow> findById(@Bind("id") UUID id);

    @SqlQuery(SELECT + " WHERE k.key_hash = :hash")
    Optional<ApiKeyRow> findByHash(@Bind("hash") String hash);

    @SqlQuery(SELECT + " WHERE k.user_id = :userId ORDER BY k.created_at, k.id")
    List<ApiKeyRow> listByUser(@Bind("userId") UUID userId);

    @SqlQuery("SELECT COUNT(*) FROM api_keys WHERE user_id = :userId")
    int countByUser(@Bind("userId") UUID userId);

    @SqlQuery(SELECT + " ORDER BY k.created_at, k.id")
    List<ApiKeyRow> listAll();

    @SqlUpdate("""
            UPDATE api_keys SET description = :description, enabled = :enabled, expires_at = :expires, updated_at = :now
            WHERE id = :id
            """)
    int update(
            @Bind("id") UUID id,
            @Bind("description") String description,
            @Bind("enabled") boolean enabled,
            @Bind("expires") Instant expires,
            @Bind("now") Instant now);

    @SqlUpdate("DELETE FROM api_keys WHERE id = :id")
    int delete(@Bind("id") UUID id);

    /** Marks first use; returns 1 only for the very first use, so that is audited exactly once. */
    @SqlUpdate("UPDATE api_keys SET last_used_at = :now WHERE id = :id AND last_used_at IS NULL")
    int markFirstUse(@Bind("id") UUID id, @Bind("now") Instant now);

    @SqlUpdate("UPDATE api_keys SET last_used_at = :now WHERE id = :id")
    int markUsed(@Bind("id") UUID id, @Bind("now") Instant now);
}
