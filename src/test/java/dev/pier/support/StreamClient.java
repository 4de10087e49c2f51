package dev.pier.support;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A real streaming client for tests: opens a Server-Sent Events or NDJSON answer with Java's HttpClient
 * and parses it as it arrives, on a thread of its own, into a queue of {@link Event}s. SSE comments
 * (heartbeats) are counted; the end of the answer is an event of type {@code "<closed>"}.
 */
public final class StreamClient implements AutoCloseable {
    private static final HttpClient CLIENT =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** One event: SSE fields, or for NDJSON the line as {@code data} and its JSON. */
    public record Event(String id, String type, String data, long receivedNanos) {
        public JsonNode json() {
            return Http.parse(data);
        }

        public boolean closed() {
            return type.equals("<closed>");
        }
    }

    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final int status;
    private final String contentType;
    private final InputStream body;
    private final Thread reader;
    private volatile int comments;

    private StreamClient(HttpResponse<InputStream> r, boolean sse) {
        this.status = r.statusCode();
        this.contentType = r.headers().firstValue("Content-Type").orElse("");
        this.body = r.body();
        this.reader = Thread.ofVirtual().start(() -> read(sse));
    }

    /** Opens {@code path} as SSE ({@code Accept: text/event-stream}) with the given header pairs. */
    public static StreamClient sse(Http http, String path, String... headers) {
        return open(http, path, true, headers);
    }

    /** Opens {@code path} without asking for SSE (so NDJSON) with the given header pairs. */
    public static StreamClient ndjson(Http http, String path, String... headers) {
        return open(http, path, false, headers);
    }

    private static StreamClient open(Http http, String path, boolean sse, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(http.base() + path));
        if (sse) {
            b.header("Accept", "text/event-stream");
        }
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        try {
            return new StreamClient(CLIENT.send(b.GET().build(), HttpResponse.BodyHandlers.ofInputStream()), sse);
        } catch (IOException e) {
            throw new AssertionError("stream request failed: " + path, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    public int status() {
        return status;
    }

    public String contentType() {
        return contentType;
    }

    public int comments() {
        return comments;
    }

    private void read(boolean sse) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
            String id = null;
            String type = null;
            StringBuilder data = null;
            String line;
            while ((line = in.readLine()) != null) {
                if (!sse) {
                    if (!line.isEmpty()) {
                        events.add(new Event(null, "ndjson", line, System.nanoTime()));
                    }
                    continue;
                }
                if (line.isEmpty()) {
                    if (data != null) {
                        events.add(new Event(id, type == null ? "message" : type, data.toString(), System.nanoTime()));
                    }
                    id = null;
                    type = null;
                    data = null;
                } else if (line.startsWith(":")) {
                    comments++;
                } else if (line.startsWith("id: ")) {
                    id = line.substring(4);
                } else if (line.startsWith("event: ")) {
                    type = line.substring(7);
                } else if (line.startsWith("data: ")) {
                    data = data == null ? new StringBuilder() : data.append('\n');
                    data.append(line.substring(6));
                }
            }
        } catch (IOException e) {
            // closed by us, or the connection broke
        }
        events.add(new Event(null, "<closed>", "", System.nanoTime()));
    }

    /** The next event within {@code timeout}; fails the test if none comes. */
    public Event next(Duration timeout) {
        try {
            Event e = events.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (e == null) {
                throw new AssertionError("no event within " + timeout);
            }
            return e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Events until one matches {@code until} (included), within {@code timeout} overall. */
    public List<Event> until(Predicate<Event> until, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<Event> seen = new ArrayList<>();
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("no matching event within " + timeout + "; got " + seen.size() + ": "
                        + seen.subList(Math.max(0, seen.size() - 5), seen.size()));
            }
            Event e;
            try {
                e = next(Duration.ofNanos(left));
            } catch (AssertionError none) {
                throw new AssertionError("no matching event within " + timeout + "; got " + seen.size() + ", the last: "
                        + seen.subList(Math.max(0, seen.size() - 8), seen.size()));
            }
            seen.add(e);
            if (until.test(e)) {
                return seen;
            }
            if (e.closed()) {
                throw new AssertionError("stream closed before a matching event; got " + seen);
            }
        }
    }

    /** Whatever has arrived so far, without waiting. */
    public List<Event> drain() {
        List<Event> out = new ArrayList<>();
        events.drainTo(out);
        return out;
    }

    @Override
    public void close() {
        try {
            body.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        reader.interrupt();
    }
}
