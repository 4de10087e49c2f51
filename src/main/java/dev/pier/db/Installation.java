package dev.pier.db;

import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

import java.util.UUID;

/** This installation's id, made at first start; labels its containers so installations sharing an engine stay apart. */
public final class Installation {
    private Installation() {
    }

    public static UUID id(Jdbi jdbi) {
        for (int attempt = 0; attempt < 2; attempt++) {
            var existing = jdbi.withHandle(h -> h.createQuery("SELECT installation_id FROM installation WHERE id = 1")
                    .mapTo(UUID.class).findOne());
            if (existing.isPresent()) {
                return existing.get();
            }
            try {
                UUID fresh = UUID.randomUUID();
                jdbi.useHandle(h -> h.createUpdate("INSERT INTO installation (id, installation_id) VALUES (1, :id)")
                        .bind("id", fresh).execute());
                return fresh;
            } catch (UnableToExecuteStatementException raced) {
                // another process inserted it first: read theirs
            }
        }
        throw new IllegalStateException("cannot read or create the installation id");
    }
}
