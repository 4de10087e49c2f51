package dev.pier.nodes;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.DockerClient;
import dev.pier.instances.InstanceFixture;
import dev.pier.instances.TestEngine;
import dev.pier.support.Http;
import dev.pier.support.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;

import static dev.pier.instances.InstanceFixture.bearer;
import static dev.pier.instances.InstanceFixture.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Instance data on a second engine, a node of its own: a backup made on the first node, downloaded, and
 * restored into a new instance on the second gives the same bytes in every file; the files API works there
 * as on the first node, through that engine alone.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DataAcrossNodesTest {
    private InstanceFixture pier;
    private SecondEngine engine;

    @BeforeAll
    void start() throws Exception {
        String why = SecondEngine.cannotRun();
        Assumptions.assumeTrue(why == null, () -> "skipped: " + why);
        engine = SecondEngine.start();
        pier = InstanceFixture.start(() ->
                TestServer.start(c -> c.with(b -> b.dockerSockets = List.of(engine.socket()))));
        engine.load(pier.docker, TestEngine.SLEEPER);
        // the file helpers' image, which a node with a registry would pull
        engine.load(pier.docker, TestEngine.BUSYBOX);
    }

    @AfterAll
    void stop() throws Exception {
        try {
            if (pier != null) {
                pier.close();
            }
        } finally {
            if (engine != null) {
                try (DockerClient c = engine.client()) {
                    TestEngine.removeContainers(c, pier.installation);
                    TestEngine.removeVolumes(c, pier.installation);
                }
                engine.close();
            }
        }
    }

    @Test
    void a_backup_restored_into_an_instance_on_another_node_has_the_same_bytes() throws Exception {
        Http http = pier.http();
        Http.Response node = http.postJson(
                "/api/v1/nodes",
                json("name", "second", "address", engine.address(), "ram_mib", 512, "disk_mib", 4096),
                bearer(pier.admin));
        assertThat(node.status()).as(node.body()).isEqualTo(201);

        JsonNode source = pier.deploy(
                pier.manager,
                "name",
                InstanceFixture.name("first"),
                "image",
                InstanceFixture.QUIET_IMAGE,
                "node",
                "local",
                "memory_mib",
                32);
        String id = source.path("id").asText();
        TestEngine.onVolume(
                pier.docker,
                source.path("volume").asText(),
                "mkdir -p /data/a/b && head -c 3000000 /dev/urandom > /data/a/b/blob && echo hi > /data/a/note"
                        + " && chown -R 1000:1000 /data/a && chmod 640 /data/a/note && ln -s a/b /data/link");
        String before = TestEngine.onVolume(pier.docker, source.path("volume").asText(), TestEngine.MANIFEST);

        Http.Response made = http.postJson("/api/v1/instances/" + id + "/backups", "{}", bearer(pier.manager));
        assertThat(made.status()).as(made.body()).isEqualTo(202);
        String bid = made.json().path("id").asText();
        await().atMost(Duration.ofSeconds(60))
                .until(() -> http.get("/api/v1/backups/" + bid, bearer(pier.manager))
                        .json()
                        .path("state")
                        .asText()
                        .equals("completed"));
        JsonNode b = http.get("/api/v1/backups/" + bid, bearer(pier.manager)).json();
        HttpResponse<byte[]> download = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + pier.server.port() + "/api/v1/backups/"
                                        + bid + "/download"))
                                .header("Authorization", "Bearer " + pier.manager)
                                .build(),
                        HttpResponse.BodyHandlers.ofByteArray());
        assertThat(download.statusCode()).isEqualTo(200);
        assertThat(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(download.body())))
                .isEqualTo(b.path("sha256").asText())
                .isEqualTo(download.headers().firstValue("X-Checksum-SHA256").orElseThrow());

        JsonNode copy = pier.deploy(
                pier.manager,
                "name",
                InstanceFixture.name("second"),
                "image",
                InstanceFixture.QUIET_IMAGE,
                "node",
                "second",
                "memory_mib",
                32,
                "from_backup",
                bid);
        assertThat(copy.path("node").asText()).isEqualTo("second");
        assertThat(copy.path("observed_state").asText()).isEqualTo("running");
        try (DockerClient second = engine.client()) {
            assertThat(TestEngine.onVolume(second, copy.path("volume").asText(), TestEngine.MANIFEST))
                    .isEqualTo(before);
            // never on the first engine
            assertThat(TestEngine.volume(pier.docker, copy.path("volume").asText()))
                    .isEmpty();
        }

        // the files of the instance on the second node, through its engine
        String copied = copy.path("id").asText();
        JsonNode listing = http.get("/api/v1/instances/" + copied + "/files?path=/a", bearer(pier.manager))
                .json();
        assertThat(listing.path("entries").findValuesAsText("name")).containsExactly("b", "note");
        assertThat(listing.path("entries").get(1).path("mode").asText()).isEqualTo("0640");
        Http.Response note =
                http.get("/api/v1/instances/" + copied + "/files/content?path=a/note", bearer(pier.manager));
        assertThat(note.body()).isEqualTo("hi\n");
    }
}
