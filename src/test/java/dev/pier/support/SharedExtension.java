package dev.pier.support;

import dev.pier.instances.InstanceFixture;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;
import org.junit.platform.commons.support.HierarchyTraversalMode;
import org.junit.platform.commons.support.ModifierSupport;

import java.lang.reflect.Field;
import java.util.List;

/** Starts, cleans and closes the {@link Shared} fields of a test class. */
public final class SharedExtension implements BeforeAllCallback, AfterEachCallback, AfterAllCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(SharedExtension.class);

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        for (Field f : fields(context.getRequiredTestClass())) {
            f.setAccessible(true);
            if (f.get(null) != null) {
                continue; // already started (a nested class sees its outer class's fields)
            }
            f.set(null, start(f.getType()));
            context.getStore(NS).put(f, Boolean.TRUE); // this class started it, and closes it
        }
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        for (Field f : fields(context.getRequiredTestClass())) {
            f.setAccessible(true);
            if (f.get(null) instanceof InstanceFixture fixture) {
                fixture.cleanup();
            }
        }
    }

    /** After the class's own {@code @AfterAll} methods: closes what {@link #beforeAll} started. */
    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        Exception first = null;
        for (Field f : fields(context.getRequiredTestClass())) {
            if (context.getStore(NS).remove(f) == null) {
                continue;
            }
            f.setAccessible(true);
            Object value = f.get(null);
            f.set(null, null);
            try {
                if (value instanceof AutoCloseable c) {
                    c.close();
                }
            } catch (Exception e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    private static AutoCloseable start(Class<?> type) {
        if (type == TestServer.class) {
            return TestServer.start();
        }
        if (type == InstanceFixture.class) {
            return InstanceFixture.start();
        }
        throw new IllegalStateException("@Shared knows TestServer and InstanceFixture, not " + type.getName());
    }

    private static List<Field> fields(Class<?> testClass) {
        List<Field> found = AnnotationSupport.findAnnotatedFields(
                testClass, Shared.class, ModifierSupport::isStatic, HierarchyTraversalMode.TOP_DOWN);
        if (found.size()
                != AnnotationSupport.findAnnotatedFields(testClass, Shared.class)
                        .size()) {
            throw new IllegalStateException("@Shared fields must be static: " + testClass.getName());
        }
        return found;
    }
}
