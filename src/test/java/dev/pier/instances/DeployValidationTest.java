package dev.pier.instances;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.support.Http;
import dev.pier.support.Matrix;
import dev.pier.support.Shared;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.pier.instances.InstanceFixture.bearer;
import static dev.pier.instances.InstanceFixture.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Deploy checks everything before it touches Docker: every refused deploy leaves no container on the
 * engine and no record in the database, in every family.
 */
class DeployValidationTest {
    @Shared
    static InstanceFixture pier;

    private static Http http() {
        return pier.http();
    }

    private record Case(String why, Map<String, Object> fields, int status) {}

    private static Map<String, Object> fields(Object... pairs) {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("image", InstanceFixture.QUIET_IMAGE);
        m.put("memory_mib", 32);
        for (int i = 0; i + 1 < pairs.length; i += 2) {
            m.put((String) pairs[i], pairs[i + 1]);
        }
        return m;
    }

    private static String body(Map<String, Object> fields) {
        List<Object> pairs = new ArrayList<>();
        fields.forEach((k, v) -> {
            pairs.add(k);
            pairs.add(v);
        });
        return json(pairs.toArray());
    }

    /** Asserts a refused deploy changed nothing: same containers of this installation, same records. */
    private static void assertNothingCreated(int records, List<String> containers, String why) {
        assertThat(pier.records()).as("records after: %s", why).isEqualTo(records);
        assertThat(pier.containers())
                .as("containers after: %s", why)
                .extracting(com.github.dockerjava.api.model.Container::getId)
                .containsExactlyInAnyOrderElementsOf(containers);
    }

    private static List<String> containerIds() {
        return pier.containers().stream()
                .map(com.github.dockerjava.api.model.Container::getId)
                .toList();
    }

    @Test
    void bad_input_is_refused_before_docker_with_a_problem_naming_it() {
        long ram = pier.server.core().nodes.findByName("local").orElseThrow().ramMib();
        List<Case> cases = List.of(
                new Case("uppercase name", fields("name", "Web"), 400),
                new Case("64-character name", fields("name", "a".repeat(64)), 400),
                new Case("leading dash", fields("name", "-web"), 400),
                new Case("trailing dash", fields("name", "web-"), 400),
                new Case("dot in name", fields("name", "web.site"), 400),
                new Case("control character in name", fields("name", "we\u0007b"), 400),
                new Case("name not a string", fields("name", 12), 400),
                new Case("memory below the minimum", fields("name", "m1", "memory_mib", 15), 400),
                new Case("memory above the maximum", fields("name", "m2", "memory_mib", 1024 * 1024 + 1), 400),
                new Case("memory negative", fields("name", "m3", "memory_mib", -1), 400),
                new Case("memory a fraction", fields("name", "m4", "memory_mib", 32.5), 400),
                new Case("memory a word", fields("name", "m5", "memory_mib", "lots"), 400),
                new Case("cpu 0", fields("name", "c1", "cpu", 0), 400),
                new Case("cpu 1000", fields("name", "c2", "cpu", 1000), 400),
                new Case("cpu negative", fields("name", "c3", "cpu", -0.5), 400),
                new Case("cpu NaN", fields("name", "c4", "cpu", "NaN"), 400),
                new Case("variable 1X", fields("name", "v1", "variables", Map.of("1X", "a")), 400),
                new Case("variable A-B", fields("name", "v2", "variables", Map.of("A-B", "a")), 400),
                new Case(
                        "variable with a control character",
                        fields("name", "v3", "variables", Map.of("A\u0001B", "a")),
                        400),
                new Case("variable value with a newline", fields("name", "v4", "variables", Map.of("A", "x\ny")), 400),
                new Case("variable value with NUL", fields("name", "v5", "variables", Map.of("A", "x\u0000y")), 400),
                new Case("empty variable name", fields("name", "v6", "variables", Map.of("", "a")), 400),
                new Case("variables not an object", fields("name", "v7", "variables", List.of("A=1")), 400),
                new Case("ports abc", fields("name", "p1", "ports", "abc"), 400),
                new Case("container port 70000", fields("name", "p2", "ports", "70000:1"), 400),
                new Case("host port 70000", fields("name", "p3", "ports", "80:70000"), 400),
                new Case("container port 0", fields("name", "p4", "ports", "0:8080"), 400),
                new Case("duplicate host port", fields("name", "p5", "ports", "80:18080,81:18080"), 400),
                new Case("duplicate container port", fields("name", "p6", "ports", "80:18080,80:18081"), 400),
                new Case("two protocols", fields("name", "p7", "ports", "53/udp:5353/tcp"), 400),
                new Case(
                        "primary port not published",
                        fields("name", "p8", "ports", "80:18080", "primary_port", 443),
                        400),
                new Case(
                        "primary port beyond any int",
                        fields("name", "p9", "ports", "80:18080", "primary_port", 99_999_999_999L),
                        400),
                new Case("primary port negative", fields("name", "p10", "ports", "80:18080", "primary_port", -80), 400),
                new Case(
                        "primary port a word", fields("name", "p11", "ports", "80:18080", "primary_port", "http"), 400),
                new Case("unknown image", fields("name", "i1", "image", "no-such-image"), 400),
                new Case(
                        "unknown owner",
                        fields(
                                "name",
                                "o1",
                                "owner_id",
                                java.util.UUID.randomUUID().toString()),
                        400),
                new Case("unknown node", fields("name", "n1", "node", "no-such-node"), 404),
                new Case("more memory than the node has", fields("name", "big", "memory_mib", ram + 1), 409));
        for (Case c : cases) {
            int records = pier.records();
            List<String> containers = containerIds();
            Http.Response r = http().postJson("/api/v1/instances", body(c.fields()), bearer(pier.manager));
            assertThat(r.status()).as("%s: %s", c.why(), r.body()).isEqualTo(c.status());
            assertThat(r.header("Content-Type")).as(c.why()).startsWith("application/problem+json");
            assertThat(r.json().path("detail").asText()).as(c.why()).isNotBlank();
            assertNothingCreated(records, containers, c.why());
        }
    }

    @Test
    void the_same_checks_hold_in_the_matrix_and_panel_families() {
        int records = pier.records();
        List<String> containers = containerIds();
        for (String body : List.of(
                json("name", "Upper"),
                json("name", "-x"),
                json("memory", 1),
                json("memory", 2_000_000),
                json("cpu", 0),
                json("cpu", 1000),
                json("ports", "abc"),
                json("ports", "70000:1"),
                json("variables", Map.of("1X", "a")),
                json("variables", Map.of("A-B", "a")),
                json("image", "no-such-image"))) {
            Matrix.assertError(http().postJson("/api/v1/droplet/add", body, bearer(pier.manager)), 400, 400);
        }
        assertNothingCreated(records, containers, "matrix");

        String adminKey = http().postJson("/api/v1/api_tokens", json("description", "panel"), bearer(pier.admin))
                .json()
                .path("key")
                .asText();
        String user = pier.managerUser.user().id().toString();
        String node = pier.localNode.toString();
        for (String body : List.of(
                json(
                        "image",
                        InstanceFixture.QUIET_IMAGE,
                        "memory",
                        "32",
                        "cpu",
                        "0",
                        "nodeId",
                        node,
                        "name",
                        "pc",
                        "user",
                        user),
                // the Panel's name is a display name ("Bad" is a good one): 1-64 printable characters
                json(
                        "image",
                        InstanceFixture.QUIET_IMAGE,
                        "memory",
                        "32",
                        "cpu",
                        "1",
                        "nodeId",
                        node,
                        "name",
                        "x".repeat(65),
                        "user",
                        user),
                json(
                        "image",
                        InstanceFixture.QUIET_IMAGE,
                        "memory",
                        "32",
                        "cpu",
                        "1",
                        "nodeId",
                        node,
                        "name",
                        "tab\there",
                        "user",
                        user),
                json(
                        "image",
                        InstanceFixture.QUIET_IMAGE,
                        "memory",
                        "32",
                        "cpu",
                        "1",
                        "nodeId",
                        node,
                        "name",
                        "pp",
                        "user",
                        user,
                        "ports",
                        "80:1,81:1"),
                json(
                        "image",
                        InstanceFixture.QUIET_IMAGE,
                        "memory",
                        "32",
                        "cpu",
                        "1",
                        "nodeId",
                        node,
                        "name",
                        "pv",
                        "user",
                        user,
                        "variables",
                        "{\"1X\":\"a\"}"),
                json(
                        "image",
                        InstanceFixture.QUIET_IMAGE,
                        "memory",
                        "32",
                        "cpu",
                        "1",
                        "nodeId",
                        node,
                        "name",
                        "pj",
                        "user",
                        user,
                        "variables",
                        "{not json"),
                json("image", "nope", "memory", "32", "cpu", "1", "nodeId", node, "name", "pi", "user", user),
                json(
                        "image",
                        InstanceFixture.QUIET_IMAGE,
                        "memory",
                        "32",
                        "cpu",
                        "1",
                        "nodeId",
                        node,
                        "name",
                        "pr",
                        "user",
                        user,
                        "ports",
                        "80:18080",
                        "primary",
                        "99999999999"),
                json(
                        "image",
                        InstanceFixture.QUIET_IMAGE,
                        "memory",
                        "99999999999999",
                        "cpu",
                        "1",
                        "nodeId",
                        node,
                        "name",
                        "pm",
                        "user",
                        user))) {
            Http.Response r = http().postJson("/api/instances/deploy", body, "x-api-key", adminKey);
            assertThat(r.status()).as(body + " -> " + r.body()).isEqualTo(400);
            assertThat(r.json().path("error").asText()).isNotBlank();
            assertThat(r.json().size()).isEqualTo(1);
        }
        assertNothingCreated(records, containers, "panel");
    }

    @Test
    void a_host_port_another_instance_holds_on_the_node_is_a_409() {
        int port = TestEngine.freeTcpPort();
        JsonNode first = pier.deploy(
                pier.manager,
                "name",
                InstanceFixture.name("holder"),
                "image",
                InstanceFixture.QUIET_IMAGE,
                "memory_mib",
                32,
                "ports",
                "80:" + port);
        int records = pier.records();
        List<String> containers = containerIds();

        Http.Response r = http().postJson(
                        "/api/v1/instances",
                        json(
                                "name",
                                InstanceFixture.name("taker"),
                                "image",
                                InstanceFixture.QUIET_IMAGE,
                                "memory_mib",
                                32,
                                "ports",
                                "8080:" + port),
                        bearer(pier.manager));
        assertThat(r.status()).as(r.body()).isEqualTo(409);
        assertThat(r.json().path("detail").asText()).contains(Integer.toString(port));
        Matrix.assertError(
                http().postJson(
                                "/api/v1/droplet/add",
                                json("image", InstanceFixture.QUIET_IMAGE, "ports", "9090:" + port),
                                bearer(pier.manager)),
                409,
                409);
        assertNothingCreated(records, containers, "port taken");

        // the same number over UDP is another port
        pier.deploy(
                pier.manager,
                "name",
                InstanceFixture.name("udp"),
                "image",
                InstanceFixture.QUIET_IMAGE,
                "memory_mib",
                32,
                "ports",
                "53:" + port + "/udp");
        assertThat(pier.records()).isEqualTo(records + 1);
        assertThat(first.path("ports").get(0).path("host_port").asInt()).isEqualTo(port);
    }

    @Test
    void a_name_already_taken_is_a_409() {
        String name = InstanceFixture.name("taken");
        pier.deploy(pier.manager, "name", name, "image", InstanceFixture.QUIET_IMAGE, "memory_mib", 32);
        int records = pier.records();
        List<String> containers = containerIds();
        Http.Response r = http().postJson(
                        "/api/v1/instances",
                        json("name", name, "image", InstanceFixture.QUIET_IMAGE),
                        bearer(pier.manager));
        assertThat(r.status()).as(r.body()).isEqualTo(409);
        assertNothingCreated(records, containers, "name taken");
    }

    @Test
    void capacity_counts_what_the_node_already_runs() {
        // a small node of its own (on the same engine) to fill up quickly
        Http.Response node = http().postJson(
                        "/api/v1/nodes",
                        json("name", "small", "address", TestEngine.host(), "ram_mib", 100, "disk_mib", 1000),
                        bearer(pier.admin));
        assertThat(node.status()).as(node.body()).isEqualTo(201);
        assertThat(node.json().path("status").asText()).isEqualTo("online");
        pier.deploy(
                pier.manager,
                "name",
                InstanceFixture.name("fill"),
                "node",
                "small",
                "image",
                InstanceFixture.QUIET_IMAGE,
                "memory_mib",
                64);
        int records = pier.records();
        List<String> containers = containerIds();

        Http.Response r = http().postJson(
                        "/api/v1/instances",
                        json(
                                "name",
                                InstanceFixture.name("over"),
                                "node",
                                "small",
                                "image",
                                InstanceFixture.QUIET_IMAGE,
                                "memory_mib",
                                64),
                        bearer(pier.manager));
        assertThat(r.status()).as(r.body()).isEqualTo(409);
        assertThat(r.json().path("detail").asText()).contains("36 MiB").contains("64 MiB");
        Http.Response disk = http().postJson(
                        "/api/v1/instances",
                        json(
                                "name",
                                InstanceFixture.name("disk"),
                                "node",
                                "small",
                                "image",
                                InstanceFixture.QUIET_IMAGE,
                                "memory_mib",
                                16,
                                "disk_mib",
                                1001),
                        bearer(pier.manager));
        assertThat(disk.status()).as(disk.body()).isEqualTo(409);
        assertNothingCreated(records, containers, "capacity");

        // what is left still fits
        pier.deploy(
                pier.manager,
                "name",
                InstanceFixture.name("fits"),
                "node",
                "small",
                "image",
                InstanceFixture.QUIET_IMAGE,
                "memory_mib",
                36);
        pier.cleanup();
        assertThat(http().delete("/api/v1/nodes/" + node.json().path("id").asText(), bearer(pier.admin))
                        .status())
                .isEqualTo(204);
    }
}
