package dev.pier.instances;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.command.InspectVolumeResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import dev.pier.runtime.PierLabels;
import dev.pier.support.TestDatabases;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * The Docker engine the instance tests run against, seen through its own API (docker-java), never
 * through Pier's runtime: what these tests assert is what Docker says. The engine is {@code DOCKER_HOST}
 * or the local socket; without it, or without the images {@code scripts/test-images.sh} builds, the
 * tests skip, except with {@code CI=true}, where that fails.
 *
 * <p>Engines are shared (by other test runs, other engineers' servers): every look-up here is narrowed
 * to one Pier installation's label, so a test only ever sees and removes its own server's containers.
 */
public final class TestEngine {
    public static final String BUSYBOX = "pier-test/busybox:latest";
    public static final String SLEEPER = "pier-test/sleeper:latest";
    public static final String INSTALLATION_LABEL = InstanceService.INSTALLATION_LABEL;

    private TestEngine() {}

    /** The engine's address: {@code DOCKER_HOST} or the local socket. TLS engines are not supported here. */
    public static String host() {
        String h = System.getenv("DOCKER_HOST");
        return h == null || h.isBlank() ? "unix:///var/run/docker.sock" : h;
    }

    /** A client on the test engine with the test images present; skips (or fails in CI) otherwise. */
    public static DockerClient connect() {
        DockerClient c = client(host());
        try {
            c.pingCmd().exec();
        } catch (RuntimeException e) {
            close(c);
            TestDatabases.requireOrSkip("Docker is not reachable at " + host() + " (scripts/test starts it): " + e);
        }
        for (String image : List.of(BUSYBOX, SLEEPER)) {
            try {
                c.inspectImageCmd(image).exec();
            } catch (NotFoundException e) {
                close(c);
                TestDatabases.requireOrSkip("test image " + image + " is missing: run scripts/test-images.sh");
            }
        }
        return c;
    }

    /** A plain docker-java client on any engine address (unix:// or tcp:// without TLS). */
    public static DockerClient client(String dockerHost) {
        var http = new ApacheDockerHttpClient.Builder()
                .dockerHost(URI.create(dockerHost))
                .connectionTimeout(Duration.ofSeconds(2))
                .responseTimeout(Duration.ofSeconds(60))
                .build();
        var config = new DefaultDockerClientConfig.Builder()
                .withDockerHost(dockerHost)
                .withDockerTlsVerify(false)
                .build();
        return DockerClientImpl.getInstance(config, http);
    }

    /** Every container of one installation, running or not. */
    public static List<Container> containers(DockerClient docker, UUID installation) {
        return docker.listContainersCmd()
                .withShowAll(true)
                .withLabelFilter(Map.of(PierLabels.MANAGED, "true", INSTALLATION_LABEL, installation.toString()))
                .exec();
    }

    /** The containers of one instance (there should be at most one). */
    public static List<Container> containersOf(DockerClient docker, UUID installation, UUID instance) {
        return docker.listContainersCmd()
                .withShowAll(true)
                .withLabelFilter(Map.of(
                        PierLabels.MANAGED,
                        "true",
                        INSTALLATION_LABEL,
                        installation.toString(),
                        PierLabels.INSTANCE,
                        instance.toString()))
                .exec();
    }

    /** What the engine says about a container; empty when it does not exist. */
    public static Optional<InspectContainerResponse> inspect(DockerClient docker, String containerId) {
        try {
            return Optional.of(docker.inspectContainerCmd(containerId).exec());
        } catch (NotFoundException e) {
            return Optional.empty();
        }
    }

    public static boolean running(DockerClient docker, String containerId) {
        return inspect(docker, containerId)
                .map(c -> Boolean.TRUE.equals(c.getState().getRunning()))
                .orElse(false);
    }

    /** Removes every container of one installation (forced): what a test made, and nothing else. */
    public static void removeContainers(DockerClient docker, UUID installation) {
        for (Container c : containers(docker, installation)) {
            try {
                docker.removeContainerCmd(c.getId())
                        .withForce(true)
                        .withRemoveVolumes(true)
                        .exec();
            } catch (RuntimeException ignored) {
                // already gone
            }
        }
    }

    /** Every volume of one installation. */
    public static List<InspectVolumeResponse> volumes(DockerClient docker, UUID installation) {
        List<InspectVolumeResponse> all = docker.listVolumesCmd()
                .withFilter("label", List.of(PierLabels.MANAGED + "=true", INSTALLATION_LABEL + "=" + installation))
                .exec()
                .getVolumes();
        return all == null ? List.of() : all;
    }

    /** What the engine says about a volume; empty when it does not exist. */
    public static Optional<InspectVolumeResponse> volume(DockerClient docker, String name) {
        try {
            return Optional.of(docker.inspectVolumeCmd(name).exec());
        } catch (NotFoundException e) {
            return Optional.empty();
        }
    }

    /** Removes every volume of one installation that no container uses any more. */
    public static void removeVolumes(DockerClient docker, UUID installation) {
        for (InspectVolumeResponse v : volumes(docker, installation)) {
            try {
                docker.removeVolumeCmd(v.getName()).exec();
            } catch (RuntimeException ignored) {
                // gone, or in use by a container of another test's
            }
        }
    }

    /**
     * A shell script that prints every entry of the volume at /data with its type, mode, owner and (for a
     * file) SHA-256, sorted: what a backup and its restore must agree on.
     */
    public static final String MANIFEST = "cd /data && find . | sort | while read -r f; do"
            + " if [ -L \"$f\" ]; then echo \"$f link $(readlink \"$f\")\";"
            + " elif [ -d \"$f\" ]; then echo \"$f dir $(stat -c %a:%u:%g \"$f\")\";"
            + " else echo \"$f file $(stat -c %a:%u:%g \"$f\") $(sha256sum < \"$f\" | cut -c1-64)\"; fi; done";

    /**
     * Runs a shell script as root (with Docker's default capabilities) with {@code volume} at /data, in a
     * container of the test's own, and returns its output: what is in a volume, whatever its owners.
     */
    public static String onVolume(DockerClient docker, String volume, String script) {
        String c = docker.createContainerCmd(BUSYBOX)
                .withHostConfig(HostConfig.newHostConfig().withBinds(Bind.parse(volume + ":/data")))
                .withCmd("sleep", "120")
                .exec()
                .getId();
        try {
            docker.startContainerCmd(c).exec();
            return exec(docker, c, "/bin/sh", "-c", script);
        } finally {
            docker.removeContainerCmd(c).withForce(true).exec();
        }
    }

    /** A volume with Pier's labels for {@code instance} of {@code installation}, as Pier would make it. */
    public static String labelledVolume(DockerClient docker, UUID instance, UUID installation) {
        String name = "pier-data-" + UUID.randomUUID();
        docker.createVolumeCmd()
                .withName(name)
                .withLabels(Map.of(
                        PierLabels.MANAGED,
                        "true",
                        PierLabels.INSTANCE,
                        instance.toString(),
                        INSTALLATION_LABEL,
                        installation.toString()))
                .exec();
        return name;
    }

    /** Runs a command in a running container and returns its output (stdout and stderr). */
    public static String exec(DockerClient docker, String containerId, String... command) {
        String exec = docker.execCreateCmd(containerId)
                .withCmd(command)
                .withAttachStdout(true)
                .withAttachStderr(true)
                .exec()
                .getId();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            boolean done = docker.execStartCmd(exec)
                    .exec(new ResultCallback.Adapter<Frame>() {
                        @Override
                        public void onNext(Frame frame) {
                            out.writeBytes(frame.getPayload());
                        }
                    })
                    .awaitCompletion(30, TimeUnit.SECONDS);
            if (!done) {
                throw new IllegalStateException("exec " + String.join(" ", command) + " did not end in 30 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    public static int freeTcpPort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static int freeUdpPort() {
        try (DatagramSocket s = new DatagramSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static void close(DockerClient c) {
        try {
            c.close();
        } catch (IOException | RuntimeException ignored) {
            // closing a client that never worked
        }
    }
}
