package dev.pier.live;

import dev.pier.errors.PierException;
import dev.pier.http.RequestContext;
import dev.pier.instances.Instance;
import dev.pier.instances.InstanceService;
import dev.pier.instances.ObservedState;
import dev.pier.nodes.Node;
import dev.pier.nodes.NodeService;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.security.Scope;
import io.javalin.http.Context;

import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The live view over HTTP: an instance's log and stats (read once, or followed), the stats of every
 * instance, and the event stream. Followed answers are Server-Sent Events for a client that accepts them,
 * NDJSON otherwise; each stays authorized for its whole life through the {@link StreamGuard}.
 */
public final class LiveRoutes {
    /** How long a quiet stream waits before it sends a heartbeat. */
    static final Duration HEARTBEAT = Duration.ofSeconds(15);
    /** How long a follower lets lines gather before it sends them, so a busy log is sent in batches. */
    static final Duration LINGER = Duration.ofMillis(40);
    /** How many events a client of the event stream may have waiting before it is dropped. */
    static final int EVENT_BACKLOG = 2_000;

    private final InstanceService instances;
    private final NodeService nodes;
    private final LogService logs;
    private final StatsService stats;
    private final EventFeed events;
    private final StreamGuard guard;

    public LiveRoutes(
            InstanceService instances,
            NodeService nodes,
            LogService logs,
            StatsService stats,
            EventFeed events,
            StreamGuard guard) {
        this.instances = instances;
        this.nodes = nodes;
        this.logs = logs;
        this.stats = stats;
        this.events = events;
        this.guard = guard;
    }

    // ---- logs

    public void logs(Context ctx) {
        Principal p = RequestContext.principal(ctx);
        Instance inst = instances.require(id(ctx));
        StreamGuard.requireOpen(inst);
        boolean follow = flag(ctx, "follow");
        boolean download = flag(ctx, "download");
        String stream = ctx.queryParam("stream");
        boolean stdout = true;
        boolean stderr = true;
        if (stream != null && !stream.isBlank()) {
            switch (stream.strip().toLowerCase(Locale.ROOT)) {
                case "stdout" -> stderr = false;
                case "stderr" -> stdout = false;
                case "both", "all" -> {}
                default -> throw new PierException.Invalid("stream must be stdout, stderr or both");
            }
        }
        Optional<Instant> since = time(ctx, "since");
        Optional<Instant> until = time(ctx, "until");
        if (since.isPresent() && until.isPresent() && !since.get().isBefore(until.get())) {
            throw new PierException.Invalid("since must be before until");
        }
        if (follow && until.isPresent()) {
            throw new PierException.Invalid("until cannot be combined with follow=true");
        }
        if (follow && download) {
            throw new PierException.Invalid("download cannot be combined with follow=true");
        }
        OptionalInt tail = tail(ctx);
        String grep = ctx.queryParam("q");
        if (grep != null && (grep.isEmpty() || grep.length() > 1000)) {
            throw new PierException.Invalid("q must be 1 to 1000 characters");
        }
        boolean all =
                "all".equalsIgnoreCase(String.valueOf(ctx.queryParam("tail")).strip());
        if (tail.isEmpty() && since.isEmpty() && !download && !all) {
            tail = OptionalInt.of(100); // what a look at a log means without saying how much
        }
        Optional<LogCursor> resume = resumeFrom(ctx, LogCursor::parse);
        LogService.Query q = new LogService.Query(tail, since, until, grep, stdout, stderr);

        StreamOut.Format format =
                download || accepts(ctx, "text/plain") ? StreamOut.Format.TEXT : StreamOut.negotiate(ctx);
        if (download) {
            ctx.header("Content-Disposition", "attachment; filename=\"" + inst.name() + ".log\"");
        }
        // an offline node is a 503 before anything is sent
        nodes.onlineRuntime(nodes.require(inst.nodeId()));
        if (!follow) {
            StreamOut out = StreamOut.start(ctx, format);
            try {
                logs.history(inst, q, resume, line -> writeLine(out, line));
                out.flush();
            } catch (UncheckedIOException gone) {
                // the client went away
            }
            return;
        }
        LogService.Follower f = logs.follow(inst);
        try (StreamGuard.Watch w = guard.watch(p, Role.VIEWER, Scope.READ, inst.id(), f::end)) {
            StreamOut out = StreamOut.start(ctx, format);
            out.retry(2_000);
            out.flush();
            logs.history(inst, q, resume, f, line -> writeLine(out, line));
            Instance now = instances.find(inst.id()).orElse(inst);
            if (now.observedState() != ObservedState.RUNNING) {
                writeState(
                        out, now.observedState().wire(), null, now.containerId().orElse(null));
            }
            out.flush();
            pumpLogs(out, f, q);
        } catch (UncheckedIOException gone) {
            // the client went away
        } catch (PierException e) {
            // the answer has begun: say why it ends in its own last event
            try {
                StreamOut out = StreamOut.start(ctx, format);
                writeEnd(out, new StreamGuard.Ending("unavailable", e.getMessage()));
                out.flush();
            } catch (RuntimeException gone) {
                // the client went away too
            }
        } finally {
            f.close();
        }
    }

    private void pumpLogs(StreamOut out, LogService.Follower f, LogService.Query q) throws UncheckedIOException {
        try {
            while (true) {
                LogService.Item item = f.poll(HEARTBEAT.toMillis());
                if (item == null) {
                    out.comment("heartbeat");
                    out.flush();
                    continue;
                }
                Thread.sleep(LINGER.toMillis());
                while (item != null) {
                    switch (item) {
                        case LogService.Line l -> {
                            if (q.wants(l.line())) {
                                writeLine(out, l);
                            }
                        }
                        case LogService.State s ->
                            writeState(
                                    out,
                                    (String) s.event().data().get("state"),
                                    (String) s.event().data().get("previous"),
                                    null);
                        case LogService.End e -> {
                            writeEnd(out, e.why());
                            out.flush();
                            return;
                        }
                    }
                    item = f.pollNow();
                }
                out.flush();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void writeLine(StreamOut out, LogService.Line l) {
        if (out.format() == StreamOut.Format.TEXT) {
            out.text(l.line().text() + "\n");
            return;
        }
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("id", l.cursor().id());
        json.put("ts", l.line().time().toString());
        json.put("stream", l.line().output().wire());
        json.put("line", l.line().text());
        out.event(l.cursor().id(), l.line().output().wire(), l.line().text(), json);
    }

    private static void writeState(StreamOut out, String state, String previous, String containerId) {
        if (out.format() == StreamOut.Format.TEXT) {
            return;
        }
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("event", "state");
        json.put("ts", Instant.now().toString());
        json.put("state", state);
        if (previous != null) {
            json.put("previous", previous);
        }
        if (containerId != null) {
            json.put("container_id", containerId);
        }
        out.event(null, "state", dev.pier.http.Json.write(json), json);
    }

    private static void writeEnd(StreamOut out, StreamGuard.Ending why) {
        if (out.format() == StreamOut.Format.TEXT) {
            return;
        }
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("event", "end");
        json.put("reason", why.reason());
        json.put("message", why.message());
        out.event(null, "end", dev.pier.http.Json.write(json), json);
    }

    // ---- stats

    public void instanceStats(Context ctx) {
        Principal p = RequestContext.principal(ctx);
        Instance inst = instances.require(id(ctx));
        StreamGuard.requireOpen(inst);
        if (!flag(ctx, "follow")) {
            ctx.json(sampleJson(stats.once(inst)));
            return;
        }
        StatsService.Follower f = stats.follow(inst);
        try (StreamGuard.Watch w = guard.watch(p, Role.VIEWER, Scope.READ, inst.id(), f::end)) {
            StreamOut out = StreamOut.start(ctx, StreamOut.negotiate(ctx));
            out.retry(2_000);
            out.flush();
            while (true) {
                StatsService.Item item = f.poll(HEARTBEAT.toMillis());
                if (item == null) {
                    out.comment("heartbeat");
                } else if (item instanceof StatsService.Next n) {
                    Map<String, Object> json = sampleJson(n.sample());
                    out.event(null, "stats", dev.pier.http.Json.write(json), json);
                } else if (item instanceof StatsService.End e) {
                    writeEnd(out, e.why());
                    out.flush();
                    return;
                }
                out.flush();
            }
        } catch (UncheckedIOException gone) {
            // the client went away
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            f.close();
        }
    }

    /** {@code GET /api/v1/stats}: the latest sample of every running instance, and each node's totals. */
    public void allStats(Context ctx) {
        List<Instance> all =
                instances.list().stream().filter(i -> !i.suspended()).toList();
        List<StatsService.Sample> samples = stats.latest(all);
        List<Map<String, Object>> out = new ArrayList<>();
        for (StatsService.Sample s : samples) {
            out.add(sampleJson(s));
        }
        List<Map<String, Object>> perNode = new ArrayList<>();
        for (Node n : nodes.list()) {
            perNode.add(StatsService.nodeTotals(n, samples, 0));
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("instances", out);
        body.put("nodes", perNode);
        ctx.json(body);
    }

    Map<String, Object> sampleJson(StatsService.Sample s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("instance_id", s.instanceId().toString());
        m.put("ts", s.raw().time().toString());
        m.put("cpu_percent", StatsService.round(s.raw().cpuPercent()));
        m.put("cpu_limit_percent", StatsService.round(s.cpuLimitPercent()));
        m.put("memory_bytes", s.raw().memoryBytes());
        m.put("memory_limit_bytes", s.raw().memoryLimitBytes());
        m.put("net_rx_bytes", s.raw().netRxBytes());
        m.put("net_tx_bytes", s.raw().netTxBytes());
        m.put("block_read_bytes", s.raw().blockReadBytes());
        m.put("block_write_bytes", s.raw().blockWriteBytes());
        m.put("pids", s.raw().pids());
        // measured every minute, not with each sample: the engine walks the volume to measure it
        instances.diskUsage(s.instanceId()).ifPresent(u -> {
            m.put("disk_used_bytes", u.bytes());
            m.put("disk_measured_at", u.at().toString());
        });
        return m;
    }

    // ---- events

    public void events(Context ctx) {
        Principal p = RequestContext.principal(ctx);
        String lastId = resumeFrom(ctx, s -> Optional.of(s.strip())).orElse(null);
        LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
        Consumer<EventFeed.Event> subscriber = ev -> {
            if (queue.size() < EVENT_BACKLOG) {
                queue.add(ev);
            } else {
                queue.add(new StreamGuard.Ending("too_slow", "this client fell too far behind and was dropped"));
            }
        };
        EventFeed.Replay replay = events.subscribe(lastId, subscriber);
        try (StreamGuard.Watch w = guard.watch(p, Role.VIEWER, Scope.READ, null, queue::add)) {
            StreamOut out = StreamOut.start(ctx, StreamOut.negotiate(ctx));
            out.retry(2_000);
            if (replay.resync()) {
                Map<String, Object> json = new LinkedHashMap<>();
                json.put("event", "resync");
                json.put("message", "events since the given id are no longer known: read the lists again");
                out.event(null, "resync", dev.pier.http.Json.write(json), json);
            }
            for (EventFeed.Event ev : replay.events()) {
                writeEvent(out, ev);
            }
            out.flush();
            while (true) {
                Object item = queue.poll(HEARTBEAT.toMillis(), TimeUnit.MILLISECONDS);
                if (item == null) {
                    out.comment("heartbeat");
                } else if (item instanceof EventFeed.Event ev) {
                    writeEvent(out, ev);
                } else if (item instanceof StreamGuard.Ending why) {
                    writeEnd(out, why);
                    out.flush();
                    return;
                }
                out.flush();
            }
        } catch (UncheckedIOException gone) {
            // the client went away
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            events.unsubscribe(subscriber);
        }
    }

    private static void writeEvent(StreamOut out, EventFeed.Event ev) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("id", ev.id());
        json.put("event", ev.type());
        json.put("ts", ev.at().toString());
        json.putAll(ev.data());
        out.event(ev.id(), ev.type(), dev.pier.http.Json.write(json), json);
    }

    // ---- parameters

    private static UUID id(Context ctx) {
        String s = ctx.pathParam("id");
        try {
            return UUID.fromString(s.strip());
        } catch (IllegalArgumentException e) {
            throw new PierException.NotFound("instance '" + printable(s) + "' is not a known id");
        }
    }

    private static String printable(String s) {
        String t = s.length() > 64 ? s.substring(0, 64) + "…" : s;
        return t.replaceAll("\\p{Cntrl}", "?");
    }

    /** {@code true}/{@code false} (also {@code 1}/{@code 0}); absent is false; anything else is 400. */
    static boolean flag(Context ctx, String name) {
        String v = ctx.queryParam(name);
        if (v == null) {
            return false;
        }
        return switch (v.strip().toLowerCase(Locale.ROOT)) {
            case "true", "1", "yes" -> true;
            case "false", "0", "no", "" -> false;
            default -> throw new PierException.Invalid(name + " must be true or false");
        };
    }

    static OptionalInt tail(Context ctx) {
        String v = ctx.queryParam("tail");
        if (v == null || v.isBlank()) {
            return OptionalInt.empty();
        }
        if (v.strip().equalsIgnoreCase("all")) {
            return OptionalInt.empty();
        }
        try {
            int n = Integer.parseInt(v.strip());
            if (n < 0 || n > LogService.MAX_TAIL) {
                throw new NumberFormatException();
            }
            return OptionalInt.of(n);
        } catch (NumberFormatException e) {
            throw new PierException.Invalid(
                    "tail must be a whole number from 0 to " + LogService.MAX_TAIL + ", or all");
        }
    }

    /** RFC 3339 ({@code 2026-12-01T10:00:00Z}, offsets and fractions allowed) or Unix seconds (fractions allowed). */
    static Optional<Instant> time(Context ctx, String name) {
        String v = ctx.queryParam(name);
        if (v == null || v.isBlank()) {
            return Optional.empty();
        }
        try {
            return Optional.of(TimeParam.parse(v, false, Instant.now()));
        } catch (IllegalArgumentException e) {
            throw new PierException.Invalid(name + " must be an RFC 3339 time (2026-12-01T10:00:00Z) or Unix seconds");
        }
    }

    /** The resume id: the {@code Last-Event-ID} header (what an SSE client sends), or {@code ?after=}. */
    private static <T> Optional<T> resumeFrom(Context ctx, java.util.function.Function<String, Optional<T>> parse) {
        String after = ctx.queryParam("after");
        if (after != null && !after.isBlank()) {
            return Optional.of(parse.apply(after)
                    .orElseThrow(() -> new PierException.Invalid("after must be an id from this stream")));
        }
        String header = ctx.header("Last-Event-ID");
        if (header == null || header.isBlank()) {
            return Optional.empty();
        }
        return parse.apply(header); // a browser sends back whatever it got: an id we cannot read starts afresh
    }

    private static boolean accepts(Context ctx, String type) {
        String a = ctx.header("Accept");
        return a != null && a.toLowerCase(Locale.ROOT).startsWith(type);
    }
}
