package dev.pier.db;

import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * A counter bumped, in the same transaction, by every change that makes cached credentials or user
 * data stale. The server polls it so changes made by another process (the CLI) reach its caches
 * within one poll interval; its own changes drop the caches at once.
 */
public final class CacheEpoch {
    private CacheEpoch() {
    }

    public static void bump(Handle h) {
        h.createUpdate("UPDATE cache_epoch SET epoch = epoch + 1 WHERE id = 1").execute();
    }

    public static long read(Jdbi jdbi) {
        return jdbi.withHandle(h -> h.createQuery("SELECT epoch FROM cache_epoch WHERE id = 1").mapTo(Long.class).one());
    }
}
