package dev.pier.runtime;

import com.github.dockerjava.api.DockerClient;
import dev.pier.support.DatabaseFree;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * A second Docker engine, as a second Pier node: its own dockerd with its own unix socket, a TLS TCP
 * listener with client certificates, data and exec roots, pidfile and bridge. It needs root (the
 * daemon, the bridge); without root the class is skipped.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@DatabaseFree
class SecondEngineTest {
    private DockerRuntime first;
    private Path dir;
    private String bridge;
    private Subnets.Lease subnet;
    private int tlsPort;
    private TestCertificates certs;
    private Process dockerd;
    private DockerRuntime second;
    private DockerRuntime secondTls;

    @BeforeAll
    void startSecondEngine() throws Exception {
        first = TestDocker.connect();
        Assumptions.assumeTrue(
                TestDocker.isRoot(), "skipped: starting a second dockerd needs root (scripts/test runs as root in CI)");
        Assumptions.assumeTrue(onPath("dockerd") && onPath("ip"), "skipped: dockerd or ip is not installed");

        // short: containerd's socket lives under the exec root, and unix socket paths are limited to 108 bytes
        dir = Files.createTempDirectory(Path.of("/tmp"), "pier-engine2-");
        certs = TestCertificates.generate("engine2");
        Files.createDirectories(dir.resolve("server"));
        Files.writeString(dir.resolve("server/ca.pem"), certs.caPem);
        Files.writeString(dir.resolve("server/cert.pem"), certs.serverCertPem);
        Files.writeString(dir.resolve("server/key.pem"), certs.serverKeyPem);
        Files.createDirectories(dir.resolve("client"));
        Files.writeString(dir.resolve("client/ca.pem"), certs.caPem);
        Files.writeString(dir.resolve("client/cert.pem"), certs.clientCertPem);
        Files.writeString(dir.resolve("client/key.pem"), certs.clientKeyPem);
        // no /etc/docker/daemon.json settings leak into this daemon
        Files.writeString(dir.resolve("daemon.json"), "{}");

        // its own bridge, so it does not fight the first engine over docker0
        bridge = "pierbr" + TestDocker.RUN_ID.substring(0, 6);
        subnet = Subnets.lease("10.213"); // leased: another test JVM may start an engine at the same time
        run("ip", "link", "add", bridge, "type", "bridge");
        run("ip", "addr", "add", subnet.gateway(), "dev", bridge);
        run("ip", "link", "set", bridge, "up");

        tlsPort = TestDocker.freeTcpPort();
        startDockerd();
        second = DockerRuntime.connect(DockerEndpoint.unix(dir.resolve("docker.sock")));
        secondTls =
                DockerRuntime.connect(DockerEndpoint.tcp("127.0.0.1", tlsPort).withTls(certs.clientMaterial()));
        awaitUp(second);

        // no registry: copy the test image over from the first engine
        try (DockerClient from = TestDocker.raw(first.endpoint());
                DockerClient to = TestDocker.raw(second.endpoint());
                InputStream tar = from.saveImageCmd(TestDocker.SLEEPER).exec()) {
            to.loadImageCmd(tar).exec();
        }
        assertThat(second.imageExists(TestDocker.SLEEPER)).isTrue();
    }

    @AfterAll
    void stopSecondEngine() throws Exception {
        if (second != null) {
            try (DockerClient raw = TestDocker.raw(second.endpoint())) {
                if (dockerd != null && dockerd.isAlive()) {
                    TestDocker.removeOurContainers(raw);
                }
            } catch (RuntimeException ignored) {
                // the engine is down already
            }
        }
        closeAll(secondTls, second, first);
        stopDockerd();
        if (bridge != null) {
            new ProcessBuilder("ip", "link", "del", bridge)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start()
                    .waitFor(10, TimeUnit.SECONDS);
        }
        if (subnet != null) {
            subnet.close();
        }
        if (dir != null) {
            new ProcessBuilder("rm", "-rf", dir.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start()
                    .waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    @Order(1)
    void the_second_engine_is_a_separate_node() {
        ContainerSpec spec = TestDocker.spec(TestDocker.SLEEPER).build();
        String id = second.create(spec);
        second.start(id);

        assertThat(second.listManaged()).extracting(ContainerSummary::id).contains(id);
        assertThat(second.inspect(id))
                .hasValueSatisfying(s -> assertThat(s.running()).isTrue());
        assertThat(first.listManaged()).extracting(ContainerSummary::id).doesNotContain(id);
        assertThat(first.inspect(id)).isEmpty();

        long t0 = System.nanoTime();
        second.stop(id, Duration.ofSeconds(10));
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
        second.remove(id, false);
        assertThat(second.inspect(id)).isEmpty();
    }

    @Test
    @Order(2)
    void tls_works_with_certificates_given_as_text_or_as_a_directory() {
        secondTls.ping();
        assertThat(secondTls.listManaged()).isNotNull();
        assertThat(secondTls.imageExists(TestDocker.SLEEPER)).isTrue();

        try (DockerRuntime fromDir = DockerRuntime.connect(
                DockerEndpoint.tcp("127.0.0.1", tlsPort).withTls(TlsMaterial.fromDirectory(dir.resolve("client"))))) {
            fromDir.ping();
        }
    }

    @Test
    @Order(3)
    void tls_refuses_a_foreign_ca_and_a_foreign_client_certificate() {
        TestCertificates other = TestCertificates.generate("other");
        for (TlsMaterial wrong : List.of(
                other.clientMaterial(), // does not trust the engine
                new TlsMaterial(certs.caPem, other.clientCertPem, other.clientKeyPem) // the engine does not trust us
                )) {
            try (DockerRuntime r = DockerRuntime.connect(
                    DockerEndpoint.tcp("127.0.0.1", tlsPort).withTls(wrong))) {
                long t0 = System.nanoTime();
                assertThatThrownBy(r::ping).isInstanceOf(RuntimeUnavailableException.class);
                assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(3));
            }
        }
    }

    @Test
    @Order(3)
    void logs_stats_and_attach_work_over_tls_as_over_the_socket() {
        String id = second.create(TestDocker.spec(TestDocker.SLEEPER)
                .stdin(true)
                .command("sh", "-c", "echo ready; while read line; do echo \"got $line\"; done")
                .build());
        second.start(id);
        for (DockerRuntime via : List.of(second, secondTls)) {
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                List<LogLine> lines = new ArrayList<>();
                try (LogReader r = via.readLogs(id, LogRequest.tail(5))) {
                    for (LogLine l = r.next(); l != null; l = r.next()) {
                        lines.add(l);
                    }
                }
                assertThat(lines).extracting(LogLine::text).first().isEqualTo("ready");
            });
            assertThat(via.statsOnce(id).pids()).isPositive();
            try (StatsReader r = via.readStats(id)) {
                assertThat(r.next()).isNotNull();
            }
            try (Attachment a = via.attach(id)) {
                a.write("tls\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
                StringBuilder out = new StringBuilder();
                while (!out.toString().contains("got tls\n")) {
                    Attachment.Chunk c = a.read();
                    assertThat(c).isNotNull();
                    assertThat(c.output()).isEqualTo(Output.STDOUT);
                    out.append(new String(c.bytes(), java.nio.charset.StandardCharsets.UTF_8));
                }
            }
        }
        second.remove(id, true);

        // the attach's own connection checks the engine's certificate, and shows its own to the engine
        String attach = "/containers/" + id + "/attach?stream=1&stdout=1";
        try (JettyDockerHttpClient http = new JettyDockerHttpClient(
                        DockerEndpoint.tcp("127.0.0.1", tlsPort).withTls(certs.clientMaterial()), e -> {});
                JettyDockerHttpClient.Hijacked gone = http.hijack(attach)) {
            assertThat(gone.upgraded()).isFalse();
            assertThat(gone.status()).isEqualTo(404);
        }
        TestCertificates other = TestCertificates.generate("other");
        try (JettyDockerHttpClient http = new JettyDockerHttpClient(
                DockerEndpoint.tcp("127.0.0.1", tlsPort).withTls(other.clientMaterial()), e -> {})) {
            // Pier does not trust the engine's certificate
            assertThatThrownBy(() -> http.hijack(attach).close())
                    .isInstanceOf(java.io.UncheckedIOException.class)
                    .satisfies(e -> assertThat(DockerRuntime.reason(e)).contains("TLS handshake"));
        }
        try (JettyDockerHttpClient http = new JettyDockerHttpClient(
                DockerEndpoint.tcp("127.0.0.1", tlsPort)
                        .withTls(new TlsMaterial(certs.caPem, other.clientCertPem, other.clientKeyPem)),
                e -> {})) {
            // the engine does not trust Pier's: with TLS 1.3 the client's side of the handshake is done before
            // the engine checks, so the refusal comes as a closed connection
            assertThatThrownBy(() -> http.hijack(attach).close()).isInstanceOf(java.io.UncheckedIOException.class);
        }
    }

    @Test
    @Order(4)
    @SuppressWarnings("try")
    void events_resume_with_a_resync_after_the_engine_restarts() throws Exception {
        List<RuntimeEvent> events = new CopyOnWriteArrayList<>();
        try (Closeable subscription = second.events(events::add)) {
            stopDockerd();
            startDockerd();
            awaitUp(second);

            await().atMost(Duration.ofSeconds(30))
                    .until(() -> events.stream().anyMatch(e -> e.kind() == RuntimeEvent.Kind.RESYNC));

            String id = second.create(TestDocker.spec(TestDocker.SLEEPER).build());
            second.start(id);
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> events.stream()
                            .anyMatch(e -> e.kind() == RuntimeEvent.Kind.START
                                    && e.containerId().equals(id)));
            second.remove(id, true);
        }
    }

    @Test
    @Order(5)
    void once_stopped_the_engine_fails_every_call_fast() throws Exception {
        stopDockerd();

        for (DockerRuntime down : List.of(second, secondTls)) {
            List<Runnable> calls = new ArrayList<>(List.of(
                    down::ping,
                    down::listManaged,
                    () -> down.inspect("anything"),
                    () -> down.imageExists(TestDocker.SLEEPER),
                    () -> down.create(TestDocker.spec(TestDocker.SLEEPER).build()),
                    () -> down.start("anything"),
                    () -> down.stop("anything", Duration.ofSeconds(10)),
                    () -> down.remove("anything", true)));
            for (Runnable call : calls) {
                long t0 = System.nanoTime();
                assertThatThrownBy(call::run)
                        .isInstanceOf(RuntimeUnavailableException.class)
                        .hasMessageContaining(down.endpoint().uri().toString());
                assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(3));
            }
        }
    }

    private void startDockerd() throws IOException {
        Path log = dir.resolve("dockerd.log");
        List<String> cmd = List.of(
                "dockerd",
                "--config-file",
                dir.resolve("daemon.json").toString(),
                "--host",
                "unix://" + dir.resolve("docker.sock"),
                "--host",
                "tcp://127.0.0.1:" + tlsPort,
                "--tlsverify",
                "--tlscacert",
                dir.resolve("server/ca.pem").toString(),
                "--tlscert",
                dir.resolve("server/cert.pem").toString(),
                "--tlskey",
                dir.resolve("server/key.pem").toString(),
                "--data-root",
                dir.resolve("data").toString(),
                "--exec-root",
                dir.resolve("exec").toString(),
                "--pidfile",
                dir.resolve("docker.pid").toString(),
                "--bridge",
                bridge,
                "--iptables=false",
                "--ip-masq=false",
                "--containerd-namespace",
                "pier-test-" + TestDocker.RUN_ID,
                "--containerd-plugins-namespace",
                "pier-test-plugins-" + TestDocker.RUN_ID);
        dockerd = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
    }

    private void stopDockerd() throws InterruptedException {
        if (dockerd == null || !dockerd.isAlive()) {
            return;
        }
        dockerd.destroy(); // SIGTERM: the daemon shuts down its containerd and removes its socket
        if (!dockerd.waitFor(30, TimeUnit.SECONDS)) {
            dockerd.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    private void awaitUp(DockerRuntime runtime) throws IOException {
        try {
            await().atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(200))
                    .ignoreException(RuntimeUnavailableException.class)
                    .until(() -> {
                        if (!dockerd.isAlive()) {
                            throw new IllegalStateException("dockerd exited with " + dockerd.exitValue());
                        }
                        runtime.ping();
                        return true;
                    });
        } catch (RuntimeException e) {
            throw new IllegalStateException(
                    "the second dockerd did not come up; its log:\n" + tail(dir.resolve("dockerd.log")), e);
        }
    }

    private static String tail(Path log) throws IOException {
        List<String> lines = Files.exists(log) ? Files.readAllLines(log) : List.of();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    }

    private static void run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
        }
    }

    private static boolean onPath(String program) {
        for (String d : System.getenv()
                .getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
                .split(":")) {
            if (Files.isExecutable(Path.of(d, program))) {
                return true;
            }
        }
        return false;
    }

    private static void closeAll(AutoCloseable... closeables) throws Exception {
        for (AutoCloseable c : closeables) {
            if (c != null) {
                c.close();
            }
        }
    }
}
