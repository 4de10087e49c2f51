package dev.pier.db;

import org.jdbi.v3.core.statement.StatementContext;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.UUID;

/**
 * Reads UUID and time columns in hand-written row mappers the way the current store keeps them
 * (native types on PostgreSQL, text on SQLite), through the column mappers {@link Database} registers.
 */
public final class Columns {
    private Columns() {}

    public static UUID uuid(ResultSet rs, int column, StatementContext ctx) throws SQLException {
        return ctx.findColumnMapperFor(UUID.class).orElseThrow().map(rs, column, ctx);
    }

    /** The instant in the column, or null. */
    public static Instant instant(ResultSet rs, int column, StatementContext ctx) throws SQLException {
        return ctx.findColumnMapperFor(Instant.class).orElseThrow().map(rs, column, ctx);
    }
}
