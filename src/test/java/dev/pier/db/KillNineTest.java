package dev.pier.db;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import dev.pier.Core;
import dev.pier.instances.InstanceFixture;
import dev.pier.instances.TestEngine;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.support.DatabaseFree;
import dev.pier.support.Http;
import dev.pier.support.ServerProcess;
import dev.pier.support.TestDatabases;
import dev.pier.users.Enrollment;
import dev.pier.users.UserService;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a client was told is what exists after {@code kill -9}: a real {@code pier serve} process takes
 * writes from several clients at once and is killed while they run; after a restart every acknowledged
 * create, delete, disable and revoke is there, counted one by one. (Pier 0.1 on H2 lost some of each.)
 */
class KillNineTest {
    private static final Logger log = LoggerFactory.getLogger(KillNineTest.class);

    private record Created(String id, String key) {}

    @Test
    void acknowledged_key_changes_survive_kill_9_under_load() throws Exception {
        try (ServerProcess server = ServerProcess.start(Map.of("PIER_MAX_KEYS_PER_USER", "100000"))) {
            String token = server.ownerToken();
            Http http = server.http();
            // keys the clients will delete and disable while the server is killed
            List<Created> toDelete = new ArrayList<>();
            List<Created> toDisable = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                (i % 2 == 0 ? toDelete : toDisable).add(create(http, token, "pre-" + i));
            }
            ConcurrentLinkedQueue<Created> created = new ConcurrentLinkedQueue<>();
            Map<String, Created> deleted = new ConcurrentHashMap<>();
            Map<String, Created> disabled = new ConcurrentHashMap<>();
            AtomicBoolean stop = new AtomicBoolean();
            ExecutorService clients = Executors.newFixedThreadPool(6);
            for (int c = 0; c < 4; c++) {
                int client = c;
                clients.submit(() -> {
                    for (int i = 0; !stop.get(); i++) {
                        try {
                            created.add(create(http, token, "load-" + client + "-" + i));
                        } catch (AssertionError | RuntimeException cutOff) {
                            return; // the server is gone: this write was never acknowledged
                        }
                    }
                });
            }
            clients.submit(() -> {
                for (Created k : toDelete) {
                    try {
                        Http.Response r =
                                http.delete("/api/v1/api_tokens/" + k.id(), "Authorization", "Bearer " + token);
                        if (r.status() == 204 || r.status() == 200) {
                            deleted.put(k.id(), k);
                        }
                    } catch (AssertionError cutOff) {
                        return;
                    }
                }
            });
            clients.submit(() -> {
                for (Created k : toDisable) {
                    try {
                        Http.Response r = http.send(
                                "PATCH",
                                "/api/v1/api_tokens/" + k.id(),
                                "application/json",
                                "{\"enabled\":false}",
                                "Authorization",
                                "Bearer " + token);
                        if (r.status() == 200) {
                            disabled.put(k.id(), k);
                        }
                    } catch (AssertionError cutOff) {
                        return;
                    }
                }
            });
            // kill while the writes are in full flow: once enough have been acknowledged to count on
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while ((created.size() < 30 || deleted.size() + disabled.size() < 4) && System.nanoTime() < until) {
                Thread.sleep(20);
            }
            server.kill9();
            stop.set(true);
            clients.shutdown();
            assertThat(clients.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
            assertThat(created).as("keys acknowledged before the kill").hasSizeGreaterThanOrEqualTo(30);

            server.restart();
            int lost = 0;
            for (Created k : created) {
                if (server.http()
                                .get("/api/v1/api_tokens/" + k.id(), "Token", k.key())
                                .status()
                        != 200) {
                    lost++;
                }
            }
            int undeleted = 0;
            for (Created k : deleted.values()) {
                if (server.http().get("/api/v1/api_tokens", "Token", k.key()).status() != 401) {
                    undeleted++;
                }
            }
            int reenabled = 0;
            for (Created k : disabled.values()) {
                if (server.http().get("/api/v1/api_tokens", "Token", k.key()).status() != 401) {
                    reenabled++;
                }
            }
            log.info(
                    "kill -9 under load ({}): {} creates, {} deletes, {} disables acknowledged; lost {}, undone {}, {}",
                    TestDatabases.postgres() ? "PostgreSQL" : "SQLite",
                    created.size(),
                    deleted.size(),
                    disabled.size(),
                    lost,
                    undeleted,
                    reenabled);
            assertThat(lost).as("acknowledged creates lost").isZero();
            assertThat(undeleted).as("acknowledged deletes undone").isZero();
            assertThat(reenabled).as("acknowledged disables undone").isZero();
        }
    }

    @Test
    void a_revocation_acknowledged_just_before_kill_9_holds() throws Exception {
        try (ServerProcess server = ServerProcess.start()) {
            String token = server.ownerToken();
            String viewer;
            Enrollment v;
            try (Core cli = server.cli()) {
                v = cli.users.create(
                        Principal.system(), new UserService.NewUser(null, "revoked", Role.VIEWER, null, null));
            }
            viewer = ServerProcess.login(server.http(), v);
            assertThat(server.http()
                            .get("/api/v1/droplet/list", "Authorization", "Bearer " + viewer)
                            .status())
                    .isEqualTo(200);
            Http.Response r =
                    server.http().delete("/api/v1/user/auth/revoke/revoked", "Authorization", "Bearer " + token);
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            server.kill9();
            server.restart();
            assertThat(server.http()
                            .get("/api/v1/droplet/list", "Authorization", "Bearer " + viewer)
                            .status())
                    .isEqualTo(401);
        }
    }

    @Test
    void acknowledged_deploys_and_deletes_survive_kill_9() throws Exception {
        // passes every second after the restart: an undone delete or a lost deploy shows within seconds
        try (ServerProcess server = ServerProcess.start(Map.of("PIER_RECONCILE_SECONDS", "1"));
                DockerClient docker = TestEngine.connect()) {
            String token = server.ownerToken();
            Http http = server.http();
            UUID installation;
            try (Core cli = server.cli()) {
                installation = Installation.id(cli.db.jdbi());
            }
            try {
                awaitOnline(http, token);
                Http.Response image = http.postJson(
                        "/api/v1/images",
                        "{\"name\":\"sleeper\",\"reference\":\"" + TestEngine.SLEEPER + "\",\"default\":true}",
                        "Authorization",
                        "Bearer " + token);
                assertThat(image.status()).as(image.body()).isEqualTo(201);
                List<String> toDelete = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    toDelete.add(deploy(http, token, "doomed-" + i));
                }
                List<String> deployed = new ArrayList<>();
                List<String> deleted = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    deployed.add(deploy(http, token, "kept-" + i));
                    Http.Response d =
                            http.delete("/api/v1/instances/" + toDelete.get(i), "Authorization", "Bearer " + token);
                    assertThat(d.status()).as(d.body()).isEqualTo(204);
                    deleted.add(toDelete.get(i));
                }
                // the last write was acknowledged a moment ago: kill now
                server.kill9();
                server.restart();

                Http again = server.http();
                for (String id : deployed) {
                    assertThat(again.get("/api/v1/instances/" + id, "Authorization", "Bearer " + token)
                                    .status())
                            .as("acknowledged deploy %s", id)
                            .isEqualTo(200);
                }
                // a few reconcile passes later: every acknowledged deploy runs, every acknowledged delete stays done
                Thread.sleep(4000);
                for (String id : deployed) {
                    List<Container> c = TestEngine.containersOf(docker, installation, UUID.fromString(id));
                    assertThat(c).as("containers of acknowledged deploy %s", id).hasSize(1);
                    assertThat(TestEngine.running(docker, c.getFirst().getId())).isTrue();
                }
                for (String id : deleted) {
                    assertThat(again.get("/api/v1/instances/" + id, "Authorization", "Bearer " + token)
                                    .status())
                            .as("acknowledged delete %s", id)
                            .isEqualTo(404);
                    assertThat(TestEngine.containersOf(docker, installation, UUID.fromString(id)))
                            .as("containers of acknowledged delete %s", id)
                            .isEmpty();
                }
                log.info(
                        "kill -9 after deploys and deletes ({}): {} deploys and {} deletes acknowledged, all held",
                        TestDatabases.postgres() ? "PostgreSQL" : "SQLite",
                        deployed.size(),
                        deleted.size());
            } finally {
                TestEngine.removeContainers(docker, installation);
            }
        }
    }

    private static String deploy(Http http, String token, String prefix) {
        Http.Response r = http.postJson(
                "/api/v1/instances",
                "{\"name\":\"" + InstanceFixture.name(prefix) + "\",\"memory_mib\":32,\"ports\":\"\"}",
                "Authorization",
                "Bearer " + token);
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        return r.json().get("id").asText();
    }

    private static void awaitOnline(Http http, String token) throws InterruptedException {
        for (int i = 0; i < 100; i++) {
            if (http.get("/api/v1/nodes", "Authorization", "Bearer " + token)
                    .body()
                    .contains("\"status\":\"online\"")) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("node local never came online");
    }

    @Test
    @DatabaseFree // about the embedded store (PostgreSQL is another process)
    void the_embedded_store_listens_on_no_port() throws Exception {
        try (ServerProcess server = ServerProcess.start()) {
            server.ownerToken(); // the store has been written to
            assertThat(server.listeningPorts()).containsExactly(server.port());
        }
    }

    private static Created create(Http http, String token, String description) {
        Http.Response r = http.postJson(
                "/api/v1/api_tokens", "{\"description\":\"" + description + "\"}", "Authorization", "Bearer " + token);
        if (r.status() != 200) {
            throw new IllegalStateException("create answered " + r.status() + ": " + r.body());
        }
        JsonNode b = r.json();
        return new Created(b.get("id").asText(), b.get("key").asText());
    }

    /** An owner made from this process as the CLI does it (a second process on the store), logged in. */
}
