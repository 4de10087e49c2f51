package dev.pier.live;

import dev.pier.auth.Recheck;
import dev.pier.db.ChangeFeed;
import dev.pier.db.Topic;
import dev.pier.errors.PierException;
import dev.pier.http.Authenticator;
import dev.pier.instances.Instance;
import dev.pier.instances.InstanceService;
import dev.pier.security.Policy;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.security.Scope;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Keeps every open stream (log, stats and event streams, console sockets) authorized for its whole life:
 * the same decision a new request would get, taken again whenever credentials or instances change and at
 * least every {@link #CHECK}. A stream whose session was ended, whose key was deleted or disabled, whose
 * user was disabled or lowered below the stream's role, or whose instance was suspended or deleted, is
 * ended with the reason.
 *
 * <p>A stream keeps no secret: its credential is checked again by id ({@link Authenticator#recheck}). The
 * checks of one round share one look-up per credential, and a credential's look-up is kept until
 * credentials change (or it expires), so a thousand streams of one client cost one query per change.
 */
public final class StreamGuard implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(StreamGuard.class);
    /** The longest a stream goes without a check. */
    public static final Duration CHECK = Duration.ofMillis(250);

    /** Why a stream was ended, for its last event: a stable code and words for a person. */
    public record Ending(String reason, String message) {}

    /** Told once, from the guard's thread, when its stream must end. Must be quick. */
    public interface OnEnd {
        void end(Ending why);
    }

    /** One open stream's registration; closing it unregisters. */
    public final class Watch implements AutoCloseable {
        private final Principal principal;
        private final Role min;
        private final Scope scope;
        private final UUID instanceId;
        private final OnEnd onEnd;
        private volatile boolean ended;

        private Watch(Principal principal, Role min, Scope scope, UUID instanceId, OnEnd onEnd) {
            this.principal = principal;
            this.min = min;
            this.scope = scope;
            this.instanceId = instanceId;
            this.onEnd = onEnd;
        }

        public Principal principal() {
            return principal;
        }

        private void end(Ending why) {
            if (ended) {
                return;
            }
            ended = true;
            watches.remove(this);
            try {
                onEnd.end(why);
            } catch (RuntimeException e) {
                log.warn("ending a stream failed: {}", e.toString());
            }
        }

        @Override
        public void close() {
            ended = true;
            watches.remove(this);
        }
    }

    private final Authenticator authenticator;
    private final InstanceService instances;
    private final Clock clock;
    private final Set<Watch> watches = ConcurrentHashMap.newKeySet();
    private final Map<String, Object> credentials = new ConcurrentHashMap<>();
    private final Object wake = new Object();
    private boolean due;
    private volatile boolean closed;
    private Thread worker;

    public StreamGuard(Authenticator authenticator, InstanceService instances, ChangeFeed changes, Clock clock) {
        this.authenticator = authenticator;
        this.instances = instances;
        this.clock = clock;
        changes.onChange(Topic.AUTH, () -> {
            credentials.clear();
            checkSoon();
        });
        changes.onChange(Topic.INSTANCES, this::checkSoon);
    }

    /**
     * Registers a stream that {@code principal} opened, needing {@code min} and {@code scope} for as long as it
     * is open, and (when {@code instanceId} is not null) an instance that exists and is not suspended. The
     * caller checks all of that before it starts the stream; the guard checks it again from now on.
     */
    public Watch watch(Principal principal, Role min, Scope scope, UUID instanceId, OnEnd onEnd) {
        Watch w = new Watch(principal, min, scope, instanceId, onEnd);
        watches.add(w);
        start();
        return w;
    }

    /** The same checks, now, for a stream about to open: throws what a request would get. */
    public static void requireOpen(Instance i) {
        if (i.suspended()) {
            throw new PierException.Conflict(
                    dev.pier.errors.Reason.CONFLICT, "instance '" + i.name() + "' is suspended");
        }
    }

    private synchronized void start() {
        if (worker == null && !closed) {
            worker = Thread.ofVirtual().name("pier-stream-guard").start(this::run);
        }
    }

    private void checkSoon() {
        synchronized (wake) {
            due = true;
            wake.notifyAll();
        }
    }

    private void run() {
        while (!closed) {
            synchronized (wake) {
                if (!due) {
                    try {
                        wake.wait(CHECK.toMillis());
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                due = false;
            }
            try {
                checkAll();
            } catch (RuntimeException e) {
                // the database is away: streams stay as they are until a check can be made
                log.debug("stream check failed: {}", e.toString());
            }
        }
    }

    /** One round: every open stream against its credential, role and instance as they are now. */
    void checkAll() {
        if (watches.isEmpty()) {
            return;
        }
        Map<UUID, Instance> byId = null;
        Map<String, Object> round = new HashMap<>();
        for (Watch w : watches) {
            Ending why = null;
            try {
                Principal now = current(w.principal, round);
                Policy.require(now, w.min, w.scope);
            } catch (PierException e) {
                why = new Ending(e instanceof PierException.Denied ? "forbidden" : "unauthenticated", e.getMessage());
            }
            if (why == null && w.instanceId != null) {
                if (byId == null) {
                    byId = new HashMap<>();
                    for (Instance i : instances.list()) {
                        byId.put(i.id(), i);
                    }
                }
                Instance i = byId.get(w.instanceId);
                if (i == null) {
                    why = new Ending("deleted", "the instance was deleted");
                } else if (i.suspended()) {
                    why = new Ending("suspended", "the instance was suspended");
                }
            }
            if (why != null) {
                w.end(why);
            }
        }
    }

    private Principal current(Principal p, Map<String, Object> round) {
        if (p.kind() == Principal.Kind.SYSTEM) {
            return p;
        }
        String key = p.kind() + ":" + p.credentialId();
        Object known = round.get(key);
        if (known == null) {
            known = credentials.get(key);
            if (known instanceof Recheck r
                    && r.until().filter(u -> !u.isAfter(clock.instant())).isPresent()) {
                known = null; // expired since: look again, which says so
            }
            if (known == null) {
                try {
                    known = authenticator.recheck(p);
                } catch (PierException e) {
                    known = e;
                }
                credentials.put(key, known);
            }
            round.put(key, known);
        }
        if (known instanceof PierException e) {
            throw e;
        }
        Recheck r = (Recheck) known;
        return new Principal(
                r.principal().userId(),
                r.principal().username(),
                r.principal().role(),
                r.principal().level(),
                p.kind(),
                p.credentialId(),
                p.clientAddr());
    }

    /** How many streams are open (for metrics and tests). */
    public int open() {
        return watches.size();
    }

    /** Ends every stream (the server is stopping). */
    public void endAll(Ending why) {
        for (Watch w : watches) {
            w.end(why);
        }
    }

    @Override
    public void close() {
        closed = true;
        endAll(new Ending("shutdown", "the server is stopping"));
        checkSoon();
        Optional.ofNullable(worker).ifPresent(Thread::interrupt);
    }
}
