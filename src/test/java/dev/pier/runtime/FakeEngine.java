package dev.pier.runtime;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A hand-written fake of a Docker engine on loopback TCP, speaking just enough of the API for Pier's node
 * check, reconcile pass and event stream, with each path's answer replaceable: what a hostile or broken node
 * does (redirects, garbage, oversized answers, silence) cannot be provoked from a real engine. By default it
 * is a calm, empty engine: {@code /_ping} answers {@code OK}, {@code /containers/json} {@code []}, and
 * {@code /events} stays open without a word.
 */
public final class FakeEngine implements AutoCloseable {
    /** Answers one request; may block (the server runs each exchange on its own virtual thread). */
    @FunctionalInterface
    public interface Handler {
        void handle(HttpExchange x) throws IOException, InterruptedException;
    }

    private final HttpServer server;
    private final Map<String, Handler> handlers = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> hits = new ConcurrentHashMap<>();
    public final List<String> requests = new CopyOnWriteArrayList<>();

    public FakeEngine() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        handlers.put("/_ping", x -> text(x, 200, "OK"));
        handlers.put("/containers/json", x -> json(x, 200, "[]"));
        handlers.put("/events", x -> {
            x.getResponseHeaders().set("Content-Type", "application/json");
            x.sendResponseHeaders(200, 0);
            x.getResponseBody().flush();
            Thread.sleep(Long.MAX_VALUE); // a quiet engine: no events
        });
        server.createContext("/", x -> {
            String path = x.getRequestURI().getPath().replaceFirst("^/v\\d+(\\.\\d+)*", "");
            requests.add(x.getRequestMethod() + " " + x.getRequestURI());
            hits.computeIfAbsent(path, k -> new AtomicInteger()).incrementAndGet();
            Handler h = handlers.getOrDefault(path, e -> json(e, 404, "{\"message\":\"no such thing in the fake\"}"));
            try {
                h.handle(x);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (IOException e) {
                // the client went away
            } finally {
                x.close();
            }
        });
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** Replaces the answer for a path (without the API version prefix). */
    public FakeEngine on(String path, Handler h) {
        handlers.put(path, h);
        return this;
    }

    /** How many requests a path has had. */
    public int hits(String path) {
        AtomicInteger n = hits.get(path);
        return n == null ? 0 : n.get();
    }

    public static void text(HttpExchange x, int status, String body) throws IOException {
        send(x, status, "text/plain; charset=utf-8", body.getBytes(StandardCharsets.UTF_8));
    }

    public static void json(HttpExchange x, int status, String body) throws IOException {
        send(x, status, "application/json", body.getBytes(StandardCharsets.UTF_8));
    }

    public static void send(HttpExchange x, int status, String type, byte[] body) throws IOException {
        x.getResponseHeaders().set("Content-Type", type);
        x.getResponseHeaders().set("Api-Version", "1.41");
        x.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        try (OutputStream out = x.getResponseBody()) {
            out.write(body);
        }
    }

    /** Streams {@code total} bytes of {@code fill} with no length announced (chunked). */
    public static void stream(HttpExchange x, byte fill, long total) throws IOException {
        x.getResponseHeaders().set("Content-Type", "application/json");
        x.sendResponseHeaders(200, 0);
        byte[] chunk = new byte[64 * 1024];
        java.util.Arrays.fill(chunk, fill);
        try (OutputStream out = x.getResponseBody()) {
            for (long sent = 0; sent < total; sent += chunk.length) {
                out.write(chunk, 0, (int) Math.min(chunk.length, total - sent));
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
