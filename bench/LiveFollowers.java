import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Load client for bench/live: FOLLOWERS concurrent followers of instance logs as Server-Sent Events
 * ({@code GET /api/v1/instances/{id}/logs?follow=true&stream=stdout&tail=0}, {@code Accept: text/event-stream}),
 * spread evenly over the instances given (follower i follows instance i mod n), each on its own connection
 * and virtual thread, through the JDK's HttpClient (HTTP/1.1). The instances print a sequence number per line.
 *
 * <p>Each follower checks that every line has the next number (the first may be any): a number above the next
 * is a gap, one equal to the previous a duplicate, one below it out of order. For each line read in the
 * measured window it records the delay from the engine's timestamp of the line (the NANOS of its id
 * {@code NANOS-K}) to the moment this client read it (same machine, same clock). The window starts once every
 * follower has its answer's headers (or failed) and lasts DURATION seconds; lines before it are checked for
 * order but not counted.
 *
 * <p>Run from the source file with the JDK (no build step), the bearer token in the environment:
 * {@code TOKEN=... java bench/LiveFollowers.java URL DURATION_SECONDS FOLLOWERS ID... [--timeline FILE]}.
 * Prints {@code connected: ...} as soon as the window starts (bench/live waits for it), then at the end one
 * line per figure ({@code lines:}, {@code order:}, {@code delay:}, {@code rate:}, {@code end events:},
 * {@code errors:}, ...). With {@code --timeline FILE}, writes lines read and the largest delay per second of
 * the window to FILE.
 */
public final class LiveFollowers {
    /** Delays are also reported without the window's first seconds, when the followers have just connected. */
    private static final int STEADY_SECONDS = 5;
    private static final Pattern REASON = Pattern.compile("\"reason\"\\s*:\\s*\"([^\"]*)\"");

    /** One follower: its connection, and what it saw. Written by its own thread; read after it finished. */
    static final class Follower {
        final int n;
        final String instance;
        volatile InputStream body;
        volatile Thread thread;
        int status;
        String error; // an exception or an early end, before the window closed
        boolean endedEarly;
        String endReason;
        int states;
        int heartbeats;
        int badLines; // data that is not a number
        // order
        long expected = -1;
        long prev = -1;
        int gaps, duplicates, outOfOrder;
        long skipped, repeated;
        long totalLines; // every line, inside the window or not
        // window
        int[] delays = new int[8192]; // microseconds
        int count;
        int steadyFrom = -1; // the index of the first delay taken STEADY_SECONDS into the window
        long firstSeq = -1, firstNanos, lastSeq, lastNanos;

        Follower(int n, String instance) {
            this.n = n;
            this.instance = instance;
        }

        void delay(int micros) {
            if (count == delays.length) {
                delays = Arrays.copyOf(delays, delays.length * 2);
            }
            delays[count++] = micros;
        }
    }

    private static volatile boolean stop;
    private static volatile long windowStart; // System.nanoTime(); 0 until every follower connected
    private static long windowEnd = Long.MAX_VALUE;
    private static AtomicLongArray perSecond;
    private static AtomicIntegerArray maxPerSecond;
    private static final ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();

    public static void main(String[] argv) throws Exception {
        List<String> args = new ArrayList<>(Arrays.asList(argv));
        Path timeline = null;
        int t = args.indexOf("--timeline");
        if (t >= 0 && t + 1 < args.size()) {
            timeline = Path.of(args.get(t + 1));
            args.remove(t + 1);
            args.remove(t);
        }
        String token = System.getenv("TOKEN");
        if (args.size() < 4 || token == null || token.isBlank()) {
            System.err.println(
                    "usage: TOKEN=... java bench/LiveFollowers.java URL DURATION_SECONDS FOLLOWERS ID... [--timeline FILE]");
            System.exit(2);
        }
        String url = args.get(0).replaceAll("/+$", "");
        int seconds = Integer.parseInt(args.get(1));
        int followers = Integer.parseInt(args.get(2));
        List<String> ids = args.subList(3, args.size());
        perSecond = new AtomicLongArray(seconds + 2);
        maxPerSecond = new AtomicIntegerArray(seconds + 2);

        HttpClient client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10))
                .executor(Executors.newVirtualThreadPerTaskExecutor())
                .build();
        List<Follower> all = new ArrayList<>();
        CountDownLatch answered = new CountDownLatch(followers);
        long t0 = System.nanoTime();
        for (int i = 0; i < followers; i++) {
            Follower f = new Follower(i, ids.get(i % ids.size()));
            all.add(f);
            f.thread = Thread.ofVirtual().name("follower-" + i).start(() -> run(client, url, token, f, answered));
        }
        boolean allAnswered = answered.await(60, TimeUnit.SECONDS);
        long connectedMs = (System.nanoTime() - t0) / 1_000_000;
        int ok = (int) all.stream().filter(f -> f.status == 200).count();
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long cpu0 = os.getProcessCpuTime();
        long start = System.nanoTime();
        windowEnd = start + seconds * 1_000_000_000L;
        windowStart = start;
        System.out.printf("connected: %d/%d followers answered 200 in %d ms%s%n",
                ok, followers, connectedMs, allAnswered ? "" : " (some never answered within 60 s)");
        System.out.flush();

        Thread.sleep(Math.max(0, (windowEnd - System.nanoTime()) / 1_000_000));
        stop = true;
        long cpu1 = os.getProcessCpuTime();
        double window = (System.nanoTime() - start) / 1e9;
        for (Follower f : all) {
            f.thread.interrupt();
            InputStream in = f.body;
            if (in != null) {
                try {
                    in.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
        }
        for (Follower f : all) {
            f.thread.join(10_000);
        }
        client.shutdownNow();
        report(all, ids, seconds, window, connectedMs, (cpu1 - cpu0) / 1e6);
        if (timeline != null) {
            try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(timeline))) {
                w.println("# second lines max_delay_ms");
                for (int s = 0; s < seconds; s++) {
                    w.printf("%d %d %.1f%n", s, perSecond.get(s), maxPerSecond.get(s) / 1000.0);
                }
            }
        }
        System.exit(0);
    }

    private static void run(HttpClient client, String url, String token, Follower f, CountDownLatch answered) {
        boolean counted = false;
        try {
            HttpRequest req = HttpRequest.newBuilder(URI.create(
                            url + "/api/v1/instances/" + f.instance + "/logs?follow=true&stream=stdout&tail=0"))
                    .header("Authorization", "Bearer " + token)
                    .header("Accept", "text/event-stream")
                    .GET()
                    .build();
            HttpResponse<InputStream> res = client.send(req, HttpResponse.BodyHandlers.ofInputStream());
            f.status = res.statusCode();
            f.body = res.body();
            answered.countDown();
            counted = true;
            if (f.status != 200) {
                String body = new String(res.body().readNBytes(300), StandardCharsets.UTF_8);
                f.error = "status " + f.status + ": " + body.strip();
                errors.add("follower " + f.n + ": " + f.error);
                return;
            }
            read(f, new BufferedReader(new InputStreamReader(res.body(), StandardCharsets.UTF_8), 16 * 1024));
        } catch (IOException | InterruptedException e) {
            if (!stop) {
                f.error = e.toString();
                errors.add("follower " + f.n + ": " + e);
            }
        } finally {
            if (!counted) {
                answered.countDown();
            }
        }
    }

    private static void read(Follower f, BufferedReader in) throws IOException {
        String id = null;
        String event = null;
        StringBuilder data = new StringBuilder();
        String line;
        while (!stop && (line = in.readLine()) != null) {
            if (line.isEmpty()) {
                if (event != null || data.length() > 0) {
                    dispatch(f, id, event == null ? "message" : event, data.toString());
                    if ("end".equals(event)) {
                        return;
                    }
                }
                id = null;
                event = null;
                data.setLength(0);
                continue;
            }
            if (line.charAt(0) == ':') {
                f.heartbeats++;
                continue;
            }
            int colon = line.indexOf(':');
            String field = colon < 0 ? line : line.substring(0, colon);
            String value = colon < 0 ? "" : line.substring(colon + 1);
            if (value.startsWith(" ")) {
                value = value.substring(1);
            }
            switch (field) {
                case "id" -> id = value;
                case "event" -> event = value;
                case "data" -> {
                    if (data.length() > 0) {
                        data.append('\n');
                    }
                    data.append(value);
                }
                default -> {} // retry
            }
        }
        if (!stop) {
            f.endedEarly = true;
            f.error = "the stream ended before the window closed";
            errors.add("follower " + f.n + ": " + f.error);
        }
    }

    private static void dispatch(Follower f, String id, String event, String data) {
        switch (event) {
            case "stdout", "stderr" -> line(f, id, data);
            case "state" -> f.states++;
            case "end" -> {
                Matcher m = REASON.matcher(data);
                f.endReason = m.find() ? m.group(1) : data;
                if (!stop) {
                    errors.add("follower " + f.n + ": event: end " + data);
                }
            }
            default -> {}
        }
    }

    private static void line(Follower f, String id, String data) {
        long now = System.nanoTime();
        Instant wall = Instant.now();
        long seq;
        try {
            seq = Long.parseLong(data.strip());
        } catch (NumberFormatException e) {
            f.badLines++;
            return;
        }
        f.totalLines++;
        if (f.expected >= 0) {
            if (seq > f.expected) {
                f.gaps++;
                f.skipped += seq - f.expected;
            } else if (seq == f.prev) {
                f.duplicates++;
                f.repeated++;
            } else if (seq < f.expected) {
                f.outOfOrder++;
            }
        }
        f.prev = seq;
        f.expected = Math.max(f.expected, seq + 1);
        long ws = windowStart;
        if (ws == 0 || now < ws || now > windowEnd || id == null) {
            return;
        }
        int dash = id.indexOf('-');
        long nanos = Long.parseLong(dash < 0 ? id : id.substring(0, dash));
        long wallNanos = wall.getEpochSecond() * 1_000_000_000L + wall.getNano();
        int micros = (int) Math.min(Integer.MAX_VALUE, (wallNanos - nanos) / 1000);
        if (f.steadyFrom < 0 && now - ws >= STEADY_SECONDS * 1_000_000_000L) {
            f.steadyFrom = f.count;
        }
        f.delay(micros);
        if (f.firstSeq < 0) {
            f.firstSeq = seq;
            f.firstNanos = nanos;
        }
        f.lastSeq = seq;
        f.lastNanos = nanos;
        int s = (int) ((now - ws) / 1_000_000_000L);
        if (s < perSecond.length()) {
            perSecond.incrementAndGet(s);
            maxPerSecond.accumulateAndGet(s, micros, Math::max);
        }
    }

    private static void report(
            List<Follower> all, List<String> ids, int seconds, double window, long connectedMs, double cpuMs) {
        int lines = 0;
        int steady = 0;
        for (Follower f : all) {
            lines += f.count;
            steady += f.steadyFrom < 0 ? 0 : f.count - f.steadyFrom;
        }
        int[] d = new int[lines];
        int[] ds = new int[steady];
        int at = 0;
        int ats = 0;
        long[] per = new long[all.size()];
        for (int i = 0; i < all.size(); i++) {
            Follower f = all.get(i);
            System.arraycopy(f.delays, 0, d, at, f.count);
            at += f.count;
            if (f.steadyFrom >= 0) {
                System.arraycopy(f.delays, f.steadyFrom, ds, ats, f.count - f.steadyFrom);
                ats += f.count - f.steadyFrom;
            }
            per[i] = f.count;
        }
        Arrays.sort(d);
        Arrays.sort(ds);
        Arrays.sort(per);
        int badOrder = 0, withGap = 0, withDup = 0, withOoo = 0;
        long skipped = 0, repeated = 0, outOfOrder = 0, bad = 0, heartbeats = 0, states = 0;
        int failed = 0, early = 0, non200 = 0;
        Map<String, Integer> ends = new TreeMap<>();
        for (Follower f : all) {
            if (f.gaps + f.duplicates + f.outOfOrder > 0) {
                badOrder++;
            }
            withGap += f.gaps > 0 ? 1 : 0;
            withDup += f.duplicates > 0 ? 1 : 0;
            withOoo += f.outOfOrder > 0 ? 1 : 0;
            skipped += f.skipped;
            repeated += f.repeated;
            outOfOrder += f.outOfOrder;
            bad += f.badLines;
            heartbeats += f.heartbeats;
            states += f.states;
            if (f.endReason != null) {
                ends.merge(f.endReason, 1, Integer::sum);
            }
            if (f.status != 0 && f.status != 200) {
                non200++;
            } else if (f.endedEarly) {
                early++;
            } else if (f.error != null) {
                failed++;
            }
        }
        // the rate each instance wrote at, from the engine's timestamps: the follower that saw the longest span
        List<Double> rates = new ArrayList<>();
        for (String id : ids) {
            Follower best = null;
            for (Follower f : all) {
                if (f.instance.equals(id) && f.firstSeq >= 0
                        && (best == null || f.lastNanos - f.firstNanos > best.lastNanos - best.firstNanos)) {
                    best = f;
                }
            }
            if (best != null && best.lastNanos > best.firstNanos) {
                rates.add((best.lastSeq - best.firstSeq) / ((best.lastNanos - best.firstNanos) / 1e9));
            }
        }
        double[] r = rates.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        System.out.printf("window: %.1f s from the moment all %d followers had answered (%d ms after the first request)%n",
                window, all.size(), connectedMs);
        System.out.printf("lines: %d in the window, %.0f per second; per follower min %d median %d max %d (%.1f per second median)%n",
                lines, lines / window, per.length > 0 ? per[0] : 0, per.length > 0 ? per[per.length / 2] : 0,
                per.length > 0 ? per[per.length - 1] : 0, per.length > 0 ? per[per.length / 2] / window : 0.0);
        System.out.printf("order: %d followers with a gap, a duplicate or a line out of order (gap %d, duplicate %d, out of order %d);"
                        + " numbers skipped %d, repeated %d, out of order %d; lines that were not a number %d%n",
                badOrder, withGap, withDup, withOoo, skipped, repeated, outOfOrder, bad);
        if (d.length > 0) {
            System.out.printf("delay: p50 %.1f p90 %.1f p99 %.1f max %.1f ms (min %.1f; %d lines; engine timestamp to read)%n",
                    pct(d, 50), pct(d, 90), pct(d, 99), d[d.length - 1] / 1000.0, d[0] / 1000.0, d.length);
        } else {
            System.out.println("delay: no line in the window");
        }
        if (ds.length > 0) {
            System.out.printf("delay after the first %d s: p50 %.1f p90 %.1f p99 %.1f max %.1f ms (%d lines)%n",
                    STEADY_SECONDS, pct(ds, 50), pct(ds, 90), pct(ds, 99), ds[ds.length - 1] / 1000.0, ds.length);
        }
        if (r.length > 0) {
            System.out.printf("rate: lines per second each instance wrote (engine timestamps): min %.2f median %.2f max %.2f over %d instances%n",
                    r[0], r[r.length / 2], r[r.length - 1], r.length);
        } else {
            System.out.println("rate: no instance seen");
        }
        System.out.printf("end events: %d%s%n", ends.values().stream().mapToInt(Integer::intValue).sum(),
                ends.isEmpty() ? "" : " " + ends);
        System.out.printf("state events: %d; heartbeats: %d%n", states, heartbeats);
        System.out.printf("errors: %d connection errors, %d answers not 200, %d streams ended early%n", failed, non200, early);
        System.out.printf("client cpu: %.0f ms in the window (%.1f us per line)%n", cpuMs, lines > 0 ? cpuMs * 1000 / lines : 0.0);
        errors.stream().limit(10).forEach(e -> System.out.println("error: " + e));
    }

    private static double pct(int[] sorted, double p) {
        int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))] / 1000.0;
    }
}
