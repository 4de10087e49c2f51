package dev.pier.db;

import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.config.JdbiConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The one path by which in-memory copies (the user list, credential caches, instance, node and image
 * lists) learn that the data behind them changed. A write calls {@link #bump(Handle, Topic)} inside its
 * own transaction: the topic's counter in {@code change_counters} moves with the data, atomically, and
 * once the transaction commits this process's listeners of the topic run. Every other process sees the
 * counter move on its next poll ({@link #start}), whichever process wrote: the CLI, or another server on
 * the same PostgreSQL. Thread-safe.
 */
public final class ChangeFeed implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ChangeFeed.class);
    private final Jdbi jdbi;
    private final Map<Topic, List<Runnable>> listeners = new EnumMap<>(Topic.class);
    private final Map<Topic, Long> seen = new EnumMap<>(Topic.class);
    private final DatabaseHealth health;
    private ScheduledExecutorService poller;

    public ChangeFeed(Jdbi jdbi, DatabaseHealth health) {
        this.jdbi = jdbi;
        this.health = health;
        for (Topic t : Topic.values()) {
            listeners.put(t, new CopyOnWriteArrayList<>());
        }
        jdbi.getConfig(Registration.class).feed = this;
    }

    /** Runs {@code listener} after every change of {@code topic}, made here or elsewhere. */
    public void onChange(Topic topic, Runnable listener) {
        listeners.get(topic).add(listener);
    }

    /**
     * Records a change of {@code topic} in the current transaction of {@code h}. Call it in the same
     * transaction as the write itself, so that the change and its signal commit (or roll back) together.
     */
    public static void bump(Handle h, Topic topic) {
        h.createUpdate("UPDATE change_counters SET counter = counter + 1 WHERE topic = :topic")
                .bind("topic", topic.key())
                .execute();
        ChangeFeed feed = h.getConfig(Registration.class).feed;
        if (feed == null) {
            return;
        }
        if (h.isInTransaction()) {
            h.afterCommit(() -> feed.fire(topic));
        } else {
            feed.fire(topic);
        }
    }

    private void fire(Topic topic) {
        for (Runnable l : listeners.get(topic)) {
            try {
                l.run();
            } catch (RuntimeException e) {
                log.warn("a listener of {} changes failed: {}", topic.key(), e.toString());
            }
        }
    }

    /** Polls the counters every {@code interval}, for changes made by other processes. */
    public synchronized void start(Duration interval) {
        if (poller != null) {
            return;
        }
        seen.putAll(read());
        poller = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "pier-change-feed");
            t.setDaemon(true);
            return t;
        });
        poller.scheduleWithFixedDelay(this::poll, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    private Map<Topic, Long> read() {
        Map<Topic, Long> now = new EnumMap<>(Topic.class);
        jdbi.useHandle(h -> h.createQuery("SELECT topic, counter FROM change_counters")
                .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getLong(2)))
                .forEach(e -> {
                    for (Topic t : Topic.values()) {
                        if (t.key().equals(e.getKey())) {
                            now.put(t, e.getValue());
                        }
                    }
                }));
        return now;
    }

    private void poll() {
        try {
            Map<Topic, Long> now = read();
            health.succeeded();
            for (Topic t : Topic.values()) {
                Long n = now.get(t);
                if (n != null && !n.equals(seen.get(t))) {
                    seen.put(t, n);
                    fire(t);
                }
            }
        } catch (RuntimeException e) {
            // the database is away. The copies stay: while it is away nobody can change what they copy, and
            // the first poll that works again compares the counters and drops whatever moved meanwhile. The
            // outage is logged once, not every tick.
            health.failed(e);
        } catch (Error e) {
            log.error("change poll failed", e);
        }
    }

    @Override
    public synchronized void close() {
        if (poller != null) {
            poller.shutdownNow();
            poller = null;
        }
    }

    /** Where a handle finds this process's feed; set once, when the feed is made. */
    public static final class Registration implements JdbiConfig<Registration> {
        private volatile ChangeFeed feed;

        public Registration() {}

        private Registration(ChangeFeed feed) {
            this.feed = feed;
        }

        @Override
        public Registration createCopy() {
            return new Registration(feed);
        }
    }
}
