package dev.pier.runtime;

/**
 * A connection to a running container's main process: its output as it is written, and its stdin (when
 * the container was created with {@link ContainerSpec#stdin()}). Output that was written before the
 * attachment is not replayed (read the log for that). {@link #read} is for one thread and {@link #write}
 * for one thread; {@link #close} may be called from any thread and ends a waiting {@link #read}.
 */
public interface Attachment extends AutoCloseable {
    /** A piece of output, as the engine delivered it (not necessarily whole lines). */
    record Chunk(Output output, byte[] bytes) {}

    /**
     * The next piece of output, waiting for it; {@code null} when the process ended or the attachment was
     * closed.
     *
     * @throws RuntimeUnavailableException when the connection to the engine broke
     */
    Chunk read();

    /**
     * Writes bytes to the process's stdin.
     *
     * @throws RuntimeOperationException   when the container has no open stdin
     * @throws RuntimeUnavailableException when the connection to the engine broke
     */
    void write(byte[] input);

    /**
     * Says that the input ended: the process reads end-of-file once what was written is read (for a
     * container created to close its stdin when its attachment does, as a helper is). Output can still be
     * read afterwards.
     *
     * @throws RuntimeUnavailableException when the connection to the engine broke
     */
    void closeInput();

    /** Closes the connection; the container and its stdin stay as they are. Idempotent. */
    @Override
    void close();
}
