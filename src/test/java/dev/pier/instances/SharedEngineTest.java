package dev.pier.instances;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static dev.pier.instances.InstanceFixture.bearer;
import static dev.pier.instances.InstanceFixture.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Two Pier installations on one Docker engine: their namespaces and their reconcilers stay apart. */
class SharedEngineTest {
    @Shared
    static InstanceFixture one;

    static InstanceFixture two;

    @BeforeAll
    static void start() {
        two = InstanceFixture.start();
    }

    @AfterAll
    static void stop() {
        try {
        } finally {
            if (two != null) {
                two.close();
            }
        }
    }

    @Test
    void each_installation_may_have_an_instance_of_the_same_name_and_neither_touches_the_other_s() {
        assertThat(one.installation).isNotEqualTo(two.installation);
        String name = InstanceFixture.name("same");
        JsonNode a = one.deploy(one.manager, "name", name, "image", InstanceFixture.QUIET_IMAGE, "memory_mib", 32);
        Http.Response r = two.http()
                .postJson(
                        "/api/v1/instances",
                        json("name", name, "image", InstanceFixture.QUIET_IMAGE, "memory_mib", 32),
                        bearer(two.manager));
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        JsonNode b = r.json();
        String cidA = a.path("container_id").asText();
        String cidB = b.path("container_id").asText();
        assertThat(cidA).isNotEqualTo(cidB);
        assertThat(one.containers()).extracting(c -> c.getId()).containsExactly(cidA);
        assertThat(two.containers()).extracting(c -> c.getId()).containsExactly(cidB);

        // full passes on both sides leave the other's container alone
        one.server.core().reconciler.passAll();
        two.server.core().reconciler.passAll();
        assertThat(one.running(cidA)).isTrue();
        assertThat(two.running(cidB)).isTrue();

        // a kill of one installation's container is repaired by that installation only
        String startedAt =
                one.docker.inspectContainerCmd(cidA).exec().getState().getStartedAt();
        one.docker.killContainerCmd(cidA).exec();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> one.running(cidA)
                        && !one.docker
                                .inspectContainerCmd(cidA)
                                .exec()
                                .getState()
                                .getStartedAt()
                                .equals(startedAt));
        assertThat(two.containers()).hasSize(1);

        // deleting in one leaves the other's namesake running
        assertThat(one.http()
                        .delete("/api/v1/instances/" + a.path("id").asText(), bearer(one.manager))
                        .status())
                .isEqualTo(204);
        assertThat(TestEngine.inspect(one.docker, cidA)).isEmpty();
        assertThat(two.running(cidB)).isTrue();
    }
}
