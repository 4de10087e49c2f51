package dev.pier.support;

import org.junit.jupiter.api.Tag;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A test class that compares how long requests take, to within a few milliseconds. The suite runs it
 * in a pass of its own, one test JVM and nothing beside it: on two cores, the other test JVM's work
 * lands on one side of a comparison more than the other and swamps the difference being measured.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Tag(Timing.TAG)
public @interface Timing {
    String TAG = "timing";
}
