package dev.pier.live;

import dev.pier.db.ChangeFeed;
import dev.pier.db.Topic;
import dev.pier.instances.Instance;
import dev.pier.instances.InstanceService;
import dev.pier.nodes.Node;
import dev.pier.nodes.NodeService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * What happened to instances and nodes, as a sequence of events with ids a client can resume from. The
 * events are derived, not recorded at each write: every change of the instance or node list (made by this
 * process, the CLI, or another server on the same database, see {@link ChangeFeed}) wakes one thread that
 * compares the lists with what it saw last and publishes the differences. So no write path can forget to
 * report, and every process tells the same story.
 *
 * <p>The last {@link #REPLAY} events are kept for clients that reconnect with the id of the last event
 * they saw. Ids are {@code EPOCH-SEQ}: the epoch names this process's run, so an id from before a restart
 * (or from another server) is recognised as foreign and the client is told to resync instead of being
 * given a wrong continuation.
 */
public final class EventFeed implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EventFeed.class);
    /** How many events are kept for resuming clients. */
    public static final int REPLAY = 1000;

    /** One event. {@code instanceId} is set for instance events, {@code nodeId} for node events. */
    public record Event(
            String id, long seq, String type, Instant at, UUID instanceId, UUID nodeId, Map<String, Object> data) {}

    /** What a subscriber gets first: the events after its id, or {@code resync} when they are not all known. */
    public record Replay(List<Event> events, boolean resync) {}

    private record InstanceView(String name, UUID nodeId, String state, boolean suspended, Optional<String> container) {
        static InstanceView of(Instance i) {
            return new InstanceView(i.name(), i.nodeId(), i.observedState().wire(), i.suspended(), i.containerId());
        }
    }

    private final InstanceService instances;
    private final NodeService nodes;
    private final Clock clock;
    private final String epoch;
    private final ArrayDeque<Event> recent = new ArrayDeque<>();
    private final List<Consumer<Event>> subscribers = new CopyOnWriteArrayList<>();
    private final Object wake = new Object();
    private Map<UUID, InstanceView> seenInstances;
    private Map<UUID, Boolean> seenNodes;
    private long seq;
    private boolean dirty;
    private volatile boolean closed;
    private Thread worker;

    public EventFeed(InstanceService instances, NodeService nodes, ChangeFeed changes, Clock clock) {
        this.instances = instances;
        this.nodes = nodes;
        this.clock = clock;
        this.epoch = Long.toString(System.currentTimeMillis(), 36);
        changes.onChange(Topic.INSTANCES, this::changed);
        changes.onChange(Topic.NODES, this::changed);
        nodes.onStatusChange(n -> changed());
    }

    /** Takes the first look at the lists and starts following their changes. */
    public synchronized void start() {
        if (worker != null || closed) {
            return;
        }
        seenInstances = snapshotInstances();
        seenNodes = snapshotNodes();
        worker = Thread.ofVirtual().name("pier-event-feed").start(this::run);
    }

    private void changed() {
        synchronized (wake) {
            dirty = true;
            wake.notifyAll();
        }
    }

    private void run() {
        while (!closed) {
            synchronized (wake) {
                while (!dirty && !closed) {
                    try {
                        wake.wait(5_000);
                    } catch (InterruptedException e) {
                        return;
                    }
                    if (!dirty) {
                        dirty = true; // a look now and then, for a node status change no list write reported
                    }
                }
                dirty = false;
            }
            try {
                compare();
            } catch (RuntimeException e) {
                // the database is away (the lists reload from it): the next change or tick compares again
                log.debug("event feed could not compare: {}", e.toString());
            }
        }
    }

    /** Compares the lists with what was seen, and publishes the differences. */
    synchronized void compare() {
        if (seenInstances == null) {
            return;
        }
        Map<UUID, InstanceView> now = snapshotInstances();
        Map<UUID, Boolean> nodesNow = snapshotNodes();
        List<Event> out = new ArrayList<>();
        for (var e : now.entrySet()) {
            InstanceView was = seenInstances.get(e.getKey());
            InstanceView is = e.getValue();
            if (was == null) {
                out.add(instanceEvent("instance.created", e.getKey(), is));
                continue;
            }
            if (!was.state().equals(is.state()) || !was.container().equals(is.container())) {
                Event ev = instanceEvent("instance.state", e.getKey(), is);
                ev.data().put("previous", was.state());
                out.add(ev);
            }
            if (was.suspended() != is.suspended()) {
                out.add(instanceEvent(is.suspended() ? "instance.suspended" : "instance.unsuspended", e.getKey(), is));
            }
        }
        for (var e : seenInstances.entrySet()) {
            if (!now.containsKey(e.getKey())) {
                out.add(instanceEvent("instance.deleted", e.getKey(), e.getValue()));
            }
        }
        Map<UUID, String> names = new HashMap<>();
        for (Node n : nodes.list()) {
            names.put(n.id(), n.name());
        }
        for (var e : nodesNow.entrySet()) {
            Boolean was = seenNodes.get(e.getKey());
            if (was == null || was.booleanValue() != e.getValue()) {
                Map<String, Object> data = new LinkedHashMap<>();
                data.put("node_id", e.getKey().toString());
                data.put("node", names.get(e.getKey()));
                data.put("status", e.getValue() ? "online" : "offline");
                nodes.find(e.getKey())
                        .flatMap(nodes::statusReason)
                        .filter(r -> !e.getValue())
                        .ifPresent(r -> data.put("reason", r));
                out.add(event(e.getValue() ? "node.online" : "node.offline", null, e.getKey(), data));
            }
        }
        seenInstances = now;
        seenNodes = nodesNow;
        for (Event ev : out) {
            publish(ev);
        }
    }

    private Event instanceEvent(String type, UUID id, InstanceView v) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("instance_id", id.toString());
        data.put("name", v.name());
        data.put("node_id", v.nodeId().toString());
        data.put("state", v.state());
        data.put("suspended", v.suspended());
        return event(type, id, v.nodeId(), data);
    }

    private Event event(String type, UUID instanceId, UUID nodeId, Map<String, Object> data) {
        long n = ++seq;
        return new Event(epoch + "-" + n, n, type, clock.instant(), instanceId, nodeId, data);
    }

    private void publish(Event ev) {
        synchronized (recent) {
            recent.addLast(ev);
            while (recent.size() > REPLAY) {
                recent.removeFirst();
            }
        }
        for (Consumer<Event> s : subscribers) {
            try {
                s.accept(ev);
            } catch (RuntimeException e) {
                log.warn("an event subscriber failed: {}", e.toString());
            }
        }
    }

    /**
     * Subscribes to events from now on, and answers what the subscriber missed since {@code lastId} (none
     * when it is null). Registration and replay are one step under the feed's lock, so nothing falls
     * between them and nothing comes twice.
     */
    public synchronized Replay subscribe(String lastId, Consumer<Event> subscriber) {
        Objects.requireNonNull(subscriber, "subscriber");
        Replay replay = new Replay(List.of(), false);
        if (lastId != null) {
            replay = since(lastId);
        }
        subscribers.add(subscriber);
        return replay;
    }

    private Replay since(String lastId) {
        int dash = lastId.lastIndexOf('-');
        long after;
        try {
            if (dash < 0 || !lastId.substring(0, dash).equals(epoch)) {
                return new Replay(List.of(), true);
            }
            after = Long.parseLong(lastId.substring(dash + 1));
        } catch (NumberFormatException e) {
            return new Replay(List.of(), true);
        }
        synchronized (recent) {
            List<Event> out = new ArrayList<>();
            long oldest = recent.isEmpty() ? seq + 1 : recent.peekFirst().seq();
            for (Event ev : recent) {
                if (ev.seq() > after) {
                    out.add(ev);
                }
            }
            // events between the client's and the oldest kept were dropped from the buffer
            return new Replay(out, after > seq || after + 1 < oldest);
        }
    }

    public void unsubscribe(Consumer<Event> subscriber) {
        subscribers.remove(subscriber);
    }

    private Map<UUID, InstanceView> snapshotInstances() {
        Map<UUID, InstanceView> m = new LinkedHashMap<>();
        for (Instance i : instances.list()) {
            m.put(i.id(), InstanceView.of(i));
        }
        return m;
    }

    private Map<UUID, Boolean> snapshotNodes() {
        Map<UUID, Boolean> m = new LinkedHashMap<>();
        for (Node n : nodes.list()) {
            m.put(n.id(), nodes.isOnline(n));
        }
        return m;
    }

    @Override
    public void close() {
        closed = true;
        changed();
        Thread w = worker;
        if (w != null) {
            w.interrupt();
        }
    }
}
