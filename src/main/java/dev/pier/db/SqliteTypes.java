package dev.pier.db;

import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.argument.AbstractArgumentFactory;
import org.jdbi.v3.core.argument.Argument;
import org.jdbi.v3.core.config.ConfigRegistry;

import java.sql.Types;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.UUID;

/**
 * How SQLite keeps the values it has no type for. A UUID is its canonical text. An instant is UTC text
 * of one fixed width with microseconds ({@code 2026-12-01T06:21:17.123456Z}): text order is then time
 * order, so {@code ORDER BY} and comparisons with a bound instant work in SQL, and a value stays
 * readable with the {@code sqlite3} shell. Finer than microseconds is cut, as PostgreSQL does.
 */
final class SqliteTypes {
    static final DateTimeFormatter INSTANT =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);

    private SqliteTypes() {}

    static void install(Jdbi jdbi) {
        jdbi.registerArgument(new InstantText());
        jdbi.registerArgument(new UuidText());
        jdbi.registerColumnMapper(Instant.class, (rs, col, ctx) -> parseInstant(rs.getString(col)));
        jdbi.registerColumnMapper(UUID.class, (rs, col, ctx) -> {
            String s = rs.getString(col);
            return s == null ? null : UUID.fromString(s);
        });
    }

    static String format(Instant i) {
        return INSTANT.format(i.truncatedTo(ChronoUnit.MICROS));
    }

    static Instant parseInstant(String s) {
        if (s == null) {
            return null;
        }
        try {
            return Instant.parse(s);
        } catch (DateTimeParseException e) {
            throw new IllegalStateException("not a time in the database: '" + s + "'", e);
        }
    }

    private static final class InstantText extends AbstractArgumentFactory<Instant> {
        InstantText() {
            super(Types.VARCHAR);
        }

        @Override
        protected Argument build(Instant value, ConfigRegistry config) {
            String text = format(value);
            return (position, statement, ctx) -> statement.setString(position, text);
        }
    }

    private static final class UuidText extends AbstractArgumentFactory<UUID> {
        UuidText() {
            super(Types.VARCHAR);
        }

        @Override
        protected Argument build(UUID value, ConfigRegistry config) {
            String text = value.toString();
            return (position, statement, ctx) -> statement.setString(position, text);
        }
    }
}
