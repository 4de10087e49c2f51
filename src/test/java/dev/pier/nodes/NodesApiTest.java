package dev.pier.nodes;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.instances.InstanceFixture;
import dev.pier.instances.TestEngine;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.UUID;

import static dev.pier.instances.InstanceFixture.bearer;
import static dev.pier.instances.InstanceFixture.json;
import static org.assertj.core.api.Assertions.assertThat;

/** The native nodes API: a fresh install has node "local" online; admins register and remove engines. */
class NodesApiTest {
    @Shared
    static InstanceFixture pier;

    @AfterEach
    void cleanup() {
        for (var n : pier.server.core().nodes.list()) {
            if (!n.name().equals("local")) {
                pier.server.core().nodes.delete(dev.pier.security.Principal.system(), n.id());
            }
        }
    }

    private static Http http() {
        return pier.http();
    }

    static String assertProblem(Http.Response r, int status) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.header("Content-Type")).startsWith("application/problem+json");
        return r.json().path("detail").asText();
    }

    @Test
    void a_fresh_install_has_node_local_online_on_the_local_engine() {
        Http.Response r = http().get("/api/v1/nodes", bearer(pier.viewer));
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().path("total").asInt()).isEqualTo(1);
        JsonNode local = r.json().path("items").get(0);
        assertThat(local.path("name").asText()).isEqualTo("local");
        assertThat(local.path("status").asText()).isEqualTo("online");
        assertThat(local.path("last_seen_at").asText()).isNotBlank();
        assertThat(local.path("ram_mib").asLong()).isPositive();
        assertThat(local.path("endpoint").asText()).startsWith("unix://");

        assertThat(http().get("/api/v1/nodes/" + local.path("id").asText(), bearer(pier.viewer))
                        .json()
                        .path("name")
                        .asText())
                .isEqualTo("local");
        assertThat(http().get("/api/v1/nodes/local", bearer(pier.viewer))
                        .json()
                        .path("id")
                        .asText())
                .isEqualTo(pier.localNode.toString());
        assertProblem(http().get("/api/v1/nodes/" + UUID.randomUUID(), bearer(pier.viewer)), 404);
        assertProblem(http().get("/api/v1/nodes/nowhere", bearer(pier.viewer)), 404);
    }

    @Test
    void an_admin_registers_a_node_by_socket_or_tcp_and_removes_it() {
        Http.Response sock = http().postJson(
                        "/api/v1/nodes",
                        json(
                                "name",
                                "again",
                                "address",
                                TestEngine.host(),
                                "ram_mib",
                                1024,
                                "disk_mib",
                                2048,
                                "tags",
                                "a,b",
                                "processor",
                                "x86"),
                        bearer(pier.admin));
        assertThat(sock.status()).as(sock.body()).isEqualTo(201);
        assertThat(sock.json().path("status").asText()).isEqualTo("online");
        assertThat(sock.json().path("tags").asText()).isEqualTo("a,b");
        assertThat(sock.json().path("tls").asBoolean()).isFalse();

        Http.Response tcp = http().postJson(
                        "/api/v1/nodes",
                        json("name", "nowhere", "address", "127.0.0.1", "port", 1, "ram_mib", 1024, "disk_mib", 2048),
                        bearer(pier.admin));
        assertThat(tcp.status()).as(tcp.body()).isEqualTo(201);
        assertThat(tcp.json().path("endpoint").asText()).isEqualTo("tcp://127.0.0.1:1");
        assertThat(tcp.json().path("status").asText()).isEqualTo("offline");

        JsonNode list = http().get("/api/v1/nodes?limit=2&offset=1", bearer(pier.viewer))
                .json();
        assertThat(list.path("total").asInt()).isEqualTo(3);
        assertThat(list.path("items").findValuesAsText("name")).containsExactly("again", "nowhere");

        assertProblem(
                http().postJson(
                                "/api/v1/nodes",
                                json("name", "again", "address", TestEngine.host(), "ram_mib", 1, "disk_mib", 1),
                                bearer(pier.admin)),
                409);
        for (String id :
                List.of(sock.json().path("id").asText(), tcp.json().path("id").asText())) {
            assertThat(http().delete("/api/v1/nodes/" + id, bearer(pier.admin)).status())
                    .isEqualTo(204);
            assertProblem(http().get("/api/v1/nodes/" + id, bearer(pier.viewer)), 404);
        }
    }

    @Test
    void only_admins_manage_nodes() {
        for (String token : List.of(pier.viewer, pier.manager)) {
            assertProblem(
                    http().postJson(
                                    "/api/v1/nodes",
                                    json("name", "mine", "address", TestEngine.host(), "ram_mib", 1, "disk_mib", 1),
                                    bearer(token)),
                    403);
            assertProblem(http().delete("/api/v1/nodes/" + pier.localNode, bearer(token)), 403);
        }
        assertThat(pier.server.core().nodes.list()).hasSize(1);
    }

    @Test
    void bad_node_input_is_a_400_naming_the_problem() {
        record Case(String body, String mentions) {}
        for (Case c : List.of(
                new Case(json("address", TestEngine.host(), "ram_mib", 1, "disk_mib", 1), "name"),
                new Case(json("name", "-x", "address", TestEngine.host(), "ram_mib", 1, "disk_mib", 1), "name"),
                new Case(json("name", "noaddr", "ram_mib", 1, "disk_mib", 1), "address"),
                new Case(json("name", "noram", "address", TestEngine.host(), "disk_mib", 1), "ram"),
                new Case(json("name", "negram", "address", TestEngine.host(), "ram_mib", -5, "disk_mib", 1), "ram"),
                new Case(
                        json("name", "strram", "address", TestEngine.host(), "ram_mib", "lots", "disk_mib", 1),
                        "ram_mib"),
                new Case(json("name", "noport", "address", "10.0.0.1", "ram_mib", 1, "disk_mib", 1), "port"),
                new Case(
                        json("name", "bigport", "address", "10.0.0.1", "port", 70000, "ram_mib", 1, "disk_mib", 1),
                        "port"),
                new Case(
                        json("name", "badhost", "address", "bad host!", "port", 2375, "ram_mib", 1, "disk_mib", 1),
                        "address"),
                new Case(
                        json("name", "ctl", "address", "unix:///tmp/x\u0001.sock", "ram_mib", 1, "disk_mib", 1),
                        "address"),
                new Case(
                        json(
                                "name",
                                "halftls",
                                "address",
                                "10.0.0.1",
                                "port",
                                2376,
                                "ram_mib",
                                1,
                                "disk_mib",
                                1,
                                "tls_ca",
                                "x"),
                        "TLS"),
                new Case(
                        json(
                                "name",
                                "badtls",
                                "address",
                                "10.0.0.1",
                                "port",
                                2376,
                                "ram_mib",
                                1,
                                "disk_mib",
                                1,
                                "tls_ca",
                                "x",
                                "tls_cert",
                                "y",
                                "tls_key",
                                "z"),
                        "PEM"))) {
            String detail = assertProblem(http().postJson("/api/v1/nodes", c.body(), bearer(pier.admin)), 400);
            assertThat(detail).as(c.body()).contains(c.mentions());
        }
        assertThat(pier.server.core().nodes.list()).hasSize(1);
    }

    @Test
    void a_node_with_instances_is_not_removed() {
        pier.deployQuiet("pinned");
        String detail = assertProblem(http().delete("/api/v1/nodes/" + pier.localNode, bearer(pier.admin)), 409);
        assertThat(detail).contains("local").contains("1 instance");
        assertThat(pier.server.core().nodes.list()).hasSize(1);
    }
}
