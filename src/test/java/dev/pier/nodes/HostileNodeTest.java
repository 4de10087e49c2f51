package dev.pier.nodes;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.instances.InstanceFixture;
import dev.pier.runtime.FakeEngine;
import dev.pier.support.DatabaseFree;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import dev.pier.support.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static dev.pier.instances.InstanceFixture.bearer;
import static dev.pier.instances.InstanceFixture.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Nodes that misbehave, registered through the native API: hand-written fake engines on loopback that
 * redirect, send garbage or oversized answers, or do not answer. Each is marked offline with the reason in
 * the listing, nothing they send is quoted, and the control plane (node {@code local}) is unaffected. Also
 * which addresses registration refuses.
 */
@DatabaseFree
class HostileNodeTest {
    @Shared
    static InstanceFixture pier;

    final List<FakeEngine> fakes = new ArrayList<>();

    @AfterEach
    void cleanup() {
        for (Node n : pier.server.core().nodes.list()) {
            if (!n.name().equals("local")) {
                pier.server.core().nodes.delete(dev.pier.security.Principal.system(), n.id());
            }
        }
        fakes.forEach(FakeEngine::close);
        fakes.clear();
    }

    private FakeEngine fake() throws java.io.IOException {
        FakeEngine f = new FakeEngine();
        fakes.add(f);
        return f;
    }

    private static Http http() {
        return pier.http();
    }

    private static Http.Response register(String name, String address, Object port) {
        return http().postJson(
                        "/api/v1/nodes",
                        json("name", name, "address", address, "port", port, "ram_mib", 1024, "disk_mib", 1024),
                        bearer(pier.admin));
    }

    private static JsonNode node(String name) {
        for (JsonNode n :
                http().get("/api/v1/nodes", bearer(pier.viewer)).json().path("items")) {
            if (n.path("name").asText().equals(name)) {
                return n;
            }
        }
        throw new AssertionError("no node " + name);
    }

    private static void offlineBecause(String name, String reason) {
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            JsonNode n = node(name);
            assertThat(n.path("status").asText()).isEqualTo("offline");
            assertThat(n.path("status_reason").asText()).contains(reason);
        });
        String id = node(name).path("id").asText();
        assertThat(http().get("/api/v1/nodes/" + id, bearer(pier.viewer))
                        .json()
                        .path("status_reason")
                        .asText())
                .contains(reason);
        assertThat(node("local").path("status").asText()).isEqualTo("online");
        assertThat(node("local").path("status_reason").isNull()).isTrue();
    }

    @Test
    void a_node_that_redirects_is_offline_and_the_redirect_is_not_followed() throws Exception {
        FakeEngine trap = fake();
        FakeEngine engine = fake().on("/_ping", x -> {
            x.getResponseHeaders().set("Location", "http://127.0.0.1:" + trap.port() + "/_ping");
            x.sendResponseHeaders(302, -1);
        });
        Http.Response r = register("redirector", "127.0.0.1", engine.port());
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        assertThat(r.json().path("status").asText()).isEqualTo("offline");
        assertThat(r.json().path("status_reason").asText()).contains("redirect");
        offlineBecause("redirector", "redirect");
        assertThat(trap.requests).isEmpty();
    }

    @Test
    void a_node_that_sends_garbage_or_too_much_is_offline_with_the_reason_and_stays_so_for_a_while() throws Exception {
        // it pings fine, so it comes online; its container listing (the reconcile pass on coming online) is bad
        FakeEngine garbage = fake().on("/containers/json", x -> FakeEngine.text(x, 200, "<html>s3cr3t</html>"));
        FakeEngine huge = fake().on("/containers/json", x -> FakeEngine.stream(x, (byte) ' ', 8L * 1024 * 1024));
        assertThat(register("garbage", "127.0.0.1", garbage.port()).status()).isEqualTo(201);
        assertThat(register("huge", "127.0.0.1", huge.port()).status()).isEqualTo(201);
        offlineBecause("garbage", "not the Docker API's JSON");
        offlineBecause("huge", "larger than the 4 MiB");
        assertThat(node("garbage").toString()).doesNotContain("s3cr3t");
        // the checks that follow find a ping that answers, but the node misbehaved: it stays offline
        Thread.sleep(3000);
        assertThat(node("garbage").path("status").asText()).isEqualTo("offline");
        assertThat(node("huge").path("status").asText()).isEqualTo("offline");
    }

    @Test
    void a_node_that_does_not_answer_is_offline_within_seconds() throws Exception {
        FakeEngine engine = fake();
        long t0 = System.nanoTime();
        assertThat(register("slow", "127.0.0.1", engine.port()).status()).isEqualTo(201);
        assertThat(node("slow").path("status").asText()).isEqualTo("online");
        engine.on("/_ping", x -> Thread.sleep(60_000));
        offlineBecause("slow", "no answer within 2 s");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
        // a deploy onto it is refused at once
        Http.Response deploy = http().postJson(
                        "/api/v1/instances",
                        json(
                                "name",
                                InstanceFixture.name("no"),
                                "node",
                                "slow",
                                "image",
                                InstanceFixture.QUIET_IMAGE,
                                "memory_mib",
                                32),
                        bearer(pier.manager));
        assertThat(deploy.status()).as(deploy.body()).isEqualTo(503);
    }

    @Test
    void link_local_metadata_unlisted_sockets_and_plain_tcp_off_the_machine_are_refused() {
        record Case(String address, Object port, String mentions) {}
        for (Case c : List.of(
                new Case("169.254.169.254", 2375, "cloud metadata service"),
                new Case("metadata.google.internal", 80, "cloud metadata service"),
                new Case("2852039166", 2375, "cloud metadata service"),
                new Case("[fd00:ec2::254]", 2375, "cloud metadata service"),
                new Case("169.254.10.20", 2375, "link-local"),
                new Case("[fe80::1]", 2375, "link-local"),
                new Case("unix:///tmp/not-listed.sock", null, "PIER_DOCKER_SOCKETS"),
                new Case("unix://relative/docker.sock", null, "unix:///absolute/path"),
                new Case("10.0.0.1", 2375, "PIER_ALLOW_PLAIN_TCP"))) {
            Http.Response r = register("bad", c.address(), c.port());
            assertThat(r.status()).as(c.address() + ": " + r.body()).isEqualTo(400);
            assertThat(r.json().path("detail").asText()).as(c.address()).contains(c.mentions());
        }
        // the Panel family answers the same, in its own error shape
        String key = http().postJson("/api/v1/api_tokens", json("description", "hostile"), bearer(pier.admin))
                .json()
                .path("key")
                .asText();
        Http.Response panel = http().postJson(
                        "/api/nodes/create",
                        json("name", "bad", "ram", "1G", "disk", "1G", "address", "169.254.169.254", "port", 2375),
                        "x-api-key",
                        key);
        assertThat(panel.status()).as(panel.body()).isEqualTo(400);
        assertThat(panel.json().path("error").asText()).contains("cloud metadata service");
        assertThat(pier.server.core().nodes.list()).hasSize(1);
    }

    @Test
    void plain_tcp_off_the_machine_is_allowed_by_the_configuration_with_a_warning() {
        try (TestServer open = TestServer.start(c -> c.with(b -> b.allowPlainTcp = true))) {
            var admin = open.createUser("admin", dev.pier.security.Role.ADMIN);
            String token = open.accessToken(admin);
            // TEST-NET-1: nothing answers there; the node is registered, offline, and flagged
            Http.Response r = open.http()
                    .postJson(
                            "/api/v1/nodes",
                            json(
                                    "name",
                                    "remote",
                                    "address",
                                    "192.0.2.10",
                                    "port",
                                    2375,
                                    "ram_mib",
                                    1024,
                                    "disk_mib",
                                    1024),
                            bearer(token));
            assertThat(r.status()).as(r.body()).isEqualTo(201);
            assertThat(r.json().path("warnings").toString()).contains("plain TCP without TLS");
            JsonNode listed =
                    open.http().get("/api/v1/nodes", bearer(token)).json().path("items");
            for (JsonNode n : listed) {
                if (n.path("name").asText().equals("local")) {
                    assertThat(n.path("warnings")).isEmpty();
                } else {
                    assertThat(n.path("warnings").toString()).contains("PIER_ALLOW_PLAIN_TCP");
                }
            }
        }
    }
}
