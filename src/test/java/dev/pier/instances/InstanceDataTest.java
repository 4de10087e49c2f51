package dev.pier.instances;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.command.InspectVolumeResponse;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.UUID;

import static dev.pier.instances.InstanceFixture.bearer;
import static dev.pier.instances.InstanceFixture.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * An instance's data lives on a named volume of its own, on the real engine: made with the instance,
 * mounted where its image keeps data, kept through everything that makes its container again (stop and
 * start, restart, the reconciler recreating a container removed behind Pier's back, a reinstall from
 * another image), and removed with the instance.
 */
class InstanceDataTest {
    @Shared
    static InstanceFixture pier;

    private static Http http() {
        return pier.http();
    }

    private static JsonNode get(String id) {
        Http.Response r = http().get("/api/v1/instances/" + id, bearer(pier.viewer));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json();
    }

    private static Http.Response action(String token, String id, Object... fields) {
        return http().postJson("/api/v1/instances/" + id + "/actions", json(fields), bearer(token));
    }

    private static JsonNode act(String id, Object... fields) {
        Http.Response r = action(pier.manager, id, fields);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json();
    }

    /** Writes a random token into the instance's data and returns it. */
    private static String writeToken(String id) {
        String token = UUID.randomUUID().toString();
        pier.sh(id, "echo " + token + " > /data/keep && mkdir -p /data/dir && echo nested > /data/dir/file");
        return token;
    }

    private static void assertData(String id, String token) {
        assertThat(pier.sh(id, "cat /data/keep /data/dir/file")).isEqualTo(token + "\nnested\n");
    }

    @Test
    void a_deploy_makes_a_labelled_volume_and_mounts_it_where_the_image_keeps_data() {
        JsonNode i = pier.deployQuiet("vol");
        String id = i.path("id").asText();
        String volume = "pier-data-" + id;
        assertThat(i.path("volume").asText()).isEqualTo(volume);
        assertThat(i.path("data_path").asText()).isEqualTo("/data");

        InspectVolumeResponse v = TestEngine.volume(pier.docker, volume).orElseThrow();
        assertThat(v.getLabels())
                .containsEntry("dev.pier.managed", "true")
                .containsEntry("dev.pier.instance", id)
                .containsEntry(TestEngine.INSTALLATION_LABEL, pier.installation.toString());
        InspectContainerResponse c = pier.inspectInstance(id);
        assertThat(c.getMounts()).hasSize(1);
        assertThat(c.getMounts().getFirst().getName()).isEqualTo(volume);
        assertThat(c.getMounts().getFirst().getDestination().getPath()).isEqualTo("/data");
        assertThat(c.getMounts().getFirst().getRW()).isTrue();
        // no bind mount: the volume is the only thing from outside the container's image
        assertThat(c.getHostConfig().getBinds()).isNullOrEmpty();

        // the Matrix family shows it too
        Http.Response list = http().get("/api/v1/droplet/list", bearer(pier.viewer));
        assertThat(list.status()).as(list.body()).isEqualTo(200);
        assertThat(list.json().findValuesAsText("volume")).contains(volume);
    }

    @Test
    void data_survives_stop_start_restart_and_a_container_removed_behind_pier_s_back() {
        String id = pier.deployQuiet("keep").path("id").asText();
        String token = writeToken(id);

        act(id, "type", "stop");
        act(id, "type", "start");
        assertData(id, token);
        act(id, "type", "restart");
        assertData(id, token);

        String cid = pier.inspectInstance(id).getId();
        pier.docker
                .removeContainerCmd(cid)
                .withForce(true)
                .withRemoveVolumes(true)
                .exec();
        pier.awaitConverged(() -> {
            InspectContainerResponse c = pier.inspectInstance(id);
            assertThat(c.getId()).isNotEqualTo(cid);
            assertThat(c.getState().getRunning()).isTrue();
        });
        assertData(id, token);
    }

    @Test
    void a_reinstall_makes_the_container_again_from_another_image_and_keeps_the_data() {
        String id = pier.deployQuiet("reinstall").path("id").asText();
        String token = writeToken(id);
        String before = pier.inspectInstance(id).getId();

        JsonNode r = act(id, "type", "reinstall", "image", InstanceFixture.ECHO_IMAGE);
        assertThat(r.path("image").asText()).isEqualTo(TestEngine.BUSYBOX);
        assertThat(r.path("command").toString()).contains("hello-pier");
        assertThat(r.path("observed_state").asText()).isEqualTo("running");
        assertThat(r.path("volume").asText()).isEqualTo("pier-data-" + id);
        InspectContainerResponse after = pier.inspectInstance(id);
        assertThat(after.getId())
                .isNotEqualTo(before)
                .isEqualTo(r.path("container_id").asText());
        assertThat(after.getConfig().getImage()).isEqualTo(TestEngine.BUSYBOX);
        assertThat(after.getState().getRunning()).isTrue();
        assertThat(TestEngine.inspect(pier.docker, before)).isEmpty();
        assertData(id, token);

        // a stopped instance is reinstalled and stays stopped; back to its image of before
        act(id, "type", "stop");
        JsonNode again = act(id, "type", "reinstall", "image", InstanceFixture.QUIET_IMAGE);
        assertThat(again.path("observed_state").asText()).isEqualTo("stopped");
        assertThat(again.path("image").asText()).isEqualTo(TestEngine.SLEEPER);
        assertThat(pier.inspectInstance(id).getState().getRunning()).isFalse();
        act(id, "type", "start");
        assertData(id, token);
        assertThat(pier.events(UUID.fromString(id))).doesNotContain("recreated");
        assertThat(pier.audit("instance.reinstall")).hasSizeGreaterThanOrEqualTo(2);
    }

    @Test
    void reinstall_is_refused_to_a_viewer_for_an_unknown_image_or_instance_and_for_a_bad_field() {
        String id = pier.deployQuiet("reinstall-no").path("id").asText();
        String cid = pier.inspectInstance(id).getId();

        assertThat(action(pier.viewer, id, "type", "reinstall").status()).isEqualTo(403);
        Http.Response unknownImage = action(pier.manager, id, "type", "reinstall", "image", "no-such-image");
        assertThat(unknownImage.status()).as(unknownImage.body()).isEqualTo(400);
        assertThat(unknownImage.json().path("detail").asText()).contains("not registered");
        assertThat(action(pier.manager, id, "type", "reinstall", "image", 7).status())
                .isEqualTo(400);
        Http.Response unknown = action(pier.manager, UUID.randomUUID().toString(), "type", "reinstall");
        assertThat(unknown.status()).as(unknown.body()).isEqualTo(404);
        Http.Response badType = action(pier.manager, id, "type", "rebuild");
        assertThat(badType.status()).isEqualTo(400);
        assertThat(badType.json().path("detail").asText()).contains("reinstall");

        // nothing was touched
        assertThat(pier.inspectInstance(id).getId()).isEqualTo(cid);
        assertThat(pier.running(cid)).isTrue();
    }

    @Test
    void deleting_an_instance_removes_its_volume() {
        String id = pier.deployQuiet("gone").path("id").asText();
        writeToken(id);
        assertThat(TestEngine.volume(pier.docker, "pier-data-" + id)).isPresent();
        // a listing leaves a warm helper on the volume for a while: it does not keep the volume
        assertThat(http().get("/api/v1/instances/" + id + "/files", bearer(pier.manager))
                        .status())
                .isEqualTo(200);
        assertThat(pier.docker
                        .listContainersCmd()
                        .withLabelFilter(Map.of("pier.helper-role", "warm"))
                        .withVolumeFilter(List.of("pier-data-" + id))
                        .exec())
                .hasSize(1);

        Http.Response d = http().delete("/api/v1/instances/" + id, bearer(pier.manager));
        assertThat(d.status()).as(d.body()).isEqualTo(204);
        assertThat(TestEngine.volume(pier.docker, "pier-data-" + id)).isEmpty();
    }

    @Test
    void an_image_that_keeps_no_data_gives_its_instances_no_volume() {
        String image = InstanceFixture.name("nodata");
        Http.Response reg = http().postJson(
                        "/api/v1/images",
                        json("name", image, "reference", TestEngine.SLEEPER, "data_path", ""),
                        bearer(pier.admin));
        assertThat(reg.status()).as(reg.body()).isEqualTo(201);
        assertThat(reg.json().path("data_path").isNull()).isTrue();

        JsonNode i =
                pier.deploy(pier.manager, "name", InstanceFixture.name("nodata"), "image", image, "memory_mib", 32);
        assertThat(i.path("volume").isNull()).isTrue();
        assertThat(i.path("data_path").isNull()).isTrue();
        assertThat(pier.inspectInstance(i.path("id").asText()).getMounts()).isEmpty();
        assertThat(TestEngine.volume(pier.docker, "pier-data-" + i.path("id").asText()))
                .isEmpty();
    }

    @Test
    void an_image_s_data_path_is_an_absolute_normalized_path_outside_the_kernel_s_trees() {
        for (Object bad : List.of(
                "data",
                "/",
                "/data/",
                "/a//b",
                "/a/../etc",
                "/a/./b",
                "/proc",
                "/sys/fs",
                "/dev/shm",
                "/da:ta",
                "/data\nx",
                "/" + "x".repeat(255),
                7,
                List.of("/data"))) {
            Http.Response r = http().postJson(
                            "/api/v1/images",
                            json(
                                    "name",
                                    InstanceFixture.name("bad"),
                                    "reference",
                                    TestEngine.SLEEPER,
                                    "data_path",
                                    bad),
                            bearer(pier.admin));
            assertThat(r.status()).as("data_path %s: %s", bad, r.body()).isEqualTo(400);
            assertThat(r.header("Content-Type")).contains("application/problem+json");
        }
        String name = InstanceFixture.name("srv");
        Http.Response ok = http().postJson(
                        "/api/v1/images",
                        json("name", name, "reference", TestEngine.SLEEPER, "data_path", "/srv/app data"),
                        bearer(pier.admin));
        assertThat(ok.status()).as(ok.body()).isEqualTo(201);
        assertThat(ok.json().path("data_path").asText()).isEqualTo("/srv/app data");
        String imageId = ok.json().path("id").asText();
        // a change of something else keeps it; a change of it is validated the same way
        Http.Response patched = http().send(
                        "PATCH",
                        "/api/v1/images/" + imageId,
                        "application/json",
                        json("description", "x"),
                        bearer(pier.admin));
        assertThat(patched.json().path("data_path").asText()).isEqualTo("/srv/app data");
        assertThat(http().send(
                                "PATCH",
                                "/api/v1/images/" + imageId,
                                "application/json",
                                json("data_path", "/proc/x"),
                                bearer(pier.admin))
                        .status())
                .isEqualTo(400);
        // the default is /data
        Http.Response dflt = http().postJson(
                        "/api/v1/images",
                        json("name", InstanceFixture.name("dflt"), "reference", TestEngine.SLEEPER),
                        bearer(pier.admin));
        assertThat(dflt.json().path("data_path").asText()).isEqualTo("/data");
        assertThat(http().postJson(
                                "/api/v1/images",
                                json("name", InstanceFixture.name("mgr"), "reference", TestEngine.SLEEPER),
                                bearer(pier.manager))
                        .status())
                .isEqualTo(403);

        // an instance of it keeps its data at that path
        JsonNode i = pier.deploy(pier.manager, "name", InstanceFixture.name("srv"), "image", name, "memory_mib", 32);
        assertThat(pier.inspectInstance(i.path("id").asText())
                        .getMounts()
                        .getFirst()
                        .getDestination()
                        .getPath())
                .isEqualTo("/srv/app data");
    }

    @Test
    void a_volume_without_an_instance_is_kept_through_the_grace_period() {
        String id = pier.deployQuiet("owned").path("id").asText();
        String stray = TestEngine.labelledVolume(pier.docker, UUID.randomUUID(), pier.installation);
        String foreign = TestEngine.labelledVolume(pier.docker, UUID.randomUUID(), UUID.randomUUID());
        try {
            // the shared server keeps orphans an hour (OrphanVolumeTest runs one with a short grace)
            pier.server.core().reconciler.passAll();
            pier.server.core().reconciler.passAll();
            assertThat(TestEngine.volume(pier.docker, stray)).isPresent();
            assertThat(TestEngine.volume(pier.docker, foreign)).isPresent();
            assertThat(TestEngine.volume(pier.docker, "pier-data-" + id)).isPresent();
        } finally {
            pier.docker.removeVolumeCmd(foreign).exec();
        }
    }
}
