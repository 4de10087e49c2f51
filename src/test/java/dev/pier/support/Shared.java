package dev.pier.support;

import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A static field that {@link SharedExtension} fills before a test class runs and closes after it: one real
 * server ({@link TestServer}) or one server with the Docker fixture ({@code dev.pier.instances.InstanceFixture},
 * cleaned after every test), shared by the class's tests. Replaces the same start, clean and stop methods
 * copied into every class. A class that needs a server configured otherwise starts its own.
 */
@Target(ElementType.FIELD)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(SharedExtension.class)
public @interface Shared {}
