package dev.pier.backups;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.model.Event;
import dev.pier.instances.InstanceFixture;
import dev.pier.instances.TestEngine;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;

import static dev.pier.instances.InstanceFixture.bearer;
import static dev.pier.instances.InstanceFixture.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Backups of an instance's volume on the real engine, and their restores: in place and into a new
 * instance, compared file by file (contents, modes, owners, links); a tampered archive refused before
 * anything is touched; the instance frozen for a consistent copy and not for a live one; retention;
 * who may do what.
 */
class BackupsApiTest {
    @Shared
    static InstanceFixture pier;

    private static Http http() {
        return pier.http();
    }

    /** Runs a shell script as root with the instance's volume at /data (whatever its files' owners). */
    private static String onVolume(String id, String script) {
        return TestEngine.onVolume(pier.docker, "pier-data-" + id, script);
    }

    private static void fill(String id) {
        onVolume(
                id,
                "mkdir -p /data/world/region /data/empty && head -c 2000000 /dev/urandom > /data/world/region/r.0.0"
                        + " && echo 'motd=hello' > /data/server.properties && echo secret > /data/.hidden"
                        + " && chmod 600 /data/.hidden && chown 1000:1000 /data/.hidden && ln -s world/region /data/link"
                        + " && touch /data/world/empty-file");
    }

    private static JsonNode backup(String id, Object... fields) {
        Http.Response r = http().postJson("/api/v1/instances/" + id + "/backups", json(fields), bearer(pier.manager));
        assertThat(r.status()).as(r.body()).isEqualTo(202);
        assertThat(r.json().path("state").asText()).isIn("pending", "running", "completed");
        String bid = r.json().path("id").asText();
        await().atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(200))
                .until(() -> {
                    String state = get(id, bid).path("state").asText();
                    return state.equals("completed") || state.equals("failed");
                });
        return get(id, bid);
    }

    private static JsonNode get(String id, String bid) {
        Http.Response r = http().get("/api/v1/instances/" + id + "/backups/" + bid, bearer(pier.manager));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json();
    }

    private static Http.Response restore(String token, String id, String bid) {
        return http().postJson("/api/v1/instances/" + id + "/backups/" + bid + "/restore", "{}", bearer(token));
    }

    private static byte[] download(String token, String path) throws Exception {
        HttpResponse<byte[]> r = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + pier.server.port() + path))
                                .header("Authorization", "Bearer " + token)
                                .build(),
                        HttpResponse.BodyHandlers.ofByteArray());
        assertThat(r.statusCode()).isEqualTo(200);
        return r.body();
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    private static Path stored(String bid) {
        return pier.server.config().backupStore().resolve(bid + ".tar.gz");
    }

    private static List<String> containerEvents(String containerId, long since) {
        List<String> actions = new ArrayList<>();
        try {
            pier.docker
                    .eventsCmd()
                    .withSince(Long.toString(since))
                    .withUntil(Long.toString(System.currentTimeMillis() / 1000 + 1))
                    .withContainerFilter(containerId)
                    .exec(new com.github.dockerjava.api.async.ResultCallback.Adapter<Event>() {
                        @Override
                        public void onNext(Event e) {
                            actions.add(e.getAction());
                        }
                    })
                    .awaitCompletion(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return actions;
    }

    @Test
    void a_backup_restored_in_place_gives_back_every_file_as_it_was() throws Exception {
        String id = pier.deployQuiet("backup").path("id").asText();
        fill(id);
        String before = onVolume(id, TestEngine.MANIFEST);
        assertThat(before).contains("./.hidden file 600:1000:1000", "./link link world/region", "./empty dir");
        String cid = pier.inspectInstance(id).getId();
        long since = System.currentTimeMillis() / 1000 - 1;

        JsonNode b = backup(id, "note", "before the upgrade");
        assertThat(b.path("state").asText()).as(b.toString()).isEqualTo("completed");
        assertThat(b.path("instance").asText()).isEqualTo(id);
        assertThat(b.path("note").asText()).isEqualTo("before the upgrade");
        assertThat(b.path("live").asBoolean()).isFalse();
        assertThat(b.path("size").asLong()).isGreaterThan(2_000_000);
        assertThat(b.path("completed").asText()).isNotEmpty();
        String bid = b.path("id").asText();
        // the store holds what the backup says, and the download is that file
        byte[] archive = download(pier.manager, "/api/v1/instances/" + id + "/backups/" + bid + "/download");
        assertThat(archive.length).isEqualTo(b.path("size").asLong());
        assertThat(sha256(archive))
                .isEqualTo(b.path("sha256").asText())
                .isEqualTo(sha256(Files.readAllBytes(stored(bid))));
        // frozen for the copy, and running again after it
        assertThat(containerEvents(cid, since)).containsSubsequence("pause", "unpause");
        assertThat(pier.running(cid)).isTrue();
        assertThat(pier.sh(id, "cat /data/server.properties")).isEqualTo("motd=hello\n");

        pier.sh(id, "rm -rf /data/world && echo changed > /data/server.properties && echo new > /data/new");
        Http.Response r = restore(pier.manager, id, bid);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.json().path("observed_state").asText()).isEqualTo("running");
        assertThat(r.json().path("desired_state").asText()).isEqualTo("running");
        assertThat(onVolume(id, TestEngine.MANIFEST)).isEqualTo(before);
        assertThat(pier.audit("backup.restore")).contains("success");
        assertThat(get(id, bid).path("state").asText()).isEqualTo("completed");
    }

    @Test
    void a_backup_restores_into_a_new_instance_and_a_live_one_does_not_freeze_the_instance() throws Exception {
        String id = pier.deployQuiet("source").path("id").asText();
        fill(id);
        String before = onVolume(id, TestEngine.MANIFEST);
        String cid = pier.inspectInstance(id).getId();
        long since = System.currentTimeMillis() / 1000 - 1;
        JsonNode b = backup(id, "live", true);
        assertThat(b.path("state").asText()).isEqualTo("completed");
        assertThat(b.path("live").asBoolean()).isTrue();
        assertThat(containerEvents(cid, since)).doesNotContain("pause");

        JsonNode copy = pier.deploy(
                pier.manager,
                "name",
                InstanceFixture.name("copy"),
                "image",
                InstanceFixture.QUIET_IMAGE,
                "memory_mib",
                32,
                "from_backup",
                b.path("id").asText());
        assertThat(copy.path("observed_state").asText()).isEqualTo("running");
        assertThat(onVolume(copy.path("id").asText(), TestEngine.MANIFEST)).isEqualTo(before);

        // refused before anything is recorded: an unknown backup, a malformed id
        int records = pier.records();
        for (Object bad : List.of(UUID.randomUUID().toString(), "nope", 5)) {
            Http.Response r = http().postJson(
                            "/api/v1/instances",
                            json(
                                    "name",
                                    InstanceFixture.name("nocopy"),
                                    "image",
                                    InstanceFixture.QUIET_IMAGE,
                                    "from_backup",
                                    bad),
                            bearer(pier.manager));
            assertThat(r.status()).as("%s: %s", bad, r.body()).isEqualTo(400);
        }
        assertThat(pier.records()).isEqualTo(records);
    }

    @Test
    void a_tampered_archive_is_refused_before_anything_is_touched() throws Exception {
        String id = pier.deployQuiet("tampered").path("id").asText();
        fill(id);
        String bid = backup(id).path("id").asText();
        pier.sh(id, "echo after > /data/after");
        String now = onVolume(id, TestEngine.MANIFEST);
        String cid = pier.inspectInstance(id).getId();
        String startedAt =
                pier.docker.inspectContainerCmd(cid).exec().getState().getStartedAt();
        try (RandomAccessFile f = new RandomAccessFile(stored(bid).toFile(), "rw")) {
            f.seek(f.length() / 2);
            int x = f.read();
            f.seek(f.length() / 2);
            f.write(x ^ 0xff);
        }

        Http.Response r = restore(pier.manager, id, bid);
        assertThat(r.status()).as(r.body()).isEqualTo(422);
        assertThat(r.json().path("detail").asText()).contains("checksum");
        // not stopped, not changed
        assertThat(pier.docker.inspectContainerCmd(cid).exec().getState().getStartedAt())
                .isEqualTo(startedAt);
        assertThat(pier.running(cid)).isTrue();
        assertThat(onVolume(id, TestEngine.MANIFEST)).isEqualTo(now);
        JsonNode failed = get(id, bid);
        assertThat(failed.path("state").asText()).isEqualTo("failed");
        assertThat(failed.path("error").asText()).contains("checksum");
        // a failed backup restores nothing and seeds nothing
        assertThat(restore(pier.manager, id, bid).status()).isEqualTo(409);
    }

    @Test
    void backups_are_for_managers_and_bad_requests_are_refused() throws Exception {
        String id = pier.deployQuiet("guarded").path("id").asText();
        String bid = backup(id).path("id").asText();

        assertThat(http().get("/api/v1/instances/" + id + "/backups", bearer(pier.viewer))
                        .status())
                .isEqualTo(403);
        assertThat(http().postJson("/api/v1/instances/" + id + "/backups", "{}", bearer(pier.viewer))
                        .status())
                .isEqualTo(403);
        assertThat(http().get("/api/v1/backups/" + bid + "/download", bearer(pier.viewer))
                        .status())
                .isEqualTo(403);
        assertThat(restore(pier.viewer, id, bid).status()).isEqualTo(403);
        assertThat(http().get("/api/v1/backups", bearer(pier.viewer)).status()).isEqualTo(403);
        assertThat(http().get("/api/v1/backups").status()).isEqualTo(401);

        assertThat(http().postJson("/api/v1/instances/" + id + "/backups", json("note", 5), bearer(pier.manager))
                        .status())
                .isEqualTo(400);
        assertThat(http().postJson("/api/v1/instances/" + id + "/backups", json("live", "maybe"), bearer(pier.manager))
                        .status())
                .isEqualTo(400);
        assertThat(http().postJson(
                                "/api/v1/instances/" + id + "/backups",
                                json("note", "x".repeat(256)),
                                bearer(pier.manager))
                        .status())
                .isEqualTo(400);
        assertThat(http().postJson("/api/v1/instances/" + UUID.randomUUID() + "/backups", "{}", bearer(pier.manager))
                        .status())
                .isEqualTo(404);
        assertThat(http().get("/api/v1/backups/" + UUID.randomUUID(), bearer(pier.manager))
                        .status())
                .isEqualTo(404);
        assertThat(http().get("/api/v1/backups/nope", bearer(pier.manager)).status())
                .isEqualTo(404);
        assertThat(restore(pier.manager, id, UUID.randomUUID().toString()).status())
                .isEqualTo(404);
        // a backup shows under its own instance only
        String other = pier.deployQuiet("other").path("id").asText();
        assertThat(http().get("/api/v1/instances/" + other + "/backups/" + bid, bearer(pier.manager))
                        .status())
                .isEqualTo(404);

        JsonNode all = http().get("/api/v1/backups", bearer(pier.admin)).json();
        assertThat(all.path("items").findValuesAsText("id")).contains(bid);
        Http.Response del = http().delete("/api/v1/backups/" + bid, bearer(pier.manager));
        assertThat(del.status()).as(del.body()).isEqualTo(204);
        assertThat(Files.exists(stored(bid))).isFalse();
        assertThat(http().get("/api/v1/backups/" + bid, bearer(pier.manager)).status())
                .isEqualTo(404);
        assertThat(pier.audit("backup.delete")).contains("success");
    }

    @Test
    void only_the_newest_backups_of_an_instance_are_kept() throws IOException {
        String id = pier.deployQuiet("kept").path("id").asText();
        int keep = pier.server.config().backupsKept();
        List<String> made = new ArrayList<>();
        for (int i = 0; i <= keep; i++) {
            pier.sh(id, "echo " + i + " > /data/n");
            JsonNode b = backup(id, "note", "n=" + i);
            assertThat(b.path("state").asText()).isEqualTo("completed");
            made.add(b.path("id").asText());
        }
        JsonNode list = http().get("/api/v1/instances/" + id + "/backups", bearer(pier.manager))
                .json();
        assertThat(list.path("items").findValuesAsText("id"))
                .hasSize(keep)
                .doesNotContain(made.getFirst())
                .contains(made.getLast());
        assertThat(Files.exists(stored(made.getFirst()))).isFalse();
        try (var files = Files.list(pier.server.config().backupStore())) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".part"));
        }
    }

    @Test
    void an_instance_without_a_volume_has_nothing_to_back_up() {
        String image = InstanceFixture.name("nodata");
        http().postJson(
                        "/api/v1/images",
                        json("name", image, "reference", TestEngine.SLEEPER, "data_path", ""),
                        bearer(pier.admin));
        String id = pier.deploy(pier.manager, "name", InstanceFixture.name("nodata"), "image", image)
                .path("id")
                .asText();
        Http.Response r = http().postJson("/api/v1/instances/" + id + "/backups", "{}", bearer(pier.manager));
        assertThat(r.status()).as(r.body()).isEqualTo(409);
    }
}
