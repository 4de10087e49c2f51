package dev.pier.runtime;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.EventsCmd;
import com.github.dockerjava.api.model.Event;
import com.github.dockerjava.api.model.EventType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One subscription to an engine's container events, kept alive across broken streams. A worker thread
 * opens the stream, waits for it to end, and opens it again, from the last event seen ({@code since});
 * since the engine keeps only a short history, every reopened stream delivers {@link RuntimeEvent.Kind#RESYNC}
 * first. Reconnects back off exponentially with full jitter (a random wait between zero and a ceiling that
 * doubles with each failure, up to {@link #MAX_BACKOFF}): a stream that breaks at once, or an engine that
 * refuses it, costs a few attempts a minute, not a loop. A stream that stayed up for {@link #STABLE}
 * resets the count.
 *
 * <p>The stream has no total deadline (it is meant to stay open), only one for its headers; a frozen engine
 * is noticed by the node check, whose failed ping calls {@link #reconnect}. Lines are bounded by the
 * transport; an error that shows the engine misbehaving is passed to {@code onError} so the runtime can
 * report the node.
 */
final class EventStream implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(EventStream.class);
    static final Duration MIN_BACKOFF = Duration.ofMillis(500);
    static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
    /** How long a stream must have stayed up for its end to count as a break rather than a failure. */
    static final Duration STABLE = Duration.ofSeconds(30);

    private static final String[] ACTIONS = {"start", "die", "stop", "destroy", "oom"};

    private final DockerClient client;
    private final DockerEndpoint endpoint;
    private final Consumer<RuntimeEvent> consumer;
    private final Consumer<EventStream> onClose;
    private final Consumer<Throwable> onError;
    private final CountDownLatch firstAttempt = new CountDownLatch(1);
    private final Thread worker;
    private volatile boolean closed;
    private volatile Attempt current;
    // set by the worker when events may have been lost; the next stream to open reports it first
    private volatile boolean missed;
    private final Object delivery = new Object();
    // written only by the thread delivering the current attempt's events
    private volatile long lastNano;
    private volatile String lastKey = "";

    EventStream(
            DockerClient client,
            DockerEndpoint endpoint,
            Consumer<RuntimeEvent> consumer,
            Consumer<EventStream> onClose,
            Consumer<Throwable> onError) {
        this.client = client;
        this.endpoint = endpoint;
        this.consumer = consumer;
        this.onClose = onClose;
        this.onError = onError;
        this.worker = Thread.ofPlatform()
                .daemon()
                .name("pier-docker-events " + endpoint.uri())
                .unstarted(this::run);
    }

    /** Starts the worker and waits until the first connection attempt succeeded or failed. */
    void start() {
        worker.start();
        try {
            firstAttempt.await(endpoint.deadlines().read().plusSeconds(2).toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Drops the current connection (the engine stopped answering); the worker opens a new one, after its
     * backoff, and delivers {@link RuntimeEvent.Kind#RESYNC}.
     */
    void reconnect() {
        Attempt a = current;
        if (a != null && !closed) {
            a.close();
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Attempt a = current;
        if (a != null) {
            a.close();
        }
        worker.interrupt();
        onClose.accept(this);
    }

    private void run() {
        int failures = 0;
        while (!closed) {
            try {
                failures = once(failures);
            } catch (RuntimeException e) {
                // the loop must outlive its own bugs: a subscription that dies silently stops the reconciler's events
                log.warn("event stream from {} failed; reconnecting", endpoint.display(), e);
                failures++;
                missed = true;
                firstAttempt.countDown();
                if (!sleep(backoff(failures))) {
                    break;
                }
            }
        }
        Attempt a = current;
        if (a != null) {
            a.close();
        }
    }

    /** One connection: open, wait for its end, back off; returns the new count of failures in a row. */
    private int once(int failures) {
        Attempt attempt = new Attempt();
        current = attempt;
        try {
            EventsCmd cmd = client.eventsCmd()
                    .withEventTypeFilter(EventType.CONTAINER)
                    .withEventFilter(ACTIONS)
                    .withLabelFilter(Map.of(PierLabels.MANAGED, "true"));
            if (lastNano > 0) {
                cmd.withSince(since(lastNano));
            }
            cmd.exec(attempt);
        } catch (RuntimeException e) {
            attempt.onError(e);
        }
        // the transport gives up on the headers at the read deadline; this only backs it up
        boolean connected = attempt.awaitStart(endpoint.deadlines().read().plusSeconds(2));
        firstAttempt.countDown();
        if (closed) {
            return failures;
        }
        Throwable error;
        int next;
        if (connected) {
            long opened = System.nanoTime();
            error = attempt.awaitEnd();
            if (closed) {
                return failures;
            }
            boolean stable = System.nanoTime() - opened >= STABLE.toNanos();
            next = stable ? 0 : failures + 1;
            log.info(
                    "event stream from {} ended ({}); reconnecting",
                    endpoint.display(),
                    error == null ? "closed" : DockerRuntime.reason(error));
        } else {
            attempt.close();
            error = attempt.error;
            next = failures + 1;
            log.debug(
                    "event stream from {} cannot connect ({})",
                    endpoint.display(),
                    error == null ? "no answer" : DockerRuntime.reason(error));
        }
        // whatever happened while no stream was open is not replayed for sure
        missed = true;
        if (error != null) {
            try {
                onError.accept(error);
            } catch (RuntimeException e) {
                log.debug("event stream error report failed", e);
            }
        }
        if (next > 0) {
            sleep(backoff(next));
        }
        return next;
    }

    /** Full jitter: a random wait up to {@code min(MAX, MIN * 2^(failures-1))}. */
    static Duration backoff(int failures) {
        long ceiling = MIN_BACKOFF.toMillis() << Math.min(failures - 1, 20);
        ceiling = Math.min(ceiling, MAX_BACKOFF.toMillis());
        return Duration.ofMillis(ThreadLocalRandom.current().nextLong(ceiling + 1));
    }

    /** Sleeps unless closed; false when the stream was closed meanwhile. */
    private boolean sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            // close() interrupts: checked below
        }
        return !closed;
    }

    private void handle(Attempt from, Event e) {
        if (closed || from != current || e.getId() == null) {
            return;
        }
        long nano = e.getTimeNano() != null
                ? e.getTimeNano()
                : e.getTime() != null ? TimeUnit.SECONDS.toNanos(e.getTime()) : 0;
        String action = e.getAction() != null ? e.getAction() : e.getStatus();
        String key = e.getId() + " " + action;
        // a reconnect from `since` replays the last event seen
        if (nano < lastNano || (nano == lastNano && key.equals(lastKey))) {
            return;
        }
        lastNano = nano;
        lastKey = key;
        RuntimeEvent.Kind kind = switch (action == null ? "" : action) {
            case "start" -> RuntimeEvent.Kind.START;
            case "die" -> RuntimeEvent.Kind.DIE;
            case "stop" -> RuntimeEvent.Kind.STOP;
            case "destroy" -> RuntimeEvent.Kind.DESTROY;
            case "oom" -> RuntimeEvent.Kind.OOM;
            default -> null;
        };
        if (kind == null) {
            return;
        }
        Map<String, String> attributes = e.getActor() == null || e.getActor().getAttributes() == null
                ? Map.of()
                : e.getActor().getAttributes();
        OptionalInt exitCode = OptionalInt.empty();
        String exit = attributes.get("exitCode");
        if (exit != null) {
            try {
                exitCode = OptionalInt.of(Integer.parseInt(exit));
            } catch (NumberFormatException ignored) {
                // leave it empty
            }
        }
        deliver(new RuntimeEvent(
                kind,
                e.getId(),
                attributes.get("name"),
                PierLabels.instanceId(attributes),
                exitCode,
                nano > 0 ? Instant.ofEpochSecond(0, nano) : Instant.now()));
    }

    private void deliver(RuntimeEvent event) {
        // one at a time, even while an old connection's thread winds down as a new one starts
        synchronized (delivery) {
            try {
                consumer.accept(event);
            } catch (RuntimeException ex) {
                log.warn("event consumer failed on {}", event, ex);
            }
        }
    }

    /** Docker's {@code since} format: seconds with a nine-digit fraction. */
    static String since(long epochNanos) {
        return (epochNanos / 1_000_000_000L) + "." + String.format("%09d", epochNanos % 1_000_000_000L);
    }

    /** One connection of the stream. */
    private final class Attempt implements ResultCallback<Event> {
        private final CountDownLatch started = new CountDownLatch(1);
        private final CountDownLatch ended = new CountDownLatch(1);
        private volatile Closeable response;
        private volatile boolean didStart;
        volatile Throwable error;

        @Override
        public void onStart(Closeable closeable) {
            response = closeable;
            didStart = true;
            // on the stream's own thread, so RESYNC comes before anything the new stream delivers
            if (missed && !closed) {
                missed = false;
                deliver(RuntimeEvent.resync(Instant.now()));
            }
            started.countDown();
        }

        @Override
        public void onNext(Event event) {
            handle(this, event);
        }

        @Override
        public void onError(Throwable t) {
            if (error == null) {
                error = t;
            }
            finish();
        }

        @Override
        public void onComplete() {
            finish();
        }

        @Override
        public void close() {
            DockerRuntime.closeQuietly(response);
            finish();
        }

        private void finish() {
            started.countDown();
            ended.countDown();
        }

        boolean awaitStart(Duration max) {
            try {
                started.await(max.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return false;
            }
            return didStart;
        }

        Throwable awaitEnd() {
            try {
                ended.await();
            } catch (InterruptedException e) {
                return e;
            }
            return error;
        }
    }
}
