package dev.pier.live;

import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

@RegisterConstructorMapper(ConsoleTicketRow.class)
interface ConsoleTicketDao {
    @SqlUpdate("""
            INSERT INTO console_tickets (id, token_hash, user_id, instance_id, credential_kind, credential_id,
                                         created_at, expires_at)
            VALUES (:id, :hash, :userId, :instanceId, :kind, :credentialId, :now, :expires)
            """)
    void insert(
            @Bind("id") UUID id,
            @Bind("hash") String tokenHash,
            @Bind("userId") UUID userId,
            @Bind("instanceId") UUID instanceId,
            @Bind("kind") String credentialKind,
            @Bind("credentialId") String credentialId,
            @Bind("now") Instant now,
            @Bind("expires") Instant expiresAt);

    /**
     * Uses the ticket up, only if it is for this instance, unused and unexpired: one statement, so of any
     * number of redeems at once exactly one sees 1 row.
     */
    @SqlUpdate("""
            UPDATE console_tickets SET used_at = :now
            WHERE token_hash = :hash AND instance_id = :instance AND used_at IS NULL AND expires_at > :now
            """)
    int use(@Bind("hash") String tokenHash, @Bind("instance") UUID instanceId, @Bind("now") Instant now);

    @SqlQuery("SELECT user_id, credential_kind, credential_id FROM console_tickets WHERE token_hash = :hash")
    Optional<ConsoleTicketRow> findByHash(@Bind("hash") String tokenHash);

    @SqlUpdate("DELETE FROM console_tickets WHERE expires_at < :before")
    int deleteExpiredBefore(@Bind("before") Instant before);
}
