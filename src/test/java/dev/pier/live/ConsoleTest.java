package dev.pier.live;

import dev.pier.instances.InstanceFixture;
import dev.pier.instances.TestEngine;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static dev.pier.instances.InstanceFixture.bearer;
import static dev.pier.instances.InstanceFixture.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The console over a real WebSocket (Java's client) to a real container whose main process echoes what
 * it reads: managers type and see the echo, viewers watch and may not type, browsers use single-use
 * tickets bound to one instance and 30 s, no token is accepted in a URL, and the socket closes when its
 * authorization goes.
 */
class ConsoleTest {
    static final String ECHOER = "echoer";
    private static final HttpClient CLIENT = HttpClient.newHttpClient();

    @Shared
    static InstanceFixture pier;

    @BeforeAll
    static void images() {
        Http.Response r = pier.http()
                .postJson(
                        "/api/v1/images",
                        json(
                                "name",
                                ECHOER,
                                "reference",
                                TestEngine.BUSYBOX,
                                "command",
                                List.of(
                                        "/bin/sh",
                                        "-c",
                                        "while read line; do echo \"got $line\"; echo \"err $line\" >&2; done"),
                                "stdin",
                                true),
                        bearer(pier.admin));
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        Ticker.register(pier);
    }

    private static String deployEchoer() {
        return pier.deploy(
                        pier.manager,
                        "name",
                        InstanceFixture.name("echo"),
                        "image",
                        ECHOER,
                        "memory_mib",
                        32,
                        "cpu",
                        0.25)
                .path("id")
                .asText();
    }

    /** A client end: what the socket received, and how it closed. */
    static final class Client implements WebSocket.Listener {
        final BlockingQueue<String> text = new LinkedBlockingQueue<>();
        final CompletableFuture<Integer> closed = new CompletableFuture<>();
        final CompletableFuture<String> closeReason = new CompletableFuture<>();
        private final StringBuilder part = new StringBuilder();
        WebSocket ws;

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            part.append(data);
            if (last) {
                text.add(part.toString());
                part.setLength(0);
            }
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
            closeReason.complete(reason);
            closed.complete(statusCode);
            return null;
        }

        @Override
        public void onError(WebSocket webSocket, Throwable error) {
            closed.complete(-1);
            closeReason.complete(String.valueOf(error));
        }

        private final StringBuilder all = new StringBuilder();

        /** Waits until everything that came so far contains {@code s}. */
        String awaitText(String s, Duration within) throws InterruptedException {
            long deadline = System.nanoTime() + within.toNanos();
            if (all.toString().contains(s)) {
                return all.toString();
            }
            while (System.nanoTime() < deadline) {
                String t = text.poll(100, TimeUnit.MILLISECONDS);
                if (t != null) {
                    all.append(t);
                    if (all.toString().contains(s)) {
                        return all.toString();
                    }
                }
            }
            throw new AssertionError("no '" + s + "' within " + within + "; got: " + all + "; closed: "
                    + closed.getNow(null) + " " + closeReason.getNow(null));
        }

        void send(String s) {
            ws.sendText(s, true).join();
        }
    }

    private static URI uri(String id, String query) {
        return URI.create(pier.http().base().replace("http://", "ws://") + "/api/v1/instances/" + id + "/console"
                + (query == null ? "" : "?" + query));
    }

    static Client open(String id, String query, String... headers) throws Exception {
        Client c = new Client();
        WebSocket.Builder b = HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5));
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        c.ws = b.buildAsync(uri(id, query), c).get(10, TimeUnit.SECONDS);
        return c;
    }

    /** The HTTP status a refused upgrade was answered with. */
    static int refused(String id, String query, String... headers) throws Exception {
        try {
            open(id, query, headers).ws.abort();
            return 101;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof WebSocketHandshakeException h) {
                return h.getResponse().statusCode();
            }
            throw e;
        }
    }

    private static String ticket(String id, String token) {
        Http.Response r = pier.http().postJson("/api/v1/instances/" + id + "/console/ticket", "{}", bearer(token));
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        assertThat(r.header("Cache-Control")).contains("no-store");
        return r.json().path("ticket").asText();
    }

    @Test
    void a_manager_types_and_sees_the_echo_and_a_viewer_watches() throws Exception {
        String id = deployEchoer();
        Client manager = open(id, null, bearer(pier.manager));
        Client viewer = open(id, null, bearer(pier.viewer));
        manager.send("hello\n");
        assertThat(manager.awaitText("got hello", Duration.ofSeconds(5))).contains("got hello");
        // stderr comes out too
        manager.awaitText("err hello", Duration.ofSeconds(5));

        // one line without a socket, by a manager; the viewer sees its echo. Its socket is attached to the
        // container a moment after it opens (output before that is in the log, not replayed): say it again
        // until the viewer's attachment is there
        boolean seen = false;
        for (int i = 0; i < 20 && !seen; i++) {
            Http.Response r = pier.http()
                    .postJson("/api/v1/instances/" + id + "/console", json("command", "again"), bearer(pier.manager));
            assertThat(r.status()).as(r.body()).isEqualTo(204);
            try {
                viewer.awaitText("got again", Duration.ofMillis(500));
                seen = true;
            } catch (AssertionError notYet) {
                // not attached yet
            }
        }
        assertThat(seen).as("the viewer sees the echo of a command").isTrue();
        manager.awaitText("got again", Duration.ofSeconds(5));

        // a viewer may not type
        viewer.send("sneaky\n");
        assertThat(viewer.closed.get(5, TimeUnit.SECONDS)).isEqualTo(1008);
        assertThat(viewer.closeReason.get()).contains("read-only");
        manager.ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").join();
    }

    @Test
    void a_ticket_opens_one_socket_to_its_instance_within_thirty_seconds() throws Exception {
        String id = deployEchoer();
        String other = deployEchoer();
        String t = ticket(id, pier.manager);
        Client c = open(id, "ticket=" + t);
        c.send("by ticket\n");
        c.awaitText("got by ticket", Duration.ofSeconds(5));
        c.ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").join();
        assertThat(refused(id, "ticket=" + t)).as("used once").isEqualTo(401);

        assertThat(refused(other, "ticket=" + ticket(id, pier.manager)))
                .as("another instance")
                .isEqualTo(401);

        String late = ticket(id, pier.viewer);
        pier.server.clock.advance(Duration.ofSeconds(31));
        try {
            assertThat(refused(id, "ticket=" + late)).as("after 30 s").isEqualTo(401);
        } finally {
            pier.server.clock.advance(Duration.ofSeconds(-31));
        }
        assertThat(refused(id, "ticket=not-a-ticket")).isEqualTo(401);
        // tokens never in a URL; nothing at all is 401
        assertThat(refused(id, "access_token=" + pier.manager)).isEqualTo(401);
        assertThat(refused(id, null)).isEqualTo(401);
        // a ticket and a credential at once: which one? neither
        assertThat(refused(id, "ticket=" + ticket(id, pier.manager), bearer(pier.manager)))
                .isEqualTo(400);
    }

    @Test
    void the_socket_closes_within_a_second_when_its_authorization_goes() throws Exception {
        String id = deployEchoer();
        Client watching = open(id, null, bearer(pier.viewer));
        long before = System.nanoTime();
        assertThat(pier.action(pier.admin, id, "suspend").status()).isEqualTo(200);
        assertThat(watching.closed.get(5, TimeUnit.SECONDS)).isEqualTo(1008);
        assertThat((System.nanoTime() - before) / 1_000_000).isLessThan(1_000);
        assertThat(watching.closeReason.get()).startsWith("suspended");
        assertThat(pier.action(pier.admin, id, "unsuspend").status()).isEqualTo(200);

        // a manager whose key stays valid but whose role drops to viewer loses the typing console
        var e = pier.server.createUser("typist" + System.nanoTime() % 10_000, Role.MANAGER);
        String session = pier.server.accessToken(e);
        Http.Response k = pier.http().postJson("/api/v1/api_tokens", json("description", "console"), bearer(session));
        String key = k.json().path("key").asText();
        pier.awaitConverged(() -> assertThat(pier.server
                        .core()
                        .instances
                        .require(java.util.UUID.fromString(id))
                        .observedState()
                        .wire())
                .isEqualTo("running"));
        Client typing = open(id, null, "x-api-key", key);
        typing.send("hi\n");
        typing.awaitText("got hi", Duration.ofSeconds(5));
        before = System.nanoTime();
        Http.Response lowered = pier.http()
                .send(
                        "PATCH",
                        "/api/v1/users/" + e.user().username(),
                        "application/json",
                        json("role", "viewer"),
                        bearer(pier.admin));
        assertThat(lowered.status()).as(lowered.body()).isEqualTo(200);
        assertThat(typing.closed.get(5, TimeUnit.SECONDS)).isEqualTo(1008);
        assertThat((System.nanoTime() - before) / 1_000_000).isLessThan(1_000);
    }

    @Test
    void refusals_over_http_in_the_native_shape() throws Exception {
        String id = deployEchoer();
        String path = "/api/v1/instances/" + id + "/console";
        assertThat(pier.http()
                        .postJson(path, json("command", "x"), bearer(pier.viewer))
                        .status())
                .isEqualTo(403);
        assertThat(pier.http().postJson(path, json(), bearer(pier.manager)).status())
                .isEqualTo(400);
        assertThat(pier.http()
                        .postJson(path, json("command", 5), bearer(pier.manager))
                        .status())
                .isEqualTo(400);
        assertThat(pier.http()
                        .postJson(path, json("command", "a\nb"), bearer(pier.manager))
                        .status())
                .isEqualTo(400);
        assertThat(pier.http()
                        .postJson(
                                "/api/v1/instances/" + java.util.UUID.randomUUID() + "/console",
                                json("command", "x"),
                                bearer(pier.manager))
                        .status())
                .isEqualTo(404);
        // an instance whose image takes no input
        String ticker = Ticker.deploy(pier);
        Http.Response r = pier.http()
                .postJson("/api/v1/instances/" + ticker + "/console", json("command", "x"), bearer(pier.manager));
        assertThat(r.status()).isEqualTo(409);
        assertThat(r.json().path("detail").asText()).contains("stdin");
        // its output can still be watched
        Client c = open(ticker, null, bearer(pier.viewer));
        c.awaitText("out ", Duration.ofSeconds(5));
        c.ws.abort();
        assertThat(pier.http().postJson(path + "/ticket", "{}").status()).isEqualTo(401);
    }
}
