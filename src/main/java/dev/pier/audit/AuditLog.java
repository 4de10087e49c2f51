package dev.pier.audit;

import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.mapper.reflect.ConstructorMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Append-only record of security-relevant events. Entries that belong to a change are written in the
 * change's own transaction ({@link #record(Handle, Actor, String, String, String, String)}), so there
 * is no change without its entry; failures are written on their own.
 */
public final class AuditLog {
    private static final Logger log = LoggerFactory.getLogger(AuditLog.class);
    private final Jdbi jdbi;
    private final Clock clock;

    public AuditLog(Jdbi jdbi, Clock clock) {
        this.jdbi = jdbi;
        this.clock = clock;
    }

    public record Entry(
            long id,
            Instant at,
            UUID actorId,
            String actorName,
            String credentialId,
            String clientAddr,
            String action,
            String target,
            String outcome,
            String detail) {}

    public void record(Actor actor, String action, String target, String outcome, String detail) {
        try {
            jdbi.useHandle(h -> record(h, actor, action, target, outcome, detail));
        } catch (RuntimeException e) {
            // The audit write must not turn a refused login into a 500; the log line keeps the event.
            log.error("audit write failed for {} {} {}", action, target, outcome, e);
        }
    }

    public void record(Handle h, Actor actor, String action, String target, String outcome, String detail) {
        h.createUpdate("""
                        INSERT INTO audit_log (at, actor_id, actor_name, credential_id, client_addr, action, target, outcome, detail)
                        VALUES (:at, :actorId, :actorName, :credentialId, :addr, :action, :target, :outcome, :detail)
                        """)
                .bind("at", clock.instant().truncatedTo(ChronoUnit.MICROS))
                .bind("actorId", actor.userId())
                .bind("actorName", truncate(actor.name(), 64))
                .bind("credentialId", truncate(actor.credentialId(), 64))
                .bind("addr", truncate(actor.clientAddr(), 64))
                .bind("action", action)
                .bind("target", truncate(target, 255))
                .bind("outcome", outcome)
                .bind("detail", truncate(detail, 1024))
                .execute();
    }

    /** Newest first. */
    public List<Entry> recent(int limit, long beforeId, Map<String, String> filters) {
        return jdbi.withHandle(h -> {
            StringBuilder sql = new StringBuilder("""
                    SELECT id, at, actor_id, actor_name, credential_id, client_addr, action, target, outcome, detail
                    FROM audit_log WHERE id < :before""");
            if (filters.containsKey("action")) {
                sql.append(" AND action = :action");
            }
            if (filters.containsKey("actor")) {
                sql.append(" AND actor_name = :actor");
            }
            sql.append(" ORDER BY id DESC LIMIT :limit");
            var q = h.createQuery(sql.toString()).bind("before", beforeId).bind("limit", limit);
            filters.forEach(q::bind);
            return q.map(ConstructorMapper.of(Entry.class)).list();
        });
    }

    private static String truncate(String s, int max) {
        return s == null || s.length() <= max ? s : s.substring(0, max);
    }
}
