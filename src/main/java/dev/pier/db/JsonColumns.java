package dev.pier.db;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.argument.Argument;
import org.jdbi.v3.core.argument.QualifiedArgumentFactory;
import org.jdbi.v3.core.config.ConfigRegistry;
import org.jdbi.v3.core.mapper.ColumnMapper;
import org.jdbi.v3.core.mapper.QualifiedColumnMapperFactory;
import org.jdbi.v3.core.qualifier.QualifiedType;

import java.sql.Types;
import java.util.Optional;

/**
 * Reads and writes {@link JsonColumn} values through Jdbi's qualified-type mappers. (Jdbi's own Jackson
 * plugin stops at 3.51 on Maven Central, behind the core this build uses; this is its mechanism, for
 * Pier's one JSON configuration.)
 */
final class JsonColumns {
    private JsonColumns() {}

    /** Teaches {@code jdbi} to read and write {@link JsonColumn} values with {@code mapper}. */
    static void install(Jdbi jdbi, ObjectMapper mapper) {
        jdbi.registerColumnMapper(new QualifiedColumnMapperFactory() {
            @Override
            public Optional<ColumnMapper<?>> build(QualifiedType<?> type, ConfigRegistry config) {
                if (!type.hasQualifier(JsonColumn.class)) {
                    return Optional.empty();
                }
                JavaType target = mapper.constructType(type.getType());
                return Optional.of((rs, column, ctx) -> {
                    String text = rs.getString(column);
                    try {
                        return text == null ? null : mapper.readValue(text, target);
                    } catch (JsonProcessingException e) {
                        throw new IllegalStateException(
                                "corrupt JSON in column " + column + ": " + e.getOriginalMessage(), e);
                    }
                });
            }
        });
        jdbi.registerArgument(new QualifiedArgumentFactory() {
            @Override
            public Optional<Argument> build(QualifiedType<?> type, Object value, ConfigRegistry config) {
                if (!type.hasQualifier(JsonColumn.class)) {
                    return Optional.empty();
                }
                String text;
                try {
                    text = value == null ? null : mapper.writeValueAsString(value);
                } catch (JsonProcessingException e) {
                    throw new IllegalArgumentException("cannot write as JSON: " + e.getOriginalMessage(), e);
                }
                return Optional.of((position, statement, ctx) -> {
                    if (text == null) {
                        statement.setNull(position, Types.VARCHAR);
                    } else {
                        statement.setString(position, text);
                    }
                });
            }
        });
    }
}
