package dev.pier.instances;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.Container;
import dev.pier.db.Installation;
import dev.pier.http.Json;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.TestServer;
import dev.pier.users.Enrollment;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One real Pier server on the real Docker engine, with a user of every role logged in and the test
 * images registered, for the instance tests of every family. {@link #cleanup()} deletes every
 * instance (through Pier, so the reconciler does not bring anything back) and then removes whatever
 * container of this installation is left; {@link #close()} also stops the server.
 */
public final class InstanceFixture implements AutoCloseable {
    /** The default image: sleeps, publishes container port 80 by default. */
    public static final String DEFAULT_IMAGE = "sleeper";
    /** An image with no default ports, for deploys that must not touch host ports. */
    public static final String QUIET_IMAGE = "quiet";
    /** Echoes a line, then sleeps: for logs. */
    public static final String ECHO_IMAGE = "echo";

    public final TestServer server;
    public final DockerClient docker;
    public final UUID installation;
    public final UUID localNode;
    public final Enrollment ownerUser;
    public final Enrollment adminUser;
    public final Enrollment managerUser;
    public final Enrollment viewerUser;
    public final String owner;
    public final String admin;
    public final String manager;
    public final String viewer;

    private InstanceFixture(DockerClient docker, TestServer server) {
        this.docker = docker;
        this.server = server;
        this.installation = Installation.id(server.core().db.jdbi());
        this.localNode = server.core().nodes.findByName("local").orElseThrow().id();
        // the server's first node check runs in the background: until it has answered, the node's status is
        // "unknown", and image registration and deploys without a node refuse with "no node is online"
        org.awaitility.Awaitility.await()
                .atMost(java.time.Duration.ofSeconds(10))
                .until(() -> server.core().nodes.isOnline(server.core().nodes.require(localNode)));
        this.ownerUser = server.createUser("owner", Role.OWNER);
        this.adminUser = server.createUser("admin", Role.ADMIN);
        this.managerUser = server.createUser("manager", Role.MANAGER);
        this.viewerUser = server.createUser("viewer", Role.VIEWER);
        this.owner = server.accessToken(ownerUser);
        this.admin = server.accessToken(adminUser);
        this.manager = server.accessToken(managerUser);
        this.viewer = server.accessToken(viewerUser);
        registerImage(admin, DEFAULT_IMAGE, TestEngine.SLEEPER, List.of(), List.of(80), true);
        registerImage(admin, QUIET_IMAGE, TestEngine.SLEEPER, List.of(), List.of(), false);
        registerImage(
                admin,
                ECHO_IMAGE,
                TestEngine.BUSYBOX,
                List.of("/bin/sh", "-c", "echo hello-pier; sleep 3600"),
                List.of(),
                false);
    }

    /** A fresh server on the local engine (skips without Docker). */
    public static InstanceFixture start() {
        return start(TestServer::start);
    }

    /** A fresh server made by {@code server} (e.g. one whose runtimes are wrapped with fault hooks). */
    public static InstanceFixture start(Supplier<TestServer> server) {
        DockerClient docker = TestEngine.connect();
        return new InstanceFixture(docker, server.get());
    }

    public Http http() {
        return server.http();
    }

    public static String[] bearer(String token) {
        return new String[] {"Authorization", "Bearer " + token};
    }

    /**
     * A DNS-safe instance name unique on the engine: container names are global to an engine that other
     * test runs share.
     */
    public static String name(String prefix) {
        return prefix + "-" + Long.toString(ThreadLocalRandom.current().nextLong(36L * 36 * 36 * 36 * 36 * 36), 36);
    }

    public static String json(Object... pairs) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i + 1 < pairs.length; i += 2) {
            m.put((String) pairs[i], pairs[i + 1]);
        }
        try {
            return Json.MAPPER.writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public JsonNode registerImage(
            String token, String name, String reference, List<String> command, List<Integer> ports, boolean isDefault) {
        Http.Response r = http().postJson(
                        "/api/v1/images",
                        json(
                                "name",
                                name,
                                "reference",
                                reference,
                                "command",
                                command,
                                "ports",
                                ports,
                                "default",
                                isDefault),
                        bearer(token));
        assertThat(r.status()).as("register image %s: %s", name, r.body()).isEqualTo(201);
        return r.json();
    }

    /** Deploys through the native API and expects 201; {@code fields} are name, value pairs. */
    public JsonNode deploy(String token, Object... fields) {
        Http.Response r = http().postJson("/api/v1/instances", json(fields), bearer(token));
        assertThat(r.status()).as("deploy: %s", r.body()).isEqualTo(201);
        return r.json();
    }

    /** A quiet instance (no ports) of {@code prefix}, deployed by the manager. */
    public JsonNode deployQuiet(String prefix) {
        return deploy(manager, "name", name(prefix), "image", QUIET_IMAGE, "memory_mib", 32, "cpu", 0.25);
    }

    public Http.Response action(String token, String id, String type) {
        return http().postJson("/api/v1/instances/" + id + "/actions", json("type", type), bearer(token));
    }

    /** Every container of this server's installation. */
    public List<Container> containers() {
        return TestEngine.containers(docker, installation);
    }

    public List<Container> containersOf(UUID instance) {
        return TestEngine.containersOf(docker, installation, instance);
    }

    public List<Container> containersOf(String instance) {
        return containersOf(UUID.fromString(instance));
    }

    /** Runs a shell command in the instance's one container; returns its output. */
    public String sh(String instance, String script) {
        return TestEngine.exec(docker, inspectInstance(instance).getId(), "/bin/sh", "-c", script);
    }

    /** The one container of an instance, as the engine describes it. */
    public InspectContainerResponse inspectInstance(String instance) {
        List<Container> cs = containersOf(instance);
        assertThat(cs).as("containers of instance %s", instance).hasSize(1);
        return docker.inspectContainerCmd(cs.getFirst().getId()).exec();
    }

    public boolean running(String containerId) {
        return TestEngine.running(docker, containerId);
    }

    /** How many instance records the database holds. */
    public int records() {
        return server.core()
                .db
                .jdbi()
                .withHandle(h -> h.createQuery("SELECT COUNT(*) FROM instances")
                        .mapTo(Integer.class)
                        .one());
    }

    /** The outcomes audited for {@code action} (e.g. instance.reinstall), oldest first. */
    public List<String> audit(String action) {
        return server.core()
                .db
                .jdbi()
                .withHandle(h -> h.createQuery("SELECT outcome FROM audit_log WHERE action = :a ORDER BY id")
                        .bind("a", action)
                        .mapTo(String.class)
                        .list());
    }

    /** The reconciler's events about one instance, oldest first: kinds only. */
    public List<String> events(UUID instance) {
        return server.core()
                .db
                .jdbi()
                .withHandle(h -> h.createQuery("SELECT kind FROM instance_events WHERE instance_id = :id ORDER BY id")
                        .bind("id", instance)
                        .mapTo(String.class)
                        .list());
    }

    /**
     * Waits until {@code assertion} holds, running a full reconcile pass before each try: what the server's
     * periodic pass does (its interval is an hour in tests). A pass skips an instance that is busy (an event
     * being handled, say), so one pass alone proves nothing; the periodic pass is what guarantees convergence.
     */
    public void awaitConverged(org.awaitility.core.ThrowingRunnable assertion) {
        org.awaitility.Awaitility.await()
                .atMost(java.time.Duration.ofSeconds(20))
                .pollInterval(java.time.Duration.ofMillis(500))
                .untilAsserted(() -> {
                    server.core().reconciler.passAll();
                    assertion.run();
                });
    }

    /**
     * Deletes every instance through Pier (forced), then removes any container of this installation left. An
     * instance busy with an event being handled answers 409: the delete is tried again, because a record left
     * behind would have the reconciler recreate the container the sweep removes.
     */
    public void cleanup() {
        for (Instance i : server.core().instances.list()) {
            try {
                org.awaitility.Awaitility.await()
                        .atMost(java.time.Duration.ofSeconds(20))
                        .pollInterval(java.time.Duration.ofMillis(200))
                        .ignoreException(dev.pier.errors.PierException.Conflict.class)
                        .until(() -> {
                            try {
                                server.core().instances.delete(Principal.system(), i.id(), true);
                            } catch (dev.pier.errors.PierException.NotFound gone) {
                                // deleted already
                            }
                            return true;
                        });
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                // the sweep below still removes its container
            }
        }
        TestEngine.removeContainers(docker, installation);
        TestEngine.removeVolumes(docker, installation);
    }

    @Override
    public void close() {
        try {
            cleanup();
        } finally {
            server.close();
            TestEngine.removeContainers(docker, installation);
            TestEngine.removeVolumes(docker, installation);
            TestEngine.close(docker);
        }
    }
}
