package dev.pier.instances;

import dev.pier.runtime.Attachment;
import dev.pier.runtime.ContainerRuntime;
import dev.pier.runtime.ContainerSpec;
import dev.pier.runtime.ContainerState;
import dev.pier.runtime.ContainerSummary;
import dev.pier.runtime.HelperSpec;
import dev.pier.runtime.RuntimeEvent;
import dev.pier.runtime.VolumeSummary;

import java.io.Closeable;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A real runtime with a hook run after each successful {@link #start}: lets a test act (as a user would)
 * at a precise point of a reconcile pass. FaultInjectingRuntime can only throw or halt there; this one
 * carries on. Thread-safe.
 */
final class HookedRuntime implements ContainerRuntime {
    private final ContainerRuntime delegate;
    private volatile Consumer<String> afterStart = id -> {};

    HookedRuntime(ContainerRuntime delegate) {
        this.delegate = delegate;
    }

    /** Runs {@code hook} with the container id after the next successful start, once. */
    void onceAfterStart(Consumer<String> hook) {
        afterStart = new Consumer<>() {
            private boolean done;

            @Override
            public synchronized void accept(String id) {
                if (!done) {
                    done = true;
                    hook.accept(id);
                }
            }
        };
    }

    @Override
    public void ping() {
        delegate.ping();
    }

    @Override
    public void abortCalls(String why) {
        delegate.abortCalls(why);
    }

    @Override
    public boolean imageExists(String imageRef) {
        return delegate.imageExists(imageRef);
    }

    @Override
    public void pullImage(String imageRef, Consumer<String> progress) {
        delegate.pullImage(imageRef, progress);
    }

    @Override
    public String create(ContainerSpec spec) {
        return delegate.create(spec);
    }

    @Override
    public void start(String containerId) {
        delegate.start(containerId);
        afterStart.accept(containerId);
    }

    @Override
    public void stop(String containerId, Duration grace) {
        delegate.stop(containerId, grace);
    }

    @Override
    public void kill(String containerId) {
        delegate.kill(containerId);
    }

    @Override
    public void restart(String containerId, Duration grace) {
        delegate.restart(containerId, grace);
    }

    @Override
    public void pause(String containerId) {
        delegate.pause(containerId);
    }

    @Override
    public void unpause(String containerId) {
        delegate.unpause(containerId);
    }

    @Override
    public void remove(String containerId, boolean force) {
        delegate.remove(containerId, force);
    }

    @Override
    public Optional<ContainerState> inspect(String containerId) {
        return delegate.inspect(containerId);
    }

    @Override
    public List<ContainerSummary> listManaged() {
        return delegate.listManaged();
    }

    @Override
    public void createVolume(String name, Map<String, String> labels) {
        delegate.createVolume(name, labels);
    }

    @Override
    public void removeVolume(String name) {
        delegate.removeVolume(name);
    }

    @Override
    public Map<String, Long> volumeSizes() {
        return delegate.volumeSizes();
    }

    @Override
    public String startHelper(HelperSpec spec) {
        return delegate.startHelper(spec);
    }

    @Override
    public Attachment execInHelper(String containerId, List<String> command) {
        return delegate.execInHelper(containerId, command);
    }

    @Override
    public Attachment runHelper(HelperSpec spec) {
        return delegate.runHelper(spec);
    }

    @Override
    public List<VolumeSummary> listManagedVolumes() {
        return delegate.listManagedVolumes();
    }

    @Override
    public String logs(String containerId, int tail) {
        return delegate.logs(containerId, tail);
    }

    @Override
    public dev.pier.runtime.LogReader readLogs(String containerId, dev.pier.runtime.LogRequest request) {
        return delegate.readLogs(containerId, request);
    }

    @Override
    public dev.pier.runtime.StatsReader readStats(String containerId) {
        return delegate.readStats(containerId);
    }

    @Override
    public dev.pier.runtime.StatsSample statsOnce(String containerId, dev.pier.runtime.StatsSample earlier) {
        return delegate.statsOnce(containerId, earlier);
    }

    @Override
    public dev.pier.runtime.Attachment attach(String containerId) {
        return delegate.attach(containerId);
    }

    @Override
    public Closeable events(Consumer<RuntimeEvent> consumer) {
        return delegate.events(consumer);
    }

    @Override
    public void close() {
        delegate.close();
    }
}
