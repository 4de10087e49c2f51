package dev.pier.db;

import dev.pier.config.ConfigException;
import dev.pier.crypto.MasterKey;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.UUID;

/**
 * This installation's identity, made at first start: its id labels its containers, so installations
 * sharing an engine stay apart, and its key check ties the database to one master key.
 */
public final class Installation {
    private Installation() {}

    private record Row(UUID id, String keyCheck) {}

    /**
     * Returns this installation's id, creating it on first start, after checking that {@code key} is
     * the master key the database was set up with. A database from before the check learns the key
     * it is first opened with.
     *
     * @throws ConfigException when the database belongs to another master key
     */
    public static UUID open(Jdbi jdbi, MasterKey key) {
        String check = key.derive("installation-key-check");
        Optional<Row> row = read(jdbi);
        if (row.isEmpty()) {
            UUID fresh = UUID.randomUUID();
            try {
                jdbi.useHandle(h -> h.createUpdate(
                                "INSERT INTO installation (id, installation_id, key_check) VALUES (1, :id, :check)")
                        .bind("id", fresh)
                        .bind("check", check)
                        .execute());
                return fresh;
            } catch (UnableToExecuteStatementException raced) {
                row = read(jdbi); // another process inserted it first: check against theirs
            }
        }
        if (row.orElseThrow().keyCheck() == null) {
            // made before the check existed: it learns this key (or the one another process set first)
            jdbi.useHandle(
                    h -> h.createUpdate("UPDATE installation SET key_check = :check WHERE id = 1 AND key_check IS NULL")
                            .bind("check", check)
                            .execute());
            row = read(jdbi);
        }
        Row r = row.orElseThrow();
        if (!MessageDigest.isEqual(
                r.keyCheck().getBytes(StandardCharsets.US_ASCII), check.getBytes(StandardCharsets.US_ASCII))) {
            throw new ConfigException("the master key does not belong to this database: its secrets were "
                    + "sealed with another key. Restore the original master.key (or PIER_MASTER_KEY) "
                    + "from your backup");
        }
        return r.id();
    }

    private static Optional<Row> read(Jdbi jdbi) {
        return jdbi.withHandle(h -> h.createQuery("SELECT installation_id, key_check FROM installation WHERE id = 1")
                .map((rs, ctx) -> new Row(Columns.uuid(rs, 1, ctx), rs.getString(2)))
                .findOne());
    }

    /** This installation's id, without a key check (the database must already be open). */
    public static UUID id(Jdbi jdbi) {
        return jdbi.withHandle(h -> h.createQuery("SELECT installation_id FROM installation WHERE id = 1")
                .mapTo(UUID.class)
                .one());
    }
}
