package dev.pier.nodes;

import com.github.dockerjava.api.DockerClient;
import dev.pier.instances.TestEngine;
import dev.pier.runtime.Subnets;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * A second Docker engine on this machine, to be a second Pier node: its own dockerd with its own unix
 * socket, data and exec roots, pidfile, containerd namespaces and bridge, so it shares nothing with the
 * first engine (as in {@code dev.pier.runtime.SecondEngineTest}). Needs root.
 */
final class SecondEngine implements AutoCloseable {
    private final String id = UUID.randomUUID().toString().substring(0, 8);
    private final Path dir;
    private final String bridge;
    private Subnets.Lease subnet;
    private Process dockerd;

    private SecondEngine(Path dir, String bridge) {
        this.dir = dir;
        this.bridge = bridge;
    }

    /** Why a second engine cannot run here, or null when it can. */
    static String cannotRun() {
        if (!isRoot()) {
            return "starting a second dockerd needs root";
        }
        if (!onPath("dockerd") || !onPath("ip")) {
            return "dockerd or ip is not installed";
        }
        return null;
    }

    static SecondEngine start() throws IOException, InterruptedException {
        // short: containerd's socket lives under the exec root, and unix socket paths are limited to 108 bytes
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "pier-node2-");
        Files.writeString(dir.resolve("daemon.json"), "{}");
        String bridge =
                "piernb" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000000));
        SecondEngine e = new SecondEngine(dir, bridge);
        try {
            // two test JVMs may start engines at once: the subnet is leased, not drawn
            e.subnet = Subnets.lease("10.217");
            run("ip", "link", "add", bridge, "type", "bridge");
            run("ip", "addr", "add", e.subnet.gateway(), "dev", bridge);
            run("ip", "link", "set", bridge, "up");
            e.startDockerd();
            return e;
        } catch (IOException | RuntimeException failed) {
            try {
                e.close();
            } catch (Exception ignored) {
                // best effort: the start failure is what matters
            }
            throw failed;
        }
    }

    String address() {
        return "unix://" + socket();
    }

    /** The daemon's socket path, for {@code PIER_DOCKER_SOCKETS}. */
    String socket() {
        return dir.resolve("docker.sock").toString();
    }

    /** SIGSTOP: the daemon freezes with its socket open (the kernel still accepts connections). */
    void freeze() throws IOException, InterruptedException {
        run("kill", "-STOP", Long.toString(dockerd.pid()));
    }

    /** SIGCONT after {@link #freeze}. */
    void thaw() throws IOException, InterruptedException {
        run("kill", "-CONT", Long.toString(dockerd.pid()));
    }

    DockerClient client() {
        return TestEngine.client(address());
    }

    /** Copies an image from the first engine (there is no registry here). */
    void load(DockerClient from, String image) throws IOException {
        try (DockerClient to = client();
                InputStream tar = from.saveImageCmd(image).exec()) {
            to.loadImageCmd(tar).exec();
            to.inspectImageCmd(image).exec();
        }
    }

    void startDockerd() throws IOException {
        List<String> cmd = List.of(
                "dockerd",
                "--config-file",
                dir.resolve("daemon.json").toString(),
                "--host",
                address(),
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
                "pier-node2-" + id,
                "--containerd-plugins-namespace",
                "pier-node2-plugins-" + id);
        dockerd = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(
                        dir.resolve("dockerd.log").toFile()))
                .start();
        try (DockerClient c = client()) {
            await().atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(200))
                    .ignoreExceptions()
                    .until(() -> {
                        if (!dockerd.isAlive()) {
                            throw new IllegalStateException(
                                    "dockerd exited with " + dockerd.exitValue() + ":\n" + log());
                        }
                        c.pingCmd().exec();
                        return true;
                    });
        } catch (RuntimeException e) {
            throw new IllegalStateException("the second dockerd did not come up; its log:\n" + log(), e);
        }
    }

    /** Stops the daemon (SIGTERM, as a node going down would); its socket goes away. */
    void stopDockerd() throws InterruptedException {
        if (dockerd == null || !dockerd.isAlive()) {
            return;
        }
        dockerd.destroy();
        if (!dockerd.waitFor(30, TimeUnit.SECONDS)) {
            dockerd.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    String log() {
        try {
            List<String> lines = Files.readAllLines(dir.resolve("dockerd.log"));
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    @Override
    public void close() throws Exception {
        if (dockerd != null && dockerd.isAlive()) {
            thaw(); // a frozen daemon would not stop
        }
        stopDockerd();
        new ProcessBuilder("ip", "link", "del", bridge)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start()
                .waitFor(10, TimeUnit.SECONDS);
        if (subnet != null) {
            subnet.close();
        }
        new ProcessBuilder("rm", "-rf", dir.toString())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start()
                .waitFor(60, TimeUnit.SECONDS);
    }

    private static void run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
        }
    }

    private static boolean isRoot() {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .filter(l -> l.startsWith("Uid:"))
                    .anyMatch(l -> l.split("\\s+")[1].equals("0"));
        } catch (IOException e) {
            return false;
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
}
