package dev.pier.files;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.instances.InstanceFixture;
import dev.pier.instances.TestEngine;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.UUID;

import static dev.pier.instances.InstanceFixture.bearer;
import static dev.pier.instances.InstanceFixture.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The files of an instance's volume through the native API, on the real engine: what the API writes the
 * container reads and the other way round, byte for byte; paths are confined to the volume whatever is
 * tried (dot-dot, its encodings, absolute paths, control characters, links planted by the container);
 * viewers read nothing; every change is audited.
 */
class FilesApiTest {
    @Shared
    static InstanceFixture pier;

    private static final HttpClient client =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static Http http() {
        return pier.http();
    }

    private static String base() {
        return "http://127.0.0.1:" + pier.server.port();
    }

    private static String q(String path) {
        return URLEncoder.encode(path, StandardCharsets.UTF_8);
    }

    private static HttpResponse<byte[]> upload(String token, String id, String path, byte[] bytes) {
        return exchange(HttpRequest.newBuilder(
                        URI.create(base() + "/api/v1/instances/" + id + "/files/content?path=" + q(path)))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes))
                .build());
    }

    private static HttpResponse<byte[]> download(String token, String id, String rawQuery) {
        return exchange(
                HttpRequest.newBuilder(URI.create(base() + "/api/v1/instances/" + id + "/files/content?" + rawQuery))
                        .header("Authorization", "Bearer " + token)
                        .GET()
                        .build());
    }

    private static HttpResponse<byte[]> exchange(HttpRequest r) {
        try {
            return client.send(r, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static JsonNode list(String id, String path) {
        Http.Response r = http().get("/api/v1/instances/" + id + "/files?path=" + q(path), bearer(pier.manager));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json();
    }

    private static Http.Response post(String token, String id, String op, Object... fields) {
        return http().postJson("/api/v1/instances/" + id + "/files/" + op, json(fields), bearer(token));
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    private static String problem(HttpResponse<byte[]> r) {
        return new String(r.body(), StandardCharsets.UTF_8);
    }

    @Test
    void what_the_api_writes_the_container_reads_and_the_other_way_round() throws Exception {
        String id = pier.deployQuiet("files").path("id").asText();
        byte[] data = new byte[3 * 1024 * 1024 + 17];
        new Random(7).nextBytes(data);

        HttpResponse<byte[]> up = upload(pier.manager, id, "/blob.bin", data);
        assertThat(up.statusCode()).as(problem(up)).isEqualTo(200);
        assertThat(Http.parse(problem(up)).path("size").asLong()).isEqualTo(data.length);
        // the container sees the same bytes in its data path
        assertThat(pier.sh(id, "sha256sum /data/blob.bin").split(" ")[0]).isEqualTo(sha256(data));

        pier.sh(id, "mkdir -p /data/conf && printf 'port=25565\\n' > /data/conf/server.properties");
        HttpResponse<byte[]> down = download(pier.manager, id, "path=" + q("conf/server.properties"));
        assertThat(down.statusCode()).as(problem(down)).isEqualTo(200);
        assertThat(new String(down.body(), StandardCharsets.UTF_8)).isEqualTo("port=25565\n");
        assertThat(down.headers().firstValue("Content-Disposition").orElseThrow())
                .contains("server.properties");
        HttpResponse<byte[]> big = download(pier.manager, id, "path=blob.bin");
        assertThat(sha256(big.body())).isEqualTo(sha256(data));

        // a second upload replaces the file as a whole
        upload(pier.manager, id, "blob.bin", "small".getBytes(StandardCharsets.UTF_8));
        assertThat(pier.sh(id, "cat /data/blob.bin")).isEqualTo("small");
        // an empty file is a file
        assertThat(upload(pier.manager, id, "empty", new byte[0]).statusCode()).isEqualTo(200);

        JsonNode root = list(id, "/");
        assertThat(root.path("path").asText()).isEqualTo("/");
        List<String> names = root.path("entries").findValuesAsText("name");
        assertThat(names).containsExactly("conf", "blob.bin", "empty");
        JsonNode blob = root.path("entries").get(1);
        assertThat(blob.path("type").asText()).isEqualTo("file");
        assertThat(blob.path("size").asLong()).isEqualTo(5);
        assertThat(blob.path("mode").asText()).isEqualTo("0644");
        assertThat(Instant.parse(blob.path("modified").asText()))
                .isBetween(Instant.now().minusSeconds(120), Instant.now().plusSeconds(120));
        assertThat(root.path("entries").get(0).path("type").asText()).isEqualTo("directory");
        assertThat(list(id, "conf").path("entries").findValuesAsText("name")).containsExactly("server.properties");
    }

    @Test
    void mkdir_move_and_delete_change_the_volume_and_are_audited() {
        String id = pier.deployQuiet("fileops").path("id").asText();
        Http.Response mk = post(pier.manager, id, "mkdir", "path", "/a/b/c");
        assertThat(mk.status()).as(mk.body()).isEqualTo(201);
        assertThat(mk.json().path("path").asText()).isEqualTo("/a/b/c");
        assertThat(pier.sh(id, "[ -d /data/a/b/c ] && echo yes")).isEqualTo("yes\n");
        assertThat(post(pier.manager, id, "mkdir", "path", "a/b").status()).isEqualTo(409);

        upload(pier.manager, id, "a/b/c/note.txt", "hello".getBytes(StandardCharsets.UTF_8));
        Http.Response mv = post(pier.manager, id, "move", "from", "a/b/c/note.txt", "to", "a/moved.txt");
        assertThat(mv.status()).as(mv.body()).isEqualTo(204);
        assertThat(pier.sh(id, "cat /data/a/moved.txt")).isEqualTo("hello");
        assertThat(post(pier.manager, id, "move", "from", "a/nothing", "to", "a/x")
                        .status())
                .isEqualTo(404);
        assertThat(post(pier.manager, id, "move", "from", "a/moved.txt", "to", "a/b")
                        .status())
                .isEqualTo(409);
        assertThat(post(pier.manager, id, "move", "from", "a", "to", "a/b/inside")
                        .status())
                .isEqualTo(409);

        Http.Response del = http().delete("/api/v1/instances/" + id + "/files?path=a/b", bearer(pier.manager));
        assertThat(del.status()).as(del.body()).isEqualTo(204);
        assertThat(pier.sh(id, "ls /data/a")).isEqualTo("moved.txt\n");
        assertThat(http().delete("/api/v1/instances/" + id + "/files?path=a/b", bearer(pier.manager))
                        .status())
                .isEqualTo(404);
        assertThat(http().delete("/api/v1/instances/" + id + "/files?path=/", bearer(pier.manager))
                        .status())
                .isEqualTo(400);

        assertThat(pier.audit("instance.files.mkdir")).contains("success", "failure");
        assertThat(pier.audit("instance.files.move")).contains("success", "failure");
        assertThat(pier.audit("instance.files.delete")).contains("success");
        assertThat(pier.audit("instance.files.upload")).contains("success");
    }

    @Test
    void no_path_reads_or_writes_outside_the_volume() throws Exception {
        String id = pier.deployQuiet("escape").path("id").asText();
        String other = pier.deployQuiet("neighbour").path("id").asText();
        pier.sh(other, "echo neighbour-secret > /data/secret");
        String otherOnHost =
                pier.docker.inspectVolumeCmd("pier-data-" + other).exec().getMountpoint();
        // links the container planted: at the node's /etc, at its own /etc, at the neighbour's volume on the host
        pier.sh(
                id,
                "ln -s /etc /data/etc && ln -s /etc/passwd /data/passwd && ln -s " + otherOnHost
                        + " /data/neighbour && mkdir /data/d && ln -s /etc /data/d/up");

        for (String query : List.of(
                "path=" + q("../../etc/passwd"),
                "path=%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                "path=..%2F..%2Fetc%2Fpasswd",
                "path=" + q("a/../../etc/passwd"),
                "path=" + q("etc/passwd"),
                "path=" + q("passwd"),
                "path=" + q("neighbour/secret"),
                "path=" + q("d/up/passwd"),
                "path=" + q("/etc/passwd"),
                "path=" + q("x\u0000y"),
                "path=" + q("x\ny"))) {
            HttpResponse<byte[]> r = download(pier.manager, id, query);
            assertThat(r.statusCode()).as("%s: %s", query, problem(r)).isIn(400, 404);
            assertThat(problem(r)).doesNotContain("root:").doesNotContain("neighbour-secret");
        }
        for (String path : List.of("etc", "neighbour", "d/up", "..", "../..")) {
            Http.Response r = http().get("/api/v1/instances/" + id + "/files?path=" + q(path), bearer(pier.manager));
            assertThat(r.status()).as("list %s: %s", path, r.body()).isEqualTo(400);
        }
        byte[] evil = "owned\n".getBytes(StandardCharsets.UTF_8);
        for (String path :
                List.of("etc/pier-owned", "neighbour/secret", "d/up/pier-owned", "../pier-owned", "passwd", "x\ny")) {
            assertThat(upload(pier.manager, id, path, evil).statusCode())
                    .as("upload %s", path)
                    .isIn(400, 404);
        }
        assertThat(post(pier.manager, id, "mkdir", "path", "etc/pier-dir").status())
                .isEqualTo(400);
        assertThat(post(pier.manager, id, "move", "from", "neighbour/secret", "to", "stolen")
                        .status())
                .isEqualTo(400);
        assertThat(post(pier.manager, id, "move", "from", "d", "to", "../d").status())
                .isEqualTo(400);
        // nothing changed where the links point, and nothing came over
        assertThat(pier.sh(other, "cat /data/secret")).isEqualTo("neighbour-secret\n");
        assertThat(pier.sh(id, "ls /etc")).doesNotContain("pier-owned", "pier-dir");
        assertThat(pier.sh(id, "ls /data")).doesNotContain("stolen");
        assertThat(java.nio.file.Files.exists(java.nio.file.Path.of("/etc/pier-owned")))
                .isFalse();

        // an absolute path is read from the volume's root
        upload(pier.manager, id, "/etc2", "in the volume".getBytes(StandardCharsets.UTF_8));
        assertThat(pier.sh(id, "cat /data/etc2")).isEqualTo("in the volume");
        // a link itself can be listed and deleted (not what it points at)
        JsonNode entries = list(id, "/").path("entries");
        assertThat(entries.findValuesAsText("type")).contains("symlink");
        assertThat(http().delete("/api/v1/instances/" + id + "/files?path=etc", bearer(pier.manager))
                        .status())
                .isEqualTo(204);
        assertThat(pier.sh(id, "ls /etc/passwd")).isEqualTo("/etc/passwd\n");
    }

    @Test
    void a_viewer_reads_nothing_and_bad_requests_are_refused_before_the_node() {
        String id = pier.deployQuiet("filesauth").path("id").asText();
        upload(pier.manager, id, "f", "x".getBytes(StandardCharsets.UTF_8));

        assertThat(http().get("/api/v1/instances/" + id + "/files", bearer(pier.viewer))
                        .status())
                .isEqualTo(403);
        assertThat(download(pier.viewer, id, "path=f").statusCode()).isEqualTo(403);
        assertThat(upload(pier.viewer, id, "g", new byte[1]).statusCode()).isEqualTo(403);
        assertThat(post(pier.viewer, id, "mkdir", "path", "v").status()).isEqualTo(403);
        assertThat(http().get("/api/v1/instances/" + id + "/files").status()).isEqualTo(401);
        assertThat(download(pier.admin, id, "path=f").statusCode()).isEqualTo(200);

        String unknown = UUID.randomUUID().toString();
        assertThat(http().get("/api/v1/instances/" + unknown + "/files", bearer(pier.manager))
                        .status())
                .isEqualTo(404);
        assertThat(http().get("/api/v1/instances/not-an-id/files", bearer(pier.manager))
                        .status())
                .isEqualTo(404);
        assertThat(download(pier.manager, id, "").statusCode()).isEqualTo(400);
        assertThat(download(pier.manager, id, "path=nothing").statusCode()).isEqualTo(404);
        assertThat(download(pier.manager, id, "path=%2F").statusCode()).isEqualTo(400);
        pier.sh(id, "mkdir /data/dir");
        assertThat(download(pier.manager, id, "path=dir").statusCode()).isEqualTo(400);
        assertThat(upload(pier.manager, id, "dir", new byte[1]).statusCode()).isEqualTo(400);
        assertThat(upload(pier.manager, id, "no/such/dir/f", new byte[1]).statusCode())
                .isEqualTo(404);
        assertThat(http().get("/api/v1/instances/" + id + "/files?path=f", bearer(pier.manager))
                        .status())
                .isEqualTo(400);
        assertThat(post(pier.manager, id, "mkdir", "path", 5).status()).isEqualTo(400);
        assertThat(post(pier.manager, id, "mkdir").status()).isEqualTo(400);
        assertThat(post(pier.manager, id, "move", "from", "f").status()).isEqualTo(400);
        assertThat(post(pier.manager, id, "move", "from", List.of("f"), "to", "g")
                        .status())
                .isEqualTo(400);
        Http.Response longName = post(pier.manager, id, "mkdir", "path", "x".repeat(256));
        assertThat(longName.status()).as(longName.body()).isEqualTo(400);
        assertThat(longName.header("Content-Type")).contains("application/problem+json");

        // an unsized upload is refused: the helper must know when the whole file arrived
        HttpResponse<byte[]> chunked = exchange(HttpRequest.newBuilder(
                        URI.create(base() + "/api/v1/instances/" + id + "/files/content?path=c"))
                .header("Authorization", "Bearer " + pier.manager)
                .PUT(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(new byte[10])))
                .build());
        assertThat(chunked.statusCode()).as(problem(chunked)).isEqualTo(400);

        // an image without data: no volume, no files
        String image = InstanceFixture.name("nodata");
        http().postJson(
                        "/api/v1/images",
                        json("name", image, "reference", TestEngine.SLEEPER, "data_path", ""),
                        bearer(pier.admin));
        String none = pier.deploy(pier.manager, "name", InstanceFixture.name("nodata"), "image", image)
                .path("id")
                .asText();
        Http.Response r = http().get("/api/v1/instances/" + none + "/files", bearer(pier.manager));
        assertThat(r.status()).as(r.body()).isEqualTo(409);
        assertThat(r.json().path("detail").asText()).contains("no data volume");
    }

    /** This server's helpers that run one operation each (not the warm ones kept for short operations). */
    private static List<com.github.dockerjava.api.model.Container> jobHelpers() {
        return pier.docker
                .listContainersCmd()
                .withShowAll(true)
                .withLabelFilter(java.util.Map.of(
                        "dev.pier.helper",
                        "true",
                        "pier.installation",
                        pier.installation.toString(),
                        "pier.helper-role",
                        "job"))
                .exec();
    }

    @Test
    void an_upload_cut_short_leaves_the_file_as_it_was() throws Exception {
        String id = pier.deployQuiet("cut").path("id").asText();
        upload(pier.manager, id, "keep.txt", "before".getBytes(StandardCharsets.UTF_8));

        try (Socket s = new Socket("127.0.0.1", pier.server.port())) {
            OutputStream out = s.getOutputStream();
            out.write(("PUT /api/v1/instances/" + id + "/files/content?path=keep.txt HTTP/1.1\r\n"
                            + "Host: 127.0.0.1\r\n"
                            + "Authorization: Bearer " + pier.manager + "\r\n"
                            + "Content-Type: application/octet-stream\r\n"
                            + "Content-Length: 100000\r\n\r\n"
                            + "only a little")
                    .getBytes(StandardCharsets.UTF_8));
            out.flush();
            // cut off once the upload's helper is taking it
            org.awaitility.Awaitility.await()
                    .atMost(Duration.ofSeconds(15))
                    .until(() -> !jobHelpers().isEmpty());
        }
        org.awaitility.Awaitility.await()
                .atMost(Duration.ofSeconds(15))
                .untilAsserted(() -> assertThat(pier.sh(id, "cat /data/keep.txt; ls -a /data"))
                        .isEqualTo("before.\n..\nkeep.txt\n"));
        assertThat(pier.audit("instance.files.upload")).contains("failure");
        // and the upload's helper is not left behind on the node (a warm one for short operations may be)
        org.awaitility.Awaitility.await()
                .atMost(Duration.ofSeconds(15))
                .until(() -> jobHelpers().isEmpty());
    }
}
