package dev.pier.instances;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.HostConfig;
import dev.pier.runtime.ContainerRuntime;
import dev.pier.support.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static dev.pier.instances.InstanceFixture.bearer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The reconciler removes this installation's volumes that no instance owns once the grace period is over
 * (two seconds here), and never a volume an instance owns, one of another installation, or one a
 * container still uses. A delete whose node failed to remove the volume leaves it to this sweep.
 */
class OrphanVolumeTest {
    private static final Duration GRACE = Duration.ofSeconds(2);
    static InstanceFixture pier;

    @BeforeAll
    static void start() {
        pier = InstanceFixture.start(() -> TestServer.start(c -> c.with(b -> b.volumeGrace = GRACE)));
    }

    @AfterAll
    static void stop() {
        if (pier != null) {
            pier.close();
        }
    }

    private static String volume(UUID instance, UUID installation) {
        return TestEngine.labelledVolume(pier.docker, instance, installation);
    }

    private static boolean exists(String volume) {
        return TestEngine.volume(pier.docker, volume).isPresent();
    }

    @Test
    void orphans_go_after_the_grace_period_and_nothing_else_does() {
        JsonNode owned = pier.deployQuiet("owner");
        String ownedVolume = owned.path("volume").asText();
        String orphan = volume(UUID.randomUUID(), pier.installation);
        String foreign = volume(UUID.randomUUID(), UUID.randomUUID());
        // an orphan that a container (not Pier's) still uses
        String used = volume(UUID.randomUUID(), pier.installation);
        String user = pier.docker
                .createContainerCmd(TestEngine.SLEEPER)
                .withName(InstanceFixture.name("user"))
                .withHostConfig(HostConfig.newHostConfig().withBinds(Bind.parse(used + ":/v")))
                .exec()
                .getId();
        try {
            long seen = System.nanoTime();
            pier.server.core().reconciler.passAll();
            assertThat(exists(orphan)).as("within the grace period").isTrue();

            await().atMost(Duration.ofSeconds(20)).until(() -> {
                pier.server.core().reconciler.passAll();
                return !exists(orphan);
            });
            assertThat(Duration.ofNanos(System.nanoTime() - seen)).isGreaterThanOrEqualTo(GRACE);
            assertThat(exists(ownedVolume)).isTrue();
            assertThat(exists(foreign)).isTrue();
            assertThat(exists(used)).as("in use by a container").isTrue();
            List<String> detail = pier.server
                    .core()
                    .db
                    .jdbi()
                    .withHandle(h -> h.createQuery("SELECT detail FROM instance_events WHERE kind = :k")
                            .bind("k", "orphan_volume_removed")
                            .mapTo(String.class)
                            .list());
            assertThat(detail).anySatisfy(d -> assertThat(d).contains(orphan));
        } finally {
            pier.docker.removeContainerCmd(user).withForce(true).exec();
            pier.docker.removeVolumeCmd(foreign).exec();
        }
        // once nothing uses it any more, it goes too
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            pier.server.core().reconciler.passAll();
            return !exists(used);
        });
    }

    @Test
    void a_volume_a_delete_could_not_remove_is_swept_later() {
        JsonNode i = pier.deployQuiet("undeleted");
        String id = i.path("id").asText();
        String volume = i.path("volume").asText();
        // a container of someone else's holds the volume: the engine refuses to remove it
        String holder = pier.docker
                .createContainerCmd(TestEngine.SLEEPER)
                .withName(InstanceFixture.name("holder"))
                .withHostConfig(HostConfig.newHostConfig().withBinds(Bind.parse(volume + ":/v")))
                .exec()
                .getId();
        try {
            var d = pier.http().delete("/api/v1/instances/" + id + "?force=true", bearer(pier.manager));
            assertThat(d.status()).as(d.body()).isEqualTo(204);
            assertThat(pier.records()).isZero();
            assertThat(exists(volume)).isTrue();
        } finally {
            pier.docker.removeContainerCmd(holder).withForce(true).exec();
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            pier.server.core().reconciler.passAll();
            return !exists(volume);
        });
    }

    /** The runtime's volume calls the sweep is made of, on the real engine. */
    @Test
    void the_runtime_lists_only_pier_s_volumes() {
        ContainerRuntime runtime =
                pier.server.core().nodes.runtime(pier.server.core().nodes.require(pier.localNode));
        String mine = volume(UUID.randomUUID(), pier.installation);
        String unlabelled = "plain-" + UUID.randomUUID();
        pier.docker.createVolumeCmd().withName(unlabelled).exec();
        try {
            assertThat(runtime.listManagedVolumes())
                    .anySatisfy(v -> assertThat(v.name()).isEqualTo(mine));
            assertThat(runtime.listManagedVolumes())
                    .noneSatisfy(v -> assertThat(v.name()).isEqualTo(unlabelled));
            // creating again leaves it (and its labels) as it is; removing twice is fine
            runtime.createVolume(mine, Map.of());
            assertThat(TestEngine.volume(pier.docker, mine).orElseThrow().getLabels())
                    .containsEntry("dev.pier.managed", "true");
            runtime.removeVolume(mine);
            runtime.removeVolume(mine);
            assertThat(exists(mine)).isFalse();
        } finally {
            pier.docker.removeVolumeCmd(unlabelled).exec();
        }
    }
}
