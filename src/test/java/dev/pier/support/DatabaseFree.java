package dev.pier.support;

import org.junit.jupiter.api.Tag;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A test class or method whose outcome does not depend on which store the run uses ({@code pier.test.db}):
 * pure logic, the Docker runtime alone, the embedded store only, or a database of the test's own. The
 * suite runs it once (in the SQLite pass), not once per store.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Tag(DatabaseFree.TAG)
public @interface DatabaseFree {
    String TAG = "database-free";
}
