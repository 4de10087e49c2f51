package dev.pier.instances;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.model.ExposedPort;
import dev.pier.cli.PierCommand;
import dev.pier.nodes.HostPortRange;
import dev.pier.nodes.Node;
import dev.pier.support.Http;
import dev.pier.support.Matrix;
import dev.pier.support.Shared;
import dev.pier.support.TestDatabases;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.pier.instances.InstanceFixture.bearer;
import static dev.pier.instances.InstanceFixture.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A node's allowed host ports (issue 7, item 9): set when the node is registered (native API and CLI),
 * 1024-65535 by default, never the Docker API's ports or Pier's own; a host port outside them is a 400
 * in every family's error shape and records nothing, and automatic ports are picked inside them.
 */
class HostPortsTest {
    @Shared
    static InstanceFixture pier;

    static String adminKey;
    static JsonNode narrow;

    @BeforeAll
    static void start() throws IOException {
        Http.Response key =
                pier.http().postJson("/api/v1/api_tokens", json("description", "ports"), bearer(pier.admin));
        adminKey = key.json().path("key").asText();
        Http.Response node = pier.http()
                .postJson(
                        "/api/v1/nodes",
                        json(
                                "name",
                                "narrow",
                                "address",
                                "unix:///var/run/docker.sock",
                                "ram_mib",
                                4096,
                                "disk_mib",
                                4096,
                                "host_ports",
                                "20100-20199"),
                        bearer(pier.admin));
        assertThat(node.status()).as(node.body()).isEqualTo(201);
        narrow = node.json();
        if (TestDatabases.postgres()) {
            var c = pier.server.config();
            Files.writeString(
                    pier.server.dataDir().resolve("pier.properties"),
                    "db.url=" + c.dbUrl().orElseThrow() + "\n" + "db.user=" + c.dbUser() + "\n" + "db.password="
                            + c.dbPassword() + "\n");
        }
    }

    private static Http http() {
        return pier.http();
    }

    private static Http.Response nativeDeploy(String node, String ports) {
        return http().postJson(
                        "/api/v1/instances",
                        json(
                                "name",
                                InstanceFixture.name("np"),
                                "image",
                                InstanceFixture.QUIET_IMAGE,
                                "memory_mib",
                                32,
                                "cpu",
                                0.25,
                                "node",
                                node,
                                "ports",
                                ports),
                        bearer(pier.manager));
    }

    private static Http.Response matrixDeploy(String node, String ports) {
        return http().postJson(
                        "/api/v1/droplet/add",
                        json(
                                "name",
                                InstanceFixture.name("mp"),
                                "image",
                                InstanceFixture.QUIET_IMAGE,
                                "memory",
                                32,
                                "cpu",
                                0.25,
                                "node",
                                node,
                                "ports",
                                ports),
                        bearer(pier.manager));
    }

    private static Http.Response panelDeploy(String nodeId, String ports) {
        return http().postJson(
                        "/api/instances/deploy",
                        json(
                                "name",
                                "Panel ports",
                                "image",
                                InstanceFixture.QUIET_IMAGE,
                                "memory",
                                "32",
                                "cpu",
                                "0.25",
                                "nodeId",
                                nodeId,
                                "user",
                                pier.managerUser.user().id().toString(),
                                "ports",
                                ports),
                        "x-api-key",
                        adminKey);
    }

    /** Refused with 400 in all three families that deploy, each in its own error shape, and nothing recorded. */
    private static void refusedEverywhere(String nodeName, String nodeId, String ports, String why) {
        int records = pier.records();
        String nat = InstancesApiTest.assertProblem(nativeDeploy(nodeName, ports), 400);
        assertThat(nat).as("native: %s", ports).contains(why);
        JsonNode matrix = Matrix.assertError(matrixDeploy(nodeName, ports), 400, 400);
        assertThat(matrix.path("error").asText()).as("matrix: %s", ports).contains(why);
        Http.Response panel = panelDeploy(nodeId, ports);
        assertThat(panel.status()).as(panel.body()).isEqualTo(400);
        assertThat(panel.json().size()).isEqualTo(1);
        assertThat(panel.json().path("error").asText()).as("panel: %s", ports).contains(why);
        assertThat(pier.records()).isEqualTo(records);
        assertThat(pier.containers()).isEmpty();
    }

    @Test
    void a_host_port_outside_the_node_s_range_is_400_in_every_family() {
        assertThat(narrow.path("host_ports").asText()).isEqualTo("20100-20199");
        String id = narrow.path("id").asText();
        refusedEverywhere("narrow", id, "80:20200", "outside the range node 'narrow' allows (20100-20199)");
        refusedEverywhere("narrow", id, "80:20099", "(20100-20199)");
        refusedEverywhere("narrow", id, "53:21000/udp", "(20100-20199)");
    }

    @Test
    void the_default_range_keeps_privileged_ports_the_docker_api_and_pier_s_own_port() {
        Http.Response local = http().get("/api/v1/nodes/" + pier.localNode, bearer(pier.viewer));
        assertThat(local.json().path("host_ports").asText()).isEqualTo(HostPortRange.DEFAULT.toString());
        String id = pier.localNode.toString();
        refusedEverywhere("local", id, "80:80", "outside the range node 'local' allows (1024-65535)");
        refusedEverywhere("local", id, "80:1023", "(1024-65535)");
        refusedEverywhere("local", id, "80:2375", "reserved");
        refusedEverywhere("local", id, "80:2376", "reserved");
    }

    @Test
    void automatic_and_chosen_ports_inside_the_range_are_published() {
        Http.Response auto = nativeDeploy("narrow", "80,81");
        assertThat(auto.status()).as(auto.body()).isEqualTo(201);
        for (JsonNode p : auto.json().path("ports")) {
            assertThat(p.path("host_port").asInt()).isBetween(20100, 20199);
        }
        int chosen = 20150;
        Http.Response inside = nativeDeploy("narrow", "80:" + chosen);
        assertThat(inside.status()).as(inside.body()).isEqualTo(201);
        var c = pier.inspectInstance(inside.json().path("id").asText());
        assertThat(c.getHostConfig()
                        .getPortBindings()
                        .getBindings()
                        .get(ExposedPort.tcp(80))[0]
                        .getHostPortSpec())
                .isEqualTo(Integer.toString(chosen));
        assertThat(c.getState().getRunning()).isTrue();
    }

    @Test
    void a_node_s_range_is_validated_when_it_is_registered() {
        for (Object bad : List.of("1-70000", "3000-2000", "0-10", "ports", "20000", 20000, Map.of("min", 1))) {
            Http.Response r = http().postJson(
                            "/api/v1/nodes",
                            json(
                                    "name",
                                    "bad-range",
                                    "address",
                                    "unix:///var/run/docker.sock",
                                    "ram_mib",
                                    1,
                                    "disk_mib",
                                    1,
                                    "host_ports",
                                    bad),
                            bearer(pier.admin));
            assertThat(InstancesApiTest.assertProblem(r, 400))
                    .as("host_ports %s", bad)
                    .contains("host_ports");
        }
        assertThat(pier.server.core().nodes.findByName("bad-range")).isEmpty();
    }

    @Test
    void the_cli_registers_a_node_with_its_range() {
        Run ok = cli(
                "node",
                "add",
                "cli-narrow",
                "--address",
                "unix:///var/run/docker.sock",
                "--ram",
                "64",
                "--disk",
                "64",
                "--host-ports",
                "30000-30010");
        assertThat(ok.exit()).as(ok.err()).isZero();
        Node n = pier.server.core().nodes.findByName("cli-narrow").orElseThrow();
        assertThat(n.hostPorts()).isEqualTo(new HostPortRange(30000, 30010));

        Run bad = cli(
                "node",
                "add",
                "cli-bad",
                "--address",
                "unix:///var/run/docker.sock",
                "--ram",
                "64",
                "--disk",
                "64",
                "--host-ports",
                "10-5");
        assertThat(bad.exit()).isNotZero();
        assertThat(bad.err()).contains("--host-ports");
        assertThat(pier.server.core().nodes.findByName("cli-bad")).isEmpty();
    }

    record Run(int exit, String out, String err) {}

    private static Run cli(String... args) {
        CommandLine cl = PierCommand.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--data");
        all.add(pier.server.dataDir().toString());
        pier.server.config().dbUrl().ifPresent(url -> {
            all.add("--db");
            all.add(url);
        });
        return new Run(cl.execute(all.toArray(String[]::new)), out.toString(), err.toString());
    }
}
