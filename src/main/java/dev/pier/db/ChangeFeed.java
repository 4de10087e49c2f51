package dev.pier.db;

import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Tells in-memory caches when the data behind them changed. Changes made by this process drop the
 * caches at once ({@link #changedHere()}); changes made by another process (the CLI) are found by
 * polling {@link CacheEpoch}.
 */
public final class ChangeFeed implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ChangeFeed.class);
    private final Jdbi jdbi;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private volatile long seen = Long.MIN_VALUE;
    private ScheduledExecutorService poller;

    public ChangeFeed(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    public void onChange(Runnable listener) {
        listeners.add(listener);
    }

    /** Call after committing a change that bumped the epoch. */
    public void changedHere() {
        listeners.forEach(Runnable::run);
    }

    public synchronized void start(Duration interval) {
        if (poller != null) {
            return;
        }
        seen = CacheEpoch.read(jdbi);
        poller = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "pier-change-feed");
            t.setDaemon(true);
            return t;
        });
        poller.scheduleWithFixedDelay(this::poll, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void poll() {
        try {
            long now = CacheEpoch.read(jdbi);
            if (now != seen) {
                seen = now;
                changedHere();
            }
        } catch (RuntimeException e) {
            // a database hiccup: drop caches to be safe, try again next tick
            log.warn("change feed poll failed: {}", e.toString());
            changedHere();
        }
    }

    @Override
    public synchronized void close() {
        if (poller != null) {
            poller.shutdownNow();
            poller = null;
        }
    }
}
