package dev.pier.live;

import dev.pier.errors.PierException;
import dev.pier.instances.Instance;
import dev.pier.instances.InstanceService;
import dev.pier.instances.ObservedState;
import dev.pier.nodes.Node;
import dev.pier.nodes.NodeService;
import dev.pier.runtime.ContainerNotFoundException;
import dev.pier.runtime.ContainerRuntime;
import dev.pier.runtime.LogLine;
import dev.pier.runtime.LogReader;
import dev.pier.runtime.LogRequest;
import dev.pier.runtime.RuntimeUnavailableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Instance logs: reads of what a container wrote, and followers of what it writes next.
 *
 * <p>Followers of one instance share one engine stream (a {@link Hub}), however many there are. Each
 * follower has a queue of its own with a budget ({@link #FOLLOWER_BUDGET} characters): the hub never waits
 * for a follower, and one that falls that far behind is dropped with a last item saying so, rather than
 * growing a buffer or holding the others back. A follower first joins the hub (which from then on queues
 * every new line for it), then reads the history it asked for; lines that came both ways are told apart
 * by their {@link LogCursor}, so there is no gap and no duplicate. The hub follows the instance through
 * stops, restarts and re-creations of its container, and ends when its last follower leaves.
 */
public final class LogService implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LogService.class);
    /** How far (in characters of log text) a follower may fall behind before it is dropped. */
    public static final long FOLLOWER_BUDGET = 256 * 1024;
    /** The most lines a tail may ask for. */
    public static final int MAX_TAIL = 100_000;

    /**
     * What part of a log to read, and which of its lines to pass on.
     *
     * @param grep only lines containing this (case-sensitive); null for all
     */
    public record Query(
            OptionalInt tail,
            Optional<Instant> since,
            Optional<Instant> until,
            String grep,
            boolean stdout,
            boolean stderr) {

        /** Whether the line contains {@link #grep} (the engine already chose the streams of a read). */
        public boolean matches(LogLine l) {
            return grep == null || l.text().contains(grep);
        }

        /** Whether a followed line is wanted: its stream, and {@link #grep}. */
        public boolean wants(LogLine l) {
            return (l.output() == dev.pier.runtime.Output.STDOUT ? stdout : stderr) && matches(l);
        }
    }

    /** What a follower receives. */
    public sealed interface Item {}

    /** A line, with its resume id. */
    public record Line(LogCursor cursor, LogLine line) implements Item {}

    /** The instance changed state (stopped, running again, crash-looping, ...). */
    public record State(EventFeed.Event event) implements Item {}

    /** The follower was dropped or the stream must end; nothing comes after it. */
    public record End(StreamGuard.Ending why) implements Item {}

    private final InstanceService instances;
    private final NodeService nodes;
    private final EventFeed events;
    private final Map<UUID, Hub> hubs = new ConcurrentHashMap<>();
    private volatile boolean closed;

    public LogService(InstanceService instances, NodeService nodes, EventFeed events) {
        this.instances = instances;
        this.nodes = nodes;
        this.events = events;
    }

    /** The fewest lines a tail read asks the engine for, before it widens. */
    static final int FIRST_WINDOW = 512;
    /** Past this many lines a tail read stops widening and reads the whole log once. */
    static final long WIDEST_WINDOW = 1L << 24;

    /**
     * Reads a part of the log, not followed, passing the lines that match to {@code out} in order, with
     * their resume ids. With {@code after}, reads from that line on (and skips it and the ones before):
     * a resumed stream. Memory does not depend on the log's size; a {@code tail} keeps only the last
     * {@code tail} matching lines.
     *
     * <p>A tail without {@code until} reads a window from the end of the log, and a wider one (eight times)
     * while the window holds too few matching lines and is not the whole log: the engine counts its tail
     * over both streams before any filter, so a tail of one stream, or of a filter, cannot be asked of it
     * directly, and a read of the whole log to keep its last lines costs as much as the log is long.
     *
     * @return the cursor of the last line read, in the log's order, whether it matched or not ({@code after}
     *     if none)
     */
    public Optional<LogCursor> history(Instance inst, Query q, Optional<LogCursor> after, Consumer<Line> out) {
        Optional<String> cid = inst.containerId();
        if (cid.isEmpty()) {
            return after;
        }
        Node node = nodes.require(inst.nodeId());
        ContainerRuntime runtime = nodes.onlineRuntime(node);
        try {
            if (after.isPresent()) {
                LogRequest from = new LogRequest(
                        Optional.of(after.get().time()), q.until(), OptionalInt.empty(), false, q.stdout(), q.stderr());
                return read(runtime, cid.get(), from, q, after.get(), out);
            }
            if (q.tail().isEmpty()) {
                return read(runtime, cid.get(), request(q, OptionalInt.empty()), q, null, out);
            }
            if (q.until().isPresent()) {
                // the engine's tail before an until is exact only over both streams with no filter
                boolean exact = q.grep() == null && q.stdout() && q.stderr();
                LastLines last = new LastLines(q.tail().getAsInt());
                Optional<LogCursor> end =
                        read(runtime, cid.get(), request(q, exact ? q.tail() : OptionalInt.empty()), q, null, last);
                last.lines.forEach(out);
                return end;
            }
            return tail(runtime, cid.get(), q, out);
        } catch (ContainerNotFoundException gone) {
            // removed since the record was read (re-created, or being deleted): its log went with it
            return after;
        } catch (RuntimeUnavailableException e) {
            nodes.reportUnreachable(node, e);
            throw new PierException.Unavailable("node '" + node.name() + "' is unreachable: " + e.getMessage());
        }
    }

    /**
     * The history a follower asked for, read as {@link #history(Instance, Query, Optional, Consumer)} does,
     * before it takes from its queue: the queued lines up to the read's last one are then skipped. A
     * follower from now on ({@code tail=0}, no resume) whose hub already passes lines on reads nothing: it
     * starts after the hub's last line, which costs no engine call when many followers join at once.
     *
     * @return the cursor the follower starts after
     */
    public Optional<LogCursor> history(
            Instance inst, Query q, Optional<LogCursor> after, Follower f, Consumer<Line> out) {
        boolean fromNow = after.isEmpty() && q.tail().isPresent() && q.tail().getAsInt() == 0;
        Optional<LogCursor> last =
                fromNow && f.joinedAfter != null ? Optional.of(f.joinedAfter) : history(inst, q, after, out);
        f.seen(last);
        return last;
    }

    /** The last {@code q.tail()} matching lines, read from ever wider windows at the end of the log. */
    private static Optional<LogCursor> tail(ContainerRuntime runtime, String cid, Query q, Consumer<Line> out) {
        int wanted = q.tail().getAsInt();
        // no lines wanted (a follower from now on): a few, for the cursor of the last
        for (long window = wanted == 0 ? 8 : Math.max(FIRST_WINDOW, 4L * wanted); ; window *= 8) {
            boolean whole = window > WIDEST_WINDOW;
            LogRequest request = new LogRequest(
                    q.since(),
                    Optional.empty(),
                    whole ? OptionalInt.empty() : OptionalInt.of((int) window),
                    false,
                    true,
                    true);
            LastLines last = new LastLines(wanted);
            Window w = new Window();
            LogCursor.Counter counter = new LogCursor.Counter();
            LogCursor.Order order = new LogCursor.Order();
            try (LogReader reader = runtime.readLogs(cid, request)) {
                LogLine l;
                while ((l = reader.next()) != null) {
                    LogCursor c = counter.next(l.time());
                    if (!order.passes(c, l.output())) {
                        continue;
                    }
                    w.saw(c);
                    if (q.wants(l)) {
                        last.accept(new Line(c, l));
                    }
                }
            }
            boolean complete = whole || w.lines < window;
            // a window that is not the whole log may begin inside a run of lines with one timestamp, whose
            // resume ids it counts from the wrong line: neither a line passed on nor the cursor returned may
            // be in that run
            LogCursor first =
                    last.lines.isEmpty() ? w.last : last.lines.peekFirst().cursor();
            boolean enough = last.lines.size() >= wanted && first != null && first.nanos() != w.firstNanos;
            if (complete || enough) {
                last.lines.forEach(out);
                return Optional.ofNullable(w.last);
            }
        }
    }

    /** Passes on the lines of one read that come after {@code after} and match the query. */
    private static Optional<LogCursor> read(
            ContainerRuntime runtime, String cid, LogRequest request, Query q, LogCursor after, Consumer<Line> out) {
        LogCursor last = after;
        LogCursor.Counter counter = new LogCursor.Counter();
        LogCursor.Past past = new LogCursor.Past(after);
        LogCursor.Order order = new LogCursor.Order();
        try (LogReader reader = runtime.readLogs(cid, request)) {
            LogLine l;
            while ((l = reader.next()) != null) {
                LogCursor c = counter.next(l.time());
                if (!past.passes(c) || !order.passes(c, l.output())) {
                    continue;
                }
                last = c;
                if (q.matches(l)) {
                    out.accept(new Line(c, l));
                }
            }
        }
        return Optional.ofNullable(last);
    }

    private static LogRequest request(Query q, OptionalInt tail) {
        return new LogRequest(q.since(), q.until(), tail, false, q.stdout(), q.stderr());
    }

    /** Keeps the last lines passed to it. */
    private static final class LastLines implements Consumer<Line> {
        final ArrayDeque<Line> lines = new ArrayDeque<>();
        private final int max;

        LastLines(int max) {
            this.max = max;
        }

        @Override
        public void accept(Line line) {
            if (max == 0) {
                return;
            }
            if (lines.size() == max) {
                lines.removeFirst();
            }
            lines.addLast(line);
        }
    }

    /** How many lines one read of a window saw, the timestamp of its first and the cursor of its last. */
    private static final class Window {
        long lines;
        long firstNanos = Long.MIN_VALUE;
        LogCursor last;

        void saw(LogCursor c) {
            if (lines++ == 0) {
                firstNanos = c.nanos();
            }
            last = c;
        }
    }

    /**
     * Joins the instance's hub: from the moment this returns, every line the container writes is queued
     * for the follower. Read the history after this, then take from the follower.
     */
    public Follower follow(Instance inst) {
        if (closed) {
            throw new PierException.Unavailable("the server is stopping");
        }
        while (true) {
            Hub hub = hubs.computeIfAbsent(inst.id(), id -> new Hub(id));
            Follower f = hub.join();
            if (f != null) {
                return f;
            }
            hubs.remove(inst.id(), hub); // it was ending as we came: make a new one
        }
    }

    /** How many hubs (engine log streams) are open; for tests and metrics. */
    public int openStreams() {
        return hubs.size();
    }

    /** How many followers the hubs have, over all instances; for tests and metrics. */
    public int followers() {
        return hubs.values().stream().mapToInt(h -> h.followers.size()).sum();
    }

    @Override
    public void close() {
        closed = true;
        for (Hub h : hubs.values()) {
            h.end(new StreamGuard.Ending("shutdown", "the server is stopping"));
        }
    }

    /** One follower's place at its hub. Taken from by one thread; {@link #close} from any. */
    public final class Follower implements AutoCloseable {
        private final Hub hub;
        private final LinkedBlockingQueue<Item> queue = new LinkedBlockingQueue<>();
        private final AtomicLong queued = new AtomicLong();
        private volatile boolean ended;

        private Follower(Hub hub) {
            this.hub = hub;
        }

        /** Lines queued before this one, or this one, were in the follower's history read. */
        private LogCursor.Past past = new LogCursor.Past(null);
        /** The last line the hub had passed on when this follower joined; null if none. */
        private LogCursor joinedAfter;

        /** The next item, waiting up to {@code millis}; null when none came. */
        public Item poll(long millis) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
            while (true) {
                Item i = queue.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                taken(i);
                if (!(i instanceof Line l) || past.passes(l.cursor())) {
                    return i;
                }
            }
        }

        /** How many items are waiting. */
        public int pending() {
            return queue.size();
        }

        /** The next item if one is waiting; null otherwise. */
        public Item pollNow() {
            while (true) {
                Item i = queue.poll();
                taken(i);
                if (!(i instanceof Line l) || past.passes(l.cursor())) {
                    return i;
                }
            }
        }

        private void taken(Item i) {
            if (i instanceof Line l) {
                queued.addAndGet(-l.line().text().length());
            }
        }

        /**
         * Says what the follower's history read reached (its last line): the lines queued up to there are
         * skipped, and a hub that has not yet followed any line (the container was stopped) starts its next
         * stream there, not at the end of the log. Called once, by the thread that takes, before it takes.
         */
        private void seen(Optional<LogCursor> c) {
            past = new LogCursor.Past(c.orElse(null));
            c.ifPresent(cursor -> hub.seen(this, cursor));
        }

        /** Ends the follower from outside (its stream lost its authorization): {@code why} is its last item. */
        public void end(StreamGuard.Ending why) {
            if (!ended) {
                ended = true;
                queue.add(new End(why));
                hub.leave(this);
            }
        }

        void offer(Item i) {
            if (ended) {
                return;
            }
            if (i instanceof Line l) {
                if (queued.addAndGet(l.line().text().length()) > FOLLOWER_BUDGET) {
                    end(new StreamGuard.Ending(
                            "too_slow",
                            "this client fell too far behind the log and was dropped; reconnect with the last id"));
                    return;
                }
            }
            queue.add(i);
        }

        @Override
        public void close() {
            ended = true;
            hub.leave(this);
        }
    }

    /** The one engine stream of one instance's log, and its followers. */
    private final class Hub {
        private final UUID instanceId;
        private final Set<Follower> followers = ConcurrentHashMap.newKeySet();
        private final Object lock = new Object();
        private final Consumer<EventFeed.Event> onEvent = this::event;
        /** Whether the worker is past its first look: connected to the engine, or waiting for a container. */
        private boolean ready;

        private boolean ending;
        private Thread worker;
        private volatile LogReader reader;
        /** The last line this hub passed on; only its worker writes it. */
        private volatile LogCursor lastSeen;
        /** The last line of each stream this hub passed on, across its engine streams; only its worker uses it. */
        private final LogCursor.Order order = new LogCursor.Order();
        /** How far each follower's history read went, for a hub that has not passed on a line yet. */
        private final Map<Follower, LogCursor> reported = new ConcurrentHashMap<>();
        /** The container stopped at least once while followed: its next run's lines are all new. */
        private volatile boolean wasIdle;

        private volatile boolean changed;

        Hub(UUID instanceId) {
            this.instanceId = instanceId;
        }

        /** Adds a follower once the hub is ready; null when the hub is ending. */
        Follower join() {
            Follower f = new Follower(this);
            synchronized (lock) {
                if (ending) {
                    return null;
                }
                followers.add(f);
                // after the add: every line passed on after this one reaches the follower
                f.joinedAfter = lastSeen;
                if (worker == null) {
                    events.subscribe(null, onEvent);
                    worker = Thread.ofVirtual().name("pier-logs " + instanceId).start(this::run);
                }
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (!ready && !ending) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        break; // the engine is slow to answer: the follower's history read will say why
                    }
                    try {
                        lock.wait(TimeUnit.NANOSECONDS.toMillis(left) + 1);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                }
            }
            return f;
        }

        void seen(Follower f, LogCursor c) {
            reported.put(f, c);
        }

        void leave(Follower f) {
            followers.remove(f);
            reported.remove(f);
            synchronized (lock) {
                if (followers.isEmpty() && !ending) {
                    stop();
                }
            }
        }

        /** With the lock held. */
        private void stop() {
            ending = true;
            hubs.remove(instanceId, this);
            events.unsubscribe(onEvent);
            lock.notifyAll();
            // closing the engine stream and the notify above wake the worker; an interrupt could land in a
            // database call and break its connection
            LogReader r = reader;
            if (r != null) {
                r.close();
            }
        }

        void end(StreamGuard.Ending why) {
            for (Follower f : followers) {
                f.end(why);
            }
            synchronized (lock) {
                if (!ending) {
                    stop();
                }
            }
        }

        private void event(EventFeed.Event e) {
            if (!instanceId.equals(e.instanceId())) {
                return;
            }
            if (e.type().equals("instance.state")) {
                for (Follower f : followers) {
                    f.offer(new State(e));
                }
            }
            synchronized (lock) {
                changed = true;
                lock.notifyAll();
            }
        }

        private void markReady() {
            synchronized (lock) {
                ready = true;
                lock.notifyAll();
            }
        }

        /** Waits for a change of the instance, at most {@code millis}; false when the hub is ending. */
        private boolean awaitChange(long millis) {
            synchronized (lock) {
                long deadline = System.currentTimeMillis() + millis;
                while (!changed && !ending) {
                    long left = deadline - System.currentTimeMillis();
                    if (left <= 0) {
                        break;
                    }
                    try {
                        lock.wait(left);
                    } catch (InterruptedException e) {
                        return false;
                    }
                }
                changed = false;
                return !ending;
            }
        }

        private void run() {
            long backoff = 500;
            while (!ending) {
                Optional<Instance> found;
                try {
                    found = instances.find(instanceId);
                } catch (RuntimeException e) {
                    // the database is away: look again shortly
                    if (!awaitChange(2_000)) {
                        return;
                    }
                    continue;
                }
                if (found.isEmpty()) {
                    end(new StreamGuard.Ending("deleted", "the instance was deleted"));
                    return;
                }
                Instance inst = found.get();
                boolean running =
                        inst.observedState() == ObservedState.RUNNING || inst.observedState() == ObservedState.PAUSED;
                if (!running || inst.containerId().isEmpty()) {
                    wasIdle = true;
                    markReady();
                    if (!awaitChange(2_000)) {
                        return;
                    }
                    continue;
                }
                try {
                    pump(inst);
                    backoff = 500;
                } catch (RuntimeUnavailableException e) {
                    if (ending) {
                        return; // the stream was closed because the hub ends
                    }
                    try {
                        nodes.find(inst.nodeId()).ifPresent(n -> nodes.reportUnreachable(n, e));
                    } catch (RuntimeException storeAway) {
                        // the node check reports it anyway
                    }
                    backoff = Math.min(backoff * 2, 5_000);
                } catch (ContainerNotFoundException e) {
                    // re-created or being removed: the record will say which
                } catch (RuntimeException e) {
                    if (!ending) {
                        log.warn("following the log of instance {} failed: {}", instanceId, e.toString());
                        backoff = Math.min(backoff * 2, 5_000);
                    }
                }
                // the stream ended: the container stopped (or the engine went away); look again when the
                // instance changes, and not sooner than the back-off, so a stream that ends at once is no loop
                markReady();
                wasIdle = true;
                if (!awaitChange(backoff)) {
                    return;
                }
            }
        }

        /** Follows the container's log until it ends. */
        private void pump(Instance inst) {
            Node node = nodes.require(inst.nodeId());
            ContainerRuntime runtime = nodes.onlineRuntime(node);
            // every follower has all lines up to the hub's last one, or (before it had one) up to where its own
            // history read went: start at the earliest of those, and let each follower drop what it has
            LogCursor from = lastSeen;
            if (from == null) {
                from = reported.values().stream().min(LogCursor::compareTo).orElse(null);
            }
            LogRequest request;
            if (from != null) {
                request = LogRequest.followFrom(from.time());
            } else if (wasIdle) {
                // nothing was ever seen and the container was stopped: whatever it wrote since is new
                request = new LogRequest(Optional.empty(), Optional.empty(), OptionalInt.empty(), true, true, true);
            } else {
                // the first look at a running container: from now on (followers read the history themselves)
                request = new LogRequest(Optional.empty(), Optional.empty(), OptionalInt.of(0), true, true, true);
            }
            LogReader r = runtime.readLogs(inst.containerId().orElseThrow(), request);
            synchronized (lock) {
                if (ending) {
                    r.close();
                    return;
                }
                reader = r;
            }
            markReady();
            LogCursor.Counter counter = new LogCursor.Counter();
            try {
                LogLine l;
                while ((l = r.next()) != null) {
                    LogCursor c = counter.next(l.time());
                    // a reopened stream starts at (and so repeats) the last line passed on, and the engine
                    // repeats lines when it moves on to the log's next file
                    if (!order.passes(c, l.output())) {
                        continue;
                    }
                    lastSeen = c;
                    Line line = new Line(c, l);
                    for (Follower f : followers) {
                        f.offer(line);
                    }
                }
            } finally {
                reader = null;
                r.close();
            }
        }
    }
}
