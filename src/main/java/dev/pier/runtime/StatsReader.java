package dev.pier.runtime;

/**
 * A container's stats stream in progress: the engine sends a sample about every second. Not thread-safe,
 * except {@link #close}, which may be called from any thread to end a {@link #next} that is waiting.
 */
public interface StatsReader extends AutoCloseable {
    /**
     * The next sample, waiting for it; {@code null} when the stream ended (the container was removed, or
     * the engine ended it).
     *
     * @throws RuntimeUnavailableException when the engine stops answering or the read was closed
     * @throws ContainerNotFoundException  when the container is gone (on the first call)
     */
    StatsSample next();

    @Override
    void close();
}
