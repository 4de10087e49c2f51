package dev.pier.instances;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.model.Container;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.pier.instances.InstanceFixture.bearer;
import static dev.pier.instances.InstanceFixture.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Operations on one instance are serialized; parallel deploys never share a name, a host port or a container. */
class InstanceConcurrencyTest {
    @Shared
    static InstanceFixture pier;

    /** Runs every call at once (released together) and returns their answers in order. */
    private static List<Http.Response> together(List<Callable<Http.Response>> calls) throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Http.Response>> futures = new ArrayList<>();
            for (Callable<Http.Response> c : calls) {
                futures.add(pool.submit(() -> {
                    go.await();
                    return c.call();
                }));
            }
            go.countDown();
            List<Http.Response> out = new ArrayList<>();
            for (Future<Http.Response> f : futures) {
                out.add(f.get());
            }
            return out;
        }
    }

    @Test
    void conflicting_actions_at_once_are_serialized_one_may_get_409_never_500() throws Exception {
        JsonNode i = pier.deployQuiet("busy");
        String id = i.path("id").asText();
        String cid = i.path("container_id").asText();
        int conflicts = 0;
        for (int round = 0; round < 4; round++) {
            List<Http.Response> rs = together(List.of(
                    () -> pier.action(pier.manager, id, "stop"),
                    () -> pier.action(pier.manager, id, "restart"),
                    () -> pier.http().send("PATCH", "/api/v1/droplet/start/" + id, null, null, bearer(pier.manager))));
            for (Http.Response r : rs) {
                assertThat(r.status()).as("round %d: %s", round, r.body()).isIn(200, 409);
                if (r.status() == 409) {
                    conflicts++;
                    assertThat(r.body()).containsAnyOf("in progress", "try again");
                }
            }
            // whatever won last, Docker ends where Pier says it should
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                JsonNode now = pier.http()
                        .get("/api/v1/instances/" + id, bearer(pier.viewer))
                        .json();
                boolean wantRunning = now.path("desired_state").asText().equals("running");
                assertThat(pier.running(cid)).isEqualTo(wantRunning);
            });
        }
        assertThat(pier.containersOf(id)).as("still one container").hasSize(1);
        // three slow calls released together on one instance: the lock refuses at least one of them over four rounds
        assertThat(conflicts).isPositive();

        // an action racing a delete: the delete wins or waits its turn, nothing is left behind
        List<Http.Response> rs = together(List.of(
                () -> pier.action(pier.manager, id, "restart"),
                () -> pier.http().delete("/api/v1/instances/" + id, bearer(pier.manager))));
        assertThat(rs.get(0).status()).as(rs.get(0).body()).isIn(200, 404, 409);
        assertThat(rs.get(1).status()).as(rs.get(1).body()).isIn(204, 409);
        if (rs.get(1).status() == 409) {
            assertThat(pier.http()
                            .delete("/api/v1/instances/" + id, bearer(pier.manager))
                            .status())
                    .isEqualTo(204);
        }
        assertThat(pier.containersOf(id)).isEmpty();
        assertThat(pier.records()).isZero();
    }

    @Test
    void ten_parallel_deploys_all_succeed_with_distinct_host_ports_and_exactly_ten_containers() throws Exception {
        List<String> names = new ArrayList<>();
        List<Callable<Http.Response>> calls = new ArrayList<>();
        for (int n = 0; n < 10; n++) {
            String name = InstanceFixture.name("par" + n);
            names.add(name);
            // the default image publishes port 80: Pier picks every host port
            calls.add(() -> pier.http()
                    .postJson(
                            "/api/v1/instances",
                            json("name", name, "memory_mib", 24, "cpu", 0.1),
                            bearer(pier.manager)));
        }
        List<Http.Response> rs = together(calls);

        Set<Integer> hostPorts = new HashSet<>();
        Set<String> ids = new HashSet<>();
        for (Http.Response r : rs) {
            assertThat(r.status()).as(r.body()).isEqualTo(201);
            assertThat(r.json().path("observed_state").asText()).isEqualTo("running");
            ids.add(r.json().path("id").asText());
            hostPorts.add(r.json().path("ports").get(0).path("host_port").asInt());
        }
        assertThat(ids).hasSize(10);
        assertThat(hostPorts).hasSize(10);

        List<Container> containers = pier.containers();
        assertThat(containers).hasSize(10);
        Set<Integer> published = new HashSet<>();
        for (Container c : containers) {
            assertThat(c.getState()).isEqualTo("running");
            assertThat(ids).contains(c.getLabels().get("dev.pier.instance"));
            for (var p : c.getPorts()) {
                if (p.getPublicPort() != null) {
                    published.add(p.getPublicPort());
                }
            }
        }
        assertThat(published).isEqualTo(hostPorts);
        JsonNode list =
                pier.http().get("/api/v1/instances", bearer(pier.viewer)).json();
        assertThat(list.path("items").findValuesAsText("name")).containsExactlyInAnyOrderElementsOf(names);
    }

    @Test
    void two_parallel_deploys_of_one_name_leave_one_instance() throws Exception {
        String name = InstanceFixture.name("twin");
        List<Http.Response> rs = together(List.of(
                () -> pier.http()
                        .postJson(
                                "/api/v1/instances",
                                json("name", name, "image", InstanceFixture.QUIET_IMAGE, "memory_mib", 32),
                                bearer(pier.manager)),
                () -> pier.http()
                        .postJson(
                                "/api/v1/droplet/add",
                                json("name", name, "image", InstanceFixture.QUIET_IMAGE, "memory", 32),
                                bearer(pier.manager))));
        long ok =
                rs.stream().filter(r -> r.status() == 201 || r.status() == 200).count();
        assertThat(ok).as("%s / %s", rs.get(0).body(), rs.get(1).body()).isEqualTo(1);
        assertThat(rs).extracting(Http.Response::status).contains(409);
        assertThat(pier.records()).isEqualTo(1);
        assertThat(pier.containers()).hasSize(1);
    }
}
