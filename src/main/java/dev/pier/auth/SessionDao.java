package dev.pier.auth;

import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

@RegisterConstructorMapper(SessionRow.class)
interface SessionDao {
    String COLUMNS =
            "id, user_id, access_hash, access_expires_at, refresh_hash, refresh_expires_at, created_at, refreshed_at";

    @SqlUpdate("""
            INSERT INTO sessions (id, user_id, access_hash, access_expires_at, refresh_hash, refresh_expires_at,
                                  client_addr, created_at, refreshed_at)
            VALUES (:id, :userId, :accessHash, :accessExpires, :refreshHash, :refreshExpires, :addr, :now, :now)
            """)
    void insert(
            @Bind("id") UUID id,
            @Bind("userId") UUID userId,
            @Bind("accessHash") String accessHash,
            @Bind("accessExpires") Instant accessExpires,
            @Bind("refreshHash") String refreshHash,
            @Bind("refreshExpires") Instant refreshExpires,
            @Bind("addr") String clientAddr,
            @Bind("now") Instant now);

    @SqlQuery("SELECT " + COLUMNS + " FROM sessions WHERE access_hash = :hash")
    Optional<SessionRow> findByAccessHash(@Bind("hash") String hash);

    @SqlQuery("SELECT " + COLUMNS + " FROM sessions WHERE refresh_hash = :hash")
    Optional<SessionRow> findByRefreshHash(@Bind("hash") String hash);

    @SqlQuery("SELECT session_id FROM retired_refresh_tokens WHERE refresh_hash = :hash")
    Optional<UUID> findRetired(@Bind("hash") String hash);

    /** Rotates both tokens, only if the presented refresh token is still the current one (compare-and-set). */
    @SqlUpdate("""
            UPDATE sessions SET access_hash = :accessHash, access_expires_at = :accessExpires,
                                refresh_hash = :refreshHash, refresh_expires_at = :refreshExpires, refreshed_at = :now
            WHERE id = :id AND refresh_hash = :oldRefreshHash
            """)
    int rotate(
            @Bind("id") UUID id,
            @Bind("oldRefreshHash") String oldRefreshHash,
            @Bind("accessHash") String accessHash,
            @Bind("accessExpires") Instant accessExpires,
            @Bind("refreshHash") String refreshHash,
            @Bind("refreshExpires") Instant refreshExpires,
            @Bind("now") Instant now);

    @SqlUpdate(
            "INSERT INTO retired_refresh_tokens (refresh_hash, session_id, retired_at) VALUES (:hash, :sessionId, :now)")
    void retire(@Bind("hash") String hash, @Bind("sessionId") UUID sessionId, @Bind("now") Instant now);

    @SqlUpdate("DELETE FROM sessions WHERE id = :id")
    int delete(@Bind("id") UUID id);

    @SqlUpdate("DELETE FROM sessions WHERE user_id = :userId")
    int deleteAllOf(@Bind("userId") UUID userId);

    @SqlUpdate("DELETE FROM sessions WHERE refresh_expires_at < :now")
    int deleteExpired(@Bind("now") Instant now);
}
