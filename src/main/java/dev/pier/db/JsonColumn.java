package dev.pier.db;

import org.jdbi.v3.core.qualifier.Qualifier;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A column that holds a value as JSON text (an image's command, an instance's ports and variables).
 * Put it on a row record's component and on a DAO parameter, and Jdbi reads and writes the typed value
 * through its qualified-type mappers ({@link JsonColumns}); rows never handle the JSON text.
 */
@Qualifier
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.PARAMETER, ElementType.FIELD, ElementType.METHOD})
public @interface JsonColumn {}
