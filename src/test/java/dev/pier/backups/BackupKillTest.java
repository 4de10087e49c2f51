package dev.pier.backups;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.DockerClient;
import dev.pier.Core;
import dev.pier.db.Installation;
import dev.pier.instances.TestEngine;
import dev.pier.support.Http;
import dev.pier.support.ServerProcess;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A real {@code pier serve} killed with SIGKILL in the middle of a backup and in the middle of a restore:
 * after a restart the backup has ended failed (never stuck running, no partial file), the restored volume
 * holds either all of its old data or all of the backup's (never a mix, no leftovers), and the instance
 * runs again as it did before.
 */
class BackupKillTest {
    private static String bearer(String token) {
        return "Bearer " + token;
    }

    private static JsonNode backupState(Http http, String token, String bid) {
        Http.Response r = http.get("/api/v1/backups/" + bid, "Authorization", bearer(token));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json();
    }

    private static boolean helperRunning(DockerClient docker, UUID installation) {
        return !docker.listContainersCmd()
                .withLabelFilter(Map.of(
                        "dev.pier.helper",
                        "true",
                        "pier.installation",
                        installation.toString(),
                        "pier.helper-role",
                        "job"))
                .exec()
                .isEmpty();
    }

    @Test
    void a_kill_during_a_backup_and_during_a_restore_leaves_nothing_half_done() throws Exception {
        DockerClient docker = TestEngine.connect();
        UUID installation = null;
        try (ServerProcess server =
                ServerProcess.start(Map.of("PIER_HELPER_IMAGE", TestEngine.BUSYBOX, "PIER_RECONCILE_SECONDS", "2"))) {
            String token = server.ownerToken();
            try (Core cli = server.cli()) {
                installation = Installation.id(cli.db.jdbi());
            }
            Http http = server.http();
            Http.Response img = http.postJson(
                    "/api/v1/images",
                    "{\"name\":\"sleeper\",\"reference\":\"" + TestEngine.SLEEPER + "\"}",
                    "Authorization",
                    bearer(token));
            assertThat(img.status()).as(img.body()).isEqualTo(201);
            Http.Response dep = http.postJson(
                    "/api/v1/instances",
                    "{\"name\":\"killed-" + Long.toString(System.nanoTime(), 36) + "\",\"image\":\"sleeper\","
                            + "\"memory_mib\":32}",
                    "Authorization",
                    bearer(token));
            assertThat(dep.status()).as(dep.body()).isEqualTo(201);
            String id = dep.json().path("id").asText();
            String volume = dep.json().path("volume").asText();
            // enough data that a copy takes seconds (random bytes do not compress)
            TestEngine.onVolume(
                    docker, volume, "head -c 150000000 /dev/urandom > /data/big && echo version=1 > /data/marker");
            String backedUp = TestEngine.onVolume(docker, volume, TestEngine.MANIFEST);

            // 1. a backup that completes, to restore from later
            Http.Response made =
                    http.postJson("/api/v1/instances/" + id + "/backups", "{}", "Authorization", bearer(token));
            assertThat(made.status()).as(made.body()).isEqualTo(202);
            String good = made.json().path("id").asText();
            await().atMost(Duration.ofSeconds(120))
                    .until(() -> backupState(http, token, good)
                            .path("state")
                            .asText()
                            .equals("completed"));

            // 2. a backup killed while it copies
            Http.Response cut =
                    http.postJson("/api/v1/instances/" + id + "/backups", "{}", "Authorization", bearer(token));
            String killed = cut.json().path("id").asText();
            Path part = server.config().backupStore().resolve(killed + ".tar.gz.part");
            UUID inst = installation;
            await().atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(20))
                    .until(() -> Files.exists(part) && Files.size(part) > 0 && helperRunning(docker, inst));
            server.kill9();
            server.restart();
            JsonNode after = backupState(server.http(), token, killed);
            assertThat(after.path("state").asText()).isEqualTo("failed");
            assertThat(after.path("error").asText()).contains("stopped");
            assertThat(Files.exists(part)).isFalse();
            // the instance was frozen for the copy: it runs again
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                JsonNode i = server.http()
                        .get("/api/v1/instances/" + id, "Authorization", bearer(token))
                        .json();
                String cid = i.path("container_id").asText();
                var state = docker.inspectContainerCmd(cid).exec().getState();
                return Boolean.TRUE.equals(state.getRunning()) && !Boolean.TRUE.equals(state.getPaused());
            });

            // 3. a restore killed while it unpacks
            TestEngine.onVolume(
                    docker, volume, "rm /data/big && echo version=2 > /data/marker && echo extra > /data/extra");
            String changed = TestEngine.onVolume(docker, volume, TestEngine.MANIFEST);
            Http live = server.http();
            CompletableFuture<Http.Response> restoring = CompletableFuture.supplyAsync(() -> live.postJson(
                    "/api/v1/instances/" + id + "/backups/" + good + "/restore", "{}", "Authorization", bearer(token)));
            await().atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(20))
                    .until(() -> helperRunning(docker, inst));
            // killed while it unpacks: its staging directory is in the volume
            await().atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(20))
                    .until(() ->
                            TestEngine.onVolume(docker, volume, "ls -a /data").contains(".pier-restore-"));
            server.kill9();
            assertThat(restoring
                            .handle((r, e) -> r == null || r.status() != 200)
                            .get())
                    .as("the restore was not acknowledged")
                    .isTrue();
            server.restart();
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
                String now = TestEngine.onVolume(docker, volume, TestEngine.MANIFEST);
                assertThat(now).isIn(backedUp, changed);
                assertThat(TestEngine.onVolume(docker, volume, "ls -a /data")).doesNotContain(".pier-");
                JsonNode i = server.http()
                        .get("/api/v1/instances/" + id, "Authorization", bearer(token))
                        .json();
                assertThat(i.path("desired_state").asText()).isEqualTo("running");
                assertThat(i.path("observed_state").asText()).isEqualTo("running");
            });
            // the restarted server found the restore and settled it in the volume
            assertThat(server.log()).contains("was cut short by a stop");
            // and a restore now works as if nothing had happened
            Http.Response again = server.http()
                    .postJson(
                            "/api/v1/instances/" + id + "/backups/" + good + "/restore",
                            "{}",
                            "Authorization",
                            bearer(token));
            assertThat(again.status()).as(again.body()).isEqualTo(200);
            assertThat(TestEngine.onVolume(docker, volume, TestEngine.MANIFEST)).isEqualTo(backedUp);
            List<String> leftovers;
            try (var files = Files.list(server.config().backupStore())) {
                leftovers = files.map(p -> p.getFileName().toString())
                        .filter(n -> n.endsWith(".part"))
                        .toList();
            }
            assertThat(leftovers).isEmpty();
            server.http().delete("/api/v1/instances/" + id + "?force=true", "Authorization", bearer(token));
        } finally {
            if (installation != null) {
                TestEngine.removeContainers(docker, installation);
                TestEngine.removeVolumes(docker, installation);
            }
            docker.close();
        }
    }
}
