package dev.pier.runtime;

/**
 * A read of a container's log in progress, pulled a line at a time, oldest first. Nothing is buffered
 * beyond what the transport holds: a caller that stops pulling holds the engine back, so memory does not
 * grow with the size of the log. Not thread-safe, except {@link #close}, which may be called from any
 * thread to end a {@link #next} that is waiting.
 */
public interface LogReader extends AutoCloseable {
    /**
     * The next line; when following, waits for one. Returns {@code null} at the end: everything asked for
     * was read, or (when following) the container stopped and its output ended.
     *
     * @throws RuntimeUnavailableException when the engine stops answering or the read was closed
     * @throws ContainerNotFoundException  when the container is gone (on the first call)
     */
    LogLine next();

    /** Ends the read and releases its connection. Idempotent. */
    @Override
    void close();
}
