package dev.pier.runtime;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import dev.pier.support.TestDatabases;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The Docker engine the tests run against: {@code DOCKER_HOST} (with {@code DOCKER_TLS_VERIFY} and
 * {@code DOCKER_CERT_PATH}) or the local socket. Without a reachable engine, or without the images
 * {@code scripts/test-images.sh} builds, tests are skipped, except with {@code CI=true}, where that fails.
 *
 * <p>Every container a test creates carries {@link #RUN_LABEL} with this JVM's {@link #RUN_ID}, so
 * {@link #removeOurContainers} cleans up exactly what this run made, never another run's containers.
 */
final class TestDocker {
    static final String BUSYBOX = "pier-test/busybox:latest";
    static final String SLEEPER = "pier-test/sleeper:latest";
    static final String RUN_LABEL = "pier-test.run";
    static final String RUN_ID = UUID.randomUUID().toString().substring(0, 8);

    private TestDocker() {}

    static DockerEndpoint endpoint() {
        String host = System.getenv("DOCKER_HOST");
        if (host == null || host.isBlank()) {
            return DockerEndpoint.local();
        }
        DockerEndpoint endpoint = DockerEndpoint.parse(host);
        String certPath = System.getenv("DOCKER_CERT_PATH");
        if ("1".equals(System.getenv("DOCKER_TLS_VERIFY")) && certPath != null && !certPath.isBlank()) {
            endpoint = endpoint.withTls(TlsMaterial.fromDirectory(Path.of(certPath)));
        }
        return endpoint;
    }

    /** A runtime on the test engine with the test images present; skips (or fails in CI) otherwise. */
    static DockerRuntime connect() {
        DockerEndpoint endpoint = endpoint();
        DockerRuntime runtime = DockerRuntime.connect(endpoint);
        try {
            runtime.ping();
        } catch (RuntimeUnavailableException e) {
            runtime.close();
            TestDatabases.requireOrSkip("Docker is not reachable at " + endpoint.display()
                    + " (scripts/test starts it): " + e.getMessage());
        }
        for (String image : List.of(BUSYBOX, SLEEPER)) {
            if (!runtime.imageExists(image)) {
                runtime.close();
                TestDatabases.requireOrSkip("test image " + image + " is missing: run scripts/test-images.sh");
            }
        }
        return runtime;
    }

    /** A docker-java client on the same engine, to check what Docker really did. Plain endpoints only. */
    static DockerClient raw(DockerEndpoint endpoint) {
        var http = new ApacheDockerHttpClient.Builder()
                .dockerHost(endpoint.uri())
                .connectionTimeout(Duration.ofSeconds(2))
                .responseTimeout(Duration.ofSeconds(60))
                .build();
        var config = new DefaultDockerClientConfig.Builder()
                .withDockerHost(endpoint.uri().toString())
                .build();
        return DockerClientImpl.getInstance(config, http);
    }

    /** A spec for a test container: a unique name, this run's label, small limits. */
    static ContainerSpec.Builder spec(String image) {
        UUID instance = UUID.randomUUID();
        return ContainerSpec.builder(
                        instance, "pier-test-" + instance.toString().substring(0, 13), image)
                .memoryMiB(32)
                .cpus(0.25)
                .pidsLimit(64)
                .label(RUN_LABEL, RUN_ID);
    }

    static void removeOurContainers(DockerClient raw) {
        List<Container> ours = raw.listContainersCmd()
                .withShowAll(true)
                .withLabelFilter(Map.of(RUN_LABEL, RUN_ID))
                .exec();
        for (Container c : ours) {
            try {
                raw.removeContainerCmd(c.getId())
                        .withForce(true)
                        .withRemoveVolumes(true)
                        .exec();
            } catch (RuntimeException ignored) {
                // already gone
            }
        }
    }

    static int freeTcpPort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static int freeUdpPort() {
        try (DatagramSocket s = new DatagramSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static boolean isRoot() {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .filter(l -> l.startsWith("Uid:"))
                    .anyMatch(l -> l.split("\\s+")[1].equals("0"));
        } catch (IOException e) {
            return false;
        }
    }
}
