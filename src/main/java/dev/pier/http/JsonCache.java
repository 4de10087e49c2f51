package dev.pier.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.javalin.http.Context;

import java.util.List;
import java.util.function.Supplier;

/**
 * The serialized form of a list that changes rarely and is read often (user and droplet lists).
 * The services hand out the same immutable list object until something changes; as long as the
 * sources are the same objects, the bytes from last time are sent again. Thread-safe.
 */
public final class JsonCache {
    private record Entry(List<Object> sources, byte[] bytes) {}

    private volatile Entry last;

    /** Sends the JSON of {@code build}, reusing the previous bytes when every source is the same object. */
    public void send(Context ctx, List<Object> sources, Supplier<Object> build) {
        Entry e = last;
        if (e == null || !sameObjects(e.sources(), sources)) {
            try {
                e = new Entry(sources, Json.MAPPER.writeValueAsBytes(build.get()));
            } catch (JsonProcessingException ex) {
                throw new IllegalStateException(ex);
            }
            last = e;
        }
        ctx.contentType("application/json").result(e.bytes());
    }

    private static boolean sameObjects(List<Object> a, List<Object> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (a.get(i) != b.get(i)) {
                return false;
            }
        }
        return true;
    }
}
