package dev.pier.instances;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.command.CreateContainerResponse;
import com.github.dockerjava.api.model.Container;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static dev.pier.instances.InstanceFixture.bearer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Docker changed behind Pier's back: the reconciler converges it back onto Pier's desired state, through
 * the engine's events at once or through a full pass, and records what it did in instance_events.
 */
class ReconcilerTest {
    @Shared
    static InstanceFixture pier;

    private String foreign;

    @AfterEach
    void cleanup() {
        if (foreign != null) {
            try {
                pier.docker.removeContainerCmd(foreign).withForce(true).exec();
            } catch (RuntimeException ignored) {
                // already gone
            }
            foreign = null;
        }
    }

    private static Http http() {
        return pier.http();
    }

    private static String observed(String id) {
        return http().get("/api/v1/instances/" + id, bearer(pier.viewer))
                .json()
                .path("observed_state")
                .asText();
    }

    /** A container with Pier's labels for {@code installation} and a random instance id, never started. */
    private static String labelledContainer(UUID installation, UUID instance) {
        CreateContainerResponse c = pier.docker
                .createContainerCmd(TestEngine.SLEEPER)
                .withName(InstanceFixture.name("stray"))
                .withLabels(Map.of(
                        "dev.pier.managed",
                        "true",
                        "dev.pier.instance",
                        instance.toString(),
                        TestEngine.INSTALLATION_LABEL,
                        installation.toString()))
                .exec();
        return c.getId();
    }

    @Test
    void a_container_killed_behind_pier_s_back_is_restarted_by_the_event_path() {
        JsonNode i = pier.deployQuiet("killed");
        String id = i.path("id").asText();
        String cid = i.path("container_id").asText();
        String startedAt =
                pier.docker.inspectContainerCmd(cid).exec().getState().getStartedAt();

        pier.docker.killContainerCmd(cid).exec();

        // no pass is run here: the die event alone brings it back
        await().atMost(Duration.ofSeconds(10))
                .until(() -> pier.running(cid)
                        && !pier.docker
                                .inspectContainerCmd(cid)
                                .exec()
                                .getState()
                                .getStartedAt()
                                .equals(startedAt));
        assertThat(pier.containersOf(id)).hasSize(1);
        await().atMost(Duration.ofSeconds(5))
                .until(() -> pier.events(UUID.fromString(id)).contains("restarted"));
        await().atMost(Duration.ofSeconds(5)).until(() -> observed(id).equals("running"));
    }

    @Test
    void a_container_stopped_behind_pier_s_back_is_started_by_a_pass() {
        JsonNode i = pier.deployQuiet("stopped");
        String id = i.path("id").asText();
        String cid = i.path("container_id").asText();

        pier.docker.stopContainerCmd(cid).withTimeout(1).exec();

        pier.awaitConverged(() -> {
            assertThat(pier.running(cid)).isTrue();
            // written just after the start
            assertThat(pier.events(UUID.fromString(id))).contains("restarted");
        });
    }

    @Test
    void a_container_removed_behind_pier_s_back_is_recreated() {
        JsonNode i = pier.deploy(
                pier.manager,
                "name",
                InstanceFixture.name("removed"),
                "image",
                InstanceFixture.QUIET_IMAGE,
                "memory_mib",
                48,
                "cpu",
                0.5,
                "variables",
                Map.of("KEEP", "me"),
                "ports",
                "80:" + TestEngine.freeTcpPort());
        String id = i.path("id").asText();
        String cid = i.path("container_id").asText();

        pier.docker.removeContainerCmd(cid).withForce(true).exec();

        pier.awaitConverged(() -> {
            List<Container> cs = pier.containersOf(id);
            assertThat(cs).hasSize(1);
            assertThat(cs.getFirst().getId()).isNotEqualTo(cid);
            assertThat(cs.getFirst().getState()).isEqualTo("running");
        });
        var c = pier.inspectInstance(id);
        // recreated from the record: same limits, ports and variables
        assertThat(c.getHostConfig().getMemory()).isEqualTo(48L * 1024 * 1024);
        assertThat(c.getHostConfig().getNanoCPUs()).isEqualTo(500_000_000L);
        assertThat(c.getConfig().getEnv()).contains("KEEP=me");
        assertThat(c.getHostConfig()
                        .getPortBindings()
                        .getBindings()
                        .get(com.github.dockerjava.api.model.ExposedPort.tcp(80))[0]
                        .getHostPortSpec())
                .isEqualTo(i.path("ports").get(0).path("host_port").asText());
        assertThat(pier.events(UUID.fromString(id))).contains("recreated");
        await().atMost(Duration.ofSeconds(5))
                .until(() -> http().get("/api/v1/instances/" + id, bearer(pier.viewer))
                        .json()
                        .path("container_id")
                        .asText()
                        .equals(c.getId()));
    }

    @Test
    void a_container_removed_while_desired_stopped_is_recreated_stopped() {
        JsonNode i = pier.deployQuiet("asleep");
        String id = i.path("id").asText();
        assertThat(pier.action(pier.manager, id, "stop").status()).isEqualTo(200);
        pier.docker
                .removeContainerCmd(i.path("container_id").asText())
                .withForce(true)
                .exec();

        pier.awaitConverged(() -> {
            assertThat(pier.containersOf(id)).hasSize(1);
            assertThat(observed(id)).isEqualTo("stopped");
        });
        assertThat(pier.containersOf(id).getFirst().getState()).isNotEqualTo("running");
    }

    @Test
    void an_orphan_with_pier_s_labels_and_no_record_is_removed_by_a_pass() {
        UUID stray = UUID.randomUUID();
        String cid = labelledContainer(pier.installation, stray);
        int records = pier.records();

        pier.server.core().reconciler.passAll();

        assertThat(TestEngine.inspect(pier.docker, cid)).isEmpty();
        assertThat(pier.events(stray)).containsExactly("orphan_removed");
        assertThat(pier.records()).isEqualTo(records);
    }

    @Test
    void a_container_of_another_installation_is_left_alone() {
        JsonNode mine = pier.deployQuiet("mine");
        UUID otherInstallation = UUID.randomUUID();
        foreign = labelledContainer(otherInstallation, UUID.randomUUID());
        pier.docker.startContainerCmd(foreign).exec();

        pier.server.core().reconciler.passAll();
        assertThat(pier.running(foreign)).isTrue();
        // and through the event path: kill it, Pier must not restart or remove it
        pier.docker.killContainerCmd(foreign).exec();
        await().atMost(Duration.ofSeconds(5)).until(() -> !pier.running(foreign));
        pier.server.core().reconciler.passAll();

        await().during(Duration.ofSeconds(2))
                .atMost(Duration.ofSeconds(3))
                .until(() -> TestEngine.inspect(pier.docker, foreign)
                        .map(c -> !c.getState().getRunning())
                        .orElse(false));
        assertThat(pier.containersOf(mine.path("id").asText())).hasSize(1);
        int events = pier.server
                .core()
                .db
                .jdbi()
                .withHandle(h -> h.createQuery("SELECT COUNT(*) FROM instance_events WHERE detail LIKE :d")
                        .bind("d", "%" + foreign + "%")
                        .mapTo(Integer.class)
                        .one());
        assertThat(events).isZero();
    }

    @Test
    void a_second_container_for_one_instance_is_removed_and_the_recorded_one_kept() {
        JsonNode i = pier.deployQuiet("dup");
        String id = i.path("id").asText();
        String cid = i.path("container_id").asText();
        String dup = labelledContainer(pier.installation, UUID.fromString(id));
        pier.docker.startContainerCmd(dup).exec();

        // the start event of the stray copy (handled here as the event path would) must not win it the record
        var node = pier.server.core().nodes.require(pier.localNode);
        pier.server.core().reconciler.reconcile(node, UUID.fromString(id), dup);
        assertThat(pier.server.core().instances.require(UUID.fromString(id)).containerId())
                .contains(cid);

        pier.server.core().reconciler.passAll();

        List<Container> cs = pier.containersOf(id);
        assertThat(cs).extracting(Container::getId).containsExactly(cid);
        assertThat(TestEngine.inspect(pier.docker, dup)).isEmpty();
        assertThat(pier.running(cid)).isTrue();
    }
}
