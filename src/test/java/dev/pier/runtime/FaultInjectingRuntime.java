package dev.pier.runtime;

import java.io.Closeable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * A {@link ContainerRuntime} around another one that fails on purpose, for crash-safety tests: armed with
 * a {@link Fault}, it throws or "halts" just before or just after a named {@link Operation} reaches the
 * real engine. "After" means the engine did the work and the caller never hears of it, which is what a
 * crash or a lost response looks like.
 *
 * <p>To prove that killing Pier mid-deploy loses nothing, run the deploy in a child JVM with
 * {@code Fault.halting(() -> Runtime.getRuntime().halt(137))} armed after {@link Operation#CREATE}; the
 * process dies with the container created and not recorded. In-process, a halting fault whose action
 * returns throws {@link Halted}, an {@link Error} so that ordinary {@code catch (RuntimeException)}
 * clean-up code does not run, as it would not after a real crash.
 *
 * <p>Faults fire in the order they were armed, each on its operation's calls after skipping
 * {@link Fault#skip()} of them, {@link Fault#times()} times. Unarmed, the decorator only counts calls.
 * Thread-safe.
 */
public final class FaultInjectingRuntime implements ContainerRuntime {

    /** The operations of {@link ContainerRuntime}, as fault points. */
    public enum Operation {
        PING,
        IMAGE_EXISTS,
        PULL_IMAGE,
        CREATE,
        START,
        STOP,
        KILL,
        RESTART,
        PAUSE,
        UNPAUSE,
        REMOVE,
        INSPECT,
        LIST_MANAGED,
        CREATE_VOLUME,
        REMOVE_VOLUME,
        LIST_VOLUMES,
        RUN_HELPER,
        START_HELPER,
        EXEC_IN_HELPER,
        VOLUME_SIZES,
        LOGS,
        READ_LOGS,
        READ_STATS,
        STATS_ONCE,
        ATTACH,
        EVENTS
    }

    /** Whether a fault fires before the call reaches the engine, or after it returned. */
    public enum When {
        BEFORE,
        AFTER
    }

    /** Thrown by a halting fault whose action returned: the in-process stand-in for a dead process. */
    public static final class Halted extends Error {
        public Halted(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * What to do at a fault point.
     *
     * @param error what to throw, or null for a halting fault
     * @param halt  what to run for a halting fault (e.g. {@code Runtime.getRuntime().halt(137)})
     * @param skip  matching calls to let through before firing
     * @param times how many times to fire
     */
    public record Fault(Supplier<? extends RuntimeException> error, Runnable halt, int skip, int times) {
        public Fault {
            if ((error == null) == (halt == null)) {
                throw new IllegalArgumentException("a fault either throws or halts");
            }
            if (skip < 0 || times < 1) {
                throw new IllegalArgumentException("skip must be >= 0 and times >= 1");
            }
        }

        /** Throws a fresh exception from the supplier, once. */
        public static Fault throwing(Supplier<? extends RuntimeException> error) {
            return new Fault(Objects.requireNonNull(error), null, 0, 1);
        }

        /** Throws {@link RuntimeUnavailableException}, once: the node dropped off. */
        public static Fault unavailable() {
            return throwing(() -> new RuntimeUnavailableException("injected fault: the engine is unreachable"));
        }

        /** Runs {@code halt} (which should end the process), once; throws {@link Halted} if it returns. */
        public static Fault halting(Runnable halt) {
            return new Fault(null, Objects.requireNonNull(halt), 0, 1);
        }

        /** The same fault, letting {@code calls} matching calls through first. */
        public Fault afterSkipping(int calls) {
            return new Fault(error, halt, calls, times);
        }

        /** The same fault, firing {@code n} times ({@link Integer#MAX_VALUE}: every time). */
        public Fault times(int n) {
            return new Fault(error, halt, skip, n);
        }
    }

    private final ContainerRuntime delegate;
    private final Map<Operation, AtomicInteger> calls = new EnumMap<>(Operation.class);
    private final List<Armed> armed = new ArrayList<>();

    private static final class Armed {
        final Operation operation;
        final When when;
        final Fault fault;
        int skipLeft;
        int timesLeft;

        Armed(Operation operation, When when, Fault fault) {
            this.operation = operation;
            this.when = when;
            this.fault = fault;
            this.skipLeft = fault.skip();
            this.timesLeft = fault.times();
        }
    }

    public FaultInjectingRuntime(ContainerRuntime delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
        for (Operation op : Operation.values()) {
            calls.put(op, new AtomicInteger());
        }
    }

    /** Arms a fault at a point; returns this for chaining. */
    public FaultInjectingRuntime arm(Operation operation, When when, Fault fault) {
        Objects.requireNonNull(operation, "operation");
        Objects.requireNonNull(when, "when");
        Objects.requireNonNull(fault, "fault");
        synchronized (armed) {
            armed.add(new Armed(operation, when, fault));
        }
        return this;
    }

    public FaultInjectingRuntime failBefore(Operation operation, Supplier<? extends RuntimeException> error) {
        return arm(operation, When.BEFORE, Fault.throwing(error));
    }

    public FaultInjectingRuntime failAfter(Operation operation, Supplier<? extends RuntimeException> error) {
        return arm(operation, When.AFTER, Fault.throwing(error));
    }

    public FaultInjectingRuntime haltBefore(Operation operation, Runnable halt) {
        return arm(operation, When.BEFORE, Fault.halting(halt));
    }

    public FaultInjectingRuntime haltAfter(Operation operation, Runnable halt) {
        return arm(operation, When.AFTER, Fault.halting(halt));
    }

    /** Removes every fault that has not fired yet. */
    public void disarm() {
        synchronized (armed) {
            armed.clear();
        }
    }

    /** Whether any armed fault is still waiting to fire. */
    public boolean armed() {
        synchronized (armed) {
            return !armed.isEmpty();
        }
    }

    /** How many times the operation was called (whether it got through or not). */
    public int calls(Operation operation) {
        return calls.get(operation).get();
    }

    public ContainerRuntime delegate() {
        return delegate;
    }

    private void at(Operation op, When when) {
        Fault fire = null;
        synchronized (armed) {
            for (var it = armed.iterator(); it.hasNext(); ) {
                Armed a = it.next();
                if (a.operation != op || a.when != when) {
                    continue;
                }
                if (a.skipLeft > 0) {
                    a.skipLeft--;
                    continue;
                }
                fire = a.fault;
                if (--a.timesLeft == 0) {
                    it.remove();
                }
                break;
            }
        }
        if (fire == null) {
            return;
        }
        if (fire.halt() != null) {
            fire.halt().run();
            throw new Halted("injected halt " + when.name().toLowerCase(java.util.Locale.ROOT) + " " + op);
        }
        throw fire.error().get();
    }

    private <T> T around(Operation op, Supplier<T> body) {
        calls.get(op).incrementAndGet();
        at(op, When.BEFORE);
        T result = body.get();
        at(op, When.AFTER);
        return result;
    }

    private void around(Operation op, Runnable body) {
        around(op, () -> {
            body.run();
            return null;
        });
    }

    @Override
    public void abortCalls(String why) {
        delegate.abortCalls(why);
    }

    @Override
    public void ping() {
        around(Operation.PING, delegate::ping);
    }

    @Override
    public boolean imageExists(String imageRef) {
        return around(Operation.IMAGE_EXISTS, () -> delegate.imageExists(imageRef));
    }

    @Override
    public void pullImage(String imageRef, Consumer<String> progress) {
        around(Operation.PULL_IMAGE, () -> delegate.pullImage(imageRef, progress));
    }

    @Override
    public String create(ContainerSpec spec) {
        return around(Operation.CREATE, () -> delegate.create(spec));
    }

    @Override
    public void start(String containerId) {
        around(Operation.START, () -> delegate.start(containerId));
    }

    @Override
    public void stop(String containerId, Duration grace) {
        around(Operation.STOP, () -> delegate.stop(containerId, grace));
    }

    @Override
    public void kill(String containerId) {
        around(Operation.KILL, () -> delegate.kill(containerId));
    }

    @Override
    public void restart(String containerId, Duration grace) {
        around(Operation.RESTART, () -> delegate.restart(containerId, grace));
    }

    @Override
    public void pause(String containerId) {
        around(Operation.PAUSE, () -> delegate.pause(containerId));
    }

    @Override
    public void unpause(String containerId) {
        around(Operation.UNPAUSE, () -> delegate.unpause(containerId));
    }

    @Override
    public void remove(String containerId, boolean force) {
        around(Operation.REMOVE, () -> delegate.remove(containerId, force));
    }

    @Override
    public Optional<ContainerState> inspect(String containerId) {
        return around(Operation.INSPECT, () -> delegate.inspect(containerId));
    }

    @Override
    public List<ContainerSummary> listManaged() {
        return around(Operation.LIST_MANAGED, delegate::listManaged);
    }

    @Override
    public void createVolume(String name, Map<String, String> labels) {
        around(Operation.CREATE_VOLUME, () -> delegate.createVolume(name, labels));
    }

    @Override
    public void removeVolume(String name) {
        around(Operation.REMOVE_VOLUME, () -> delegate.removeVolume(name));
    }

    @Override
    public Map<String, Long> volumeSizes() {
        return around(Operation.VOLUME_SIZES, delegate::volumeSizes);
    }

    @Override
    public String startHelper(HelperSpec spec) {
        return around(Operation.START_HELPER, () -> delegate.startHelper(spec));
    }

    @Override
    public Attachment execInHelper(String containerId, List<String> command) {
        return around(Operation.EXEC_IN_HELPER, () -> delegate.execInHelper(containerId, command));
    }

    @Override
    public Attachment runHelper(HelperSpec spec) {
        return around(Operation.RUN_HELPER, () -> delegate.runHelper(spec));
    }

    @Override
    public List<VolumeSummary> listManagedVolumes() {
        return around(Operation.LIST_VOLUMES, delegate::listManagedVolumes);
    }

    @Override
    public String logs(String containerId, int tail) {
        return around(Operation.LOGS, () -> delegate.logs(containerId, tail));
    }

    @Override
    public LogReader readLogs(String containerId, LogRequest request) {
        return around(Operation.READ_LOGS, () -> delegate.readLogs(containerId, request));
    }

    @Override
    public StatsReader readStats(String containerId) {
        return around(Operation.READ_STATS, () -> delegate.readStats(containerId));
    }

    @Override
    public StatsSample statsOnce(String containerId, StatsSample earlier) {
        return around(Operation.STATS_ONCE, () -> delegate.statsOnce(containerId, earlier));
    }

    @Override
    public Attachment attach(String containerId) {
        return around(Operation.ATTACH, () -> delegate.attach(containerId));
    }

    @Override
    public Closeable events(Consumer<RuntimeEvent> consumer) {
        calls.get(Operation.EVENTS).incrementAndGet();
        at(Operation.EVENTS, When.BEFORE);
        Closeable subscription = delegate.events(consumer);
        try {
            at(Operation.EVENTS, When.AFTER);
        } catch (RuntimeException | Halted e) {
            // the caller never gets the handle; don't leave the stream's thread running in the test JVM
            DockerRuntime.closeQuietly(subscription);
            throw e;
        }
        return subscription;
    }

    @Override
    public void close() {
        delegate.close();
    }

    @Override
    public String toString() {
        return "FaultInjectingRuntime[" + delegate + "]";
    }
}
