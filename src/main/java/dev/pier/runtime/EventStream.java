package dev.pier.runtime;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.EventsCmd;
import com.github.dockerjava.api.model.Event;
import com.github.dockerjava.api.model.EventType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One subscription to an engine's container events, kept alive across broken streams. A worker thread
 * opens the stream, waits for it to end, and opens it again, from the last event seen ({@code since}) so
 * that nothing is lost when the engine stayed up; when events may have been lost it delivers
 * {@link RuntimeEvent.Kind#RESYNC} first.
 */
final class EventStream implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(EventStream.class);
    private static final Duration MIN_BACKOFF = Duration.ofMillis(500);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(15);
    private static final String[] ACTIONS = {"start", "die", "stop", "destroy", "oom"};

    private final DockerClient client;
    private final DockerEndpoint endpoint;
    private final Consumer<RuntimeEvent> consumer;
    private final Consumer<EventStream> onClose;
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

    EventStream(DockerClient client, DockerEndpoint endpoint, Consumer<RuntimeEvent> consumer,
                Consumer<EventStream> onClose) {
        this.client = client;
        this.endpoint = endpoint;
        this.consumer = consumer;
        this.onClose = onClose;
        this.worker = Thread.ofPlatform().daemon().name("pier-docker-events " + endpoint.uri()).unstarted(this::run);
    }

    /** Starts the worker and waits until the first connection attempt succeeded or failed. */
    void start() {
        worker.start();
        try {
            firstAttempt.await(endpoint.connectTimeout().plusSeconds(3).toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
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
        Duration backoff = MIN_BACKOFF;
        while (!closed) {
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
            boolean connected = attempt.awaitStart(endpoint.connectTimeout().plus(endpoint.requestTimeout()));
            firstAttempt.countDown();
            if (closed) {
                break;
            }
            if (connected) {
                backoff = MIN_BACKOFF;
                Throwable end = attempt.awaitEnd();
                if (closed) {
                    break;
                }
                // an idle stream runs into the read timeout; reopening it from the last event loses nothing,
                // unless there was no event yet to start from
                boolean idle = DockerRuntime.ioCause(end) instanceof SocketTimeoutException;
                missed = !idle || lastNano == 0;
                if (!idle) {
                    log.info("event stream from {} ended ({}); reconnecting", endpoint.display(),
                            end == null ? "closed by the engine" : DockerRuntime.rootMessage(end));
                }
            } else {
                attempt.close();
                missed = true;
                log.debug("event stream from {} cannot connect ({}); retrying in {}", endpoint.display(),
                        attempt.error == null ? "no answer" : DockerRuntime.rootMessage(attempt.error), backoff);
                try {
                    Thread.sleep(backoff.toMillis());
                } catch (InterruptedException e) {
                    if (closed) {
                        break;
                    }
                }
                backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
            }
        }
        Attempt a = current;
        if (a != null) {
            a.close();
        }
    }

    private void handle(Attempt from, Event e) {
        if (closed || from != current || e.getId() == null) {
            return;
        }
        long nano = e.getTimeNano() != null ? e.getTimeNano()
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
                ? Map.of() : e.getActor().getAttributes();
        OptionalInt exitCode = OptionalInt.empty();
        String exit = attributes.get("exitCode");
        if (exit != null) {
            try {
                exitCode = OptionalInt.of(Integer.parseInt(exit));
            } catch (NumberFormatException ignored) {
                // leave it empty
            }
        }
        deliver(new RuntimeEvent(kind, e.getId(), attributes.get("name"), PierLabels.instanceId(attributes),
                exitCode, nano > 0 ? Instant.ofEpochSecond(0, nano) : Instant.now()));
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
