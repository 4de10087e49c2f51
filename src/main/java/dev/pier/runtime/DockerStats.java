package dev.pier.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.transport.DockerHttpClient;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * Docker's stats ({@code /containers/ID/stats}) turned into {@link StatsSample}s the way {@code docker stats}
 * computes its figures:
 * <ul>
 *   <li>CPU: the container's CPU time since the previous sample over the host's, times the CPUs online
 *       (the length of the per-CPU list when the engine does not say), in percent; 0 without a previous
 *       sample;</li>
 *   <li>memory: usage less the inactive file cache ({@code total_inactive_file} on cgroup v1,
 *       {@code inactive_file} on cgroup v2) when it is smaller than the usage;</li>
 *   <li>network: received and sent bytes summed over the interfaces;</li>
 *   <li>block I/O: the recursive service bytes whose operation starts with r/R (read) or w/W (write).</li>
 * </ul>
 * Missing fields count as zero. A sample whose {@code read} time is empty or Docker's zero time is the
 * engine's "no data" (a container that is not running), which a stream skips.
 */
final class DockerStats {
    private static final ObjectMapper JSON = new ObjectMapper();

    private DockerStats() {}

    /**
     * The sample in one of the engine's stats objects; null when it holds no data.
     *
     * @throws EngineAnswerException when it is not a stats object
     */
    static StatsSample sample(JsonNode n) throws EngineAnswerException {
        return sample(n, null);
    }

    /**
     * The sample in one of the engine's stats objects, its CPU use measured against {@code earlier} when the
     * object has no previous counters of its own (a one-shot answer); null when it holds no data.
     */
    static StatsSample sample(JsonNode n, StatsSample.CpuCounters earlier) throws EngineAnswerException {
        if (n == null || !n.isObject()) {
            throw new EngineAnswerException(
                    EngineAnswerException.Kind.NOT_DOCKER, "its stats are not the Docker API's JSON");
        }
        String read = n.path("read").asText("");
        if (read.isEmpty() || read.startsWith("0001-01-01")) {
            return null;
        }
        Instant time;
        try {
            time = Instant.parse(read);
        } catch (DateTimeParseException e) {
            throw new EngineAnswerException(EngineAnswerException.Kind.NOT_DOCKER, "its stats carry no valid time");
        }
        StatsSample.CpuCounters counters = counters(n.path("cpu_stats"));
        StatsSample.CpuCounters previous = counters(n.path("precpu_stats"));
        if (previous.systemNanos() <= 0 && earlier != null) {
            previous = earlier;
        }
        return new StatsSample(
                time,
                counters.percentSince(previous),
                memory(n.path("memory_stats")),
                n.path("memory_stats").path("limit").asLong(0),
                sum(n.path("networks"), "rx_bytes"),
                sum(n.path("networks"), "tx_bytes"),
                blockIo(n.path("blkio_stats"), 'r'),
                blockIo(n.path("blkio_stats"), 'w'),
                n.path("pids_stats").path("current").asLong(0),
                counters.systemNanos() > 0 ? counters : null);
    }

    /** What a container that is not running shows: no use at all. */
    static StatsSample idle(Instant time) {
        return new StatsSample(time, 0, 0, 0, 0, 0, 0, 0, 0, null);
    }

    /** The counters of {@code cpu_stats} or {@code precpu_stats}; all 0 when absent. */
    private static StatsSample.CpuCounters counters(JsonNode cpu) {
        int online = cpu.path("online_cpus").asInt(0);
        if (online == 0) {
            online = cpu.path("cpu_usage").path("percpu_usage").size();
        }
        return new StatsSample.CpuCounters(
                cpu.path("cpu_usage").path("total_usage").asLong(0),
                cpu.path("system_cpu_usage").asLong(0),
                online);
    }

    static long memory(JsonNode m) {
        long usage = m.path("usage").asLong(0);
        JsonNode stats = m.path("stats");
        if (stats.has("total_inactive_file")) { // cgroup v1
            long inactive = stats.path("total_inactive_file").asLong(0);
            if (inactive < usage) {
                return usage - inactive;
            }
        }
        long inactive = stats.path("inactive_file").asLong(0); // cgroup v2
        return inactive < usage ? usage - inactive : usage;
    }

    private static long sum(JsonNode networks, String field) {
        long total = 0;
        for (JsonNode n : networks) {
            total += n.path(field).asLong(0);
        }
        return total;
    }

    private static long blockIo(JsonNode blkio, char op) {
        long total = 0;
        for (JsonNode e : blkio.path("io_service_bytes_recursive")) {
            String o = e.path("op").asText("");
            if (!o.isEmpty() && Character.toLowerCase(o.charAt(0)) == op) {
                total += e.path("value").asLong(0);
            }
        }
        return total;
    }

    /**
     * The stats stream ({@code stream=1}): one JSON object per line, about one a second; the samples of a
     * container that is not running are skipped. {@link #close} aborts the request, from any thread.
     */
    static final class Reader implements StatsReader {
        private final DockerRuntime runtime;
        private final String container;
        private final DockerHttpClient.Response response;
        private final BufferedInputStream in;
        private boolean ended;
        private volatile boolean closed;

        Reader(DockerRuntime runtime, String container, DockerHttpClient.Response response) {
            this.runtime = runtime;
            this.container = container;
            this.response = response;
            this.in = new BufferedInputStream(response.getBody(), 16 * 1024);
        }

        @Override
        public StatsSample next() {
            if (ended) {
                return null;
            }
            if (closed) {
                throw closedRead(null);
            }
            try {
                while (true) {
                    byte[] line = DockerLogReader.readLine(in, JettyDockerHttpClient.MAX_LINE_BYTES);
                    if (line == null) {
                        end();
                        return null;
                    }
                    if (isBlank(line)) {
                        continue;
                    }
                    StatsSample s = sample(JSON.readTree(line));
                    if (s != null) {
                        return s;
                    }
                }
            } catch (IOException e) {
                if (closed) {
                    throw closedRead(e);
                }
                end();
                throw runtime.unavailable(e);
            }
        }

        private static boolean isBlank(byte[] line) {
            for (byte b : line) {
                if (b != ' ' && b != '\n' && b != '\r' && b != '\t') {
                    return false;
                }
            }
            return true;
        }

        private RuntimeUnavailableException closedRead(Throwable cause) {
            return new RuntimeUnavailableException("the stats stream of container " + container + " was closed", cause);
        }

        private void end() {
            ended = true;
            DockerRuntime.closeQuietly(response);
        }

        @Override
        public void close() {
            closed = true;
            DockerRuntime.closeQuietly(response);
        }
    }
}
