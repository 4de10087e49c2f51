package dev.pier.instances;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import org.junit.jupiter.api.Test;

import java.util.UUID;

import static dev.pier.instances.InstanceFixture.bearer;
import static dev.pier.instances.InstanceFixture.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Disk limits that hold, on the real engine: the engine measures the volume, an instance over its
 * {@code disk_mib} is stopped with an event that says why and may not start until it is under the limit
 * (files deleted) or the limit is raised; uploads count against the limit.
 */
class DiskLimitTest {
    @Shared
    static InstanceFixture pier;

    private static Http http() {
        return pier.http();
    }

    private static JsonNode get(String id) {
        return http().get("/api/v1/instances/" + id, bearer(pier.viewer)).json();
    }

    private static Http.Response act(String id, String type) {
        return http().postJson("/api/v1/instances/" + id + "/actions", json("type", type), bearer(pier.manager));
    }

    private static Http.Response patch(String token, String id, String body) {
        return http().send("PATCH", "/api/v1/instances/" + id, "application/json", body, bearer(token));
    }

    private static void measure() {
        pier.server.core().disks.checkAll();
    }

    @Test
    void an_instance_over_its_disk_limit_is_stopped_and_cannot_start_until_it_is_under_it() {
        String id = pier.deploy(
                        pier.manager,
                        "name",
                        InstanceFixture.name("disk"),
                        "image",
                        InstanceFixture.QUIET_IMAGE,
                        "memory_mib",
                        32,
                        "disk_mib",
                        2)
                .path("id")
                .asText();
        assertThat(get(id).path("disk_used_bytes").isNull()).isTrue();
        measure();
        JsonNode fresh = get(id);
        assertThat(fresh.path("disk_used_bytes").asLong()).isBetween(0L, 1L << 20);
        assertThat(fresh.path("disk_over").asBoolean()).isFalse();

        pier.sh(id, "head -c 3000000 /dev/urandom > /data/big");
        measure();
        JsonNode over = get(id);
        assertThat(over.path("disk_used_bytes").asLong()).isGreaterThanOrEqualTo(3_000_000L);
        assertThat(over.path("disk_over").asBoolean()).isTrue();
        assertThat(over.path("observed_state").asText()).isEqualTo("stopped");
        assertThat(over.path("desired_state").asText()).isEqualTo("stopped");
        assertThat(over.path("last_error").asText()).contains("disk limit");
        assertThat(pier.running(pier.inspectInstance(id).getId())).isFalse();
        assertThat(pier.events(UUID.fromString(id))).contains("disk_limit");
        // the reconciler does not start it either
        pier.server.core().reconciler.passAll();
        assertThat(pier.running(pier.inspectInstance(id).getId())).isFalse();

        for (String type : new String[] {"start", "restart"}) {
            Http.Response r = act(id, type);
            assertThat(r.status()).as(r.body()).isEqualTo(409);
            assertThat(r.json().path("detail").asText()).contains("disk limit");
        }
        // an upload counts against the limit
        Http.Response up = http().send(
                        "PUT",
                        "/api/v1/instances/" + id + "/files/content?path=more",
                        "application/octet-stream",
                        "x",
                        bearer(pier.manager));
        assertThat(up.status()).as(up.body()).isEqualTo(413);

        // files deleted (the files work while it is stopped): under the limit again, and it may start
        assertThat(http().delete("/api/v1/instances/" + id + "/files?path=big", bearer(pier.manager))
                        .status())
                .isEqualTo(204);
        measure();
        assertThat(get(id).path("disk_over").asBoolean()).isFalse();
        assertThat(pier.events(UUID.fromString(id))).contains("disk_limit_ok");
        assertThat(act(id, "start").status()).isEqualTo(200);
        assertThat(pier.running(pier.inspectInstance(id).getId())).isTrue();

        // over again, then the limit raised: it may start at once
        pier.sh(id, "head -c 3000000 /dev/urandom > /data/big");
        measure();
        assertThat(get(id).path("disk_over").asBoolean()).isTrue();
        Http.Response raised = patch(pier.manager, id, json("disk_mib", 10));
        assertThat(raised.status()).as(raised.body()).isEqualTo(200);
        assertThat(raised.json().path("disk_mib").asInt()).isEqualTo(10);
        assertThat(raised.json().path("disk_over").asBoolean()).isFalse();
        assertThat(act(id, "start").status()).isEqualTo(200);
        assertThat(pier.audit("instance.disk_limit")).contains("success");

        // and the stats show what it uses
        JsonNode stats = http().get("/api/v1/instances/" + id + "/stats", bearer(pier.viewer))
                .json();
        assertThat(stats.path("disk_used_bytes").asLong()).isGreaterThanOrEqualTo(3_000_000L);
    }

    @Test
    void a_disk_limit_change_is_checked() {
        String id = pier.deployQuiet("disklimit").path("id").asText();
        assertThat(patch(pier.viewer, id, json("disk_mib", 5)).status()).isEqualTo(403);
        assertThat(patch(pier.manager, id, json("disk_mib", -1)).status()).isEqualTo(400);
        assertThat(patch(pier.manager, id, json("disk_mib", "lots")).status()).isEqualTo(400);
        assertThat(patch(pier.manager, id, "{}").status()).isEqualTo(400);
        assertThat(patch(pier.manager, id, json("disk_mib", Integer.MAX_VALUE)).status())
                .as("more than the node has")
                .isEqualTo(409);
        assertThat(patch(pier.manager, UUID.randomUUID().toString(), json("disk_mib", 5))
                        .status())
                .isEqualTo(404);
        Http.Response ok = patch(pier.manager, id, json("disk_mib", 0));
        assertThat(ok.status()).as(ok.body()).isEqualTo(200);
        assertThat(ok.json().path("disk_mib").asInt()).isZero();
    }
}
