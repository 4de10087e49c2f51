package dev.pier.db;

import org.jdbi.v3.core.argument.AbstractArgumentFactory;
import org.jdbi.v3.core.argument.Argument;
import org.jdbi.v3.core.config.ConfigRegistry;

import java.sql.Types;
import java.util.UUID;

/** Binds UUIDs with setObject, which PostgreSQL maps onto its native UUID type (SQLite: see SqliteTypes). */
final class UuidArgumentFactory extends AbstractArgumentFactory<UUID> {
    UuidArgumentFactory() {
        super(Types.OTHER);
    }

    @Override
    protected Argument build(UUID value, ConfigRegistry config) {
        return (position, statement, ctx) -> statement.setObject(position, value);
    }
}
