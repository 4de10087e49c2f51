package dev.pier.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * An attachment to a container's main process on a connection the engine took over (see
 * {@link JettyDockerHttpClient#hijack}): what is written goes to the process's stdin as it is; what comes
 * back is its output in {@link Multiplexed} frames (raw bytes, all stdout, for a container with a terminal,
 * which Pier does not create). The engine ends the connection when the process ends.
 */
final class DockerAttachment implements Attachment {
    private static final int RAW_CHUNK = 32 * 1024;

    private final DockerRuntime runtime;
    private final String container;
    private final JettyDockerHttpClient.Hijacked connection;
    private final boolean stdin;
    private final boolean tty;
    private final InputStream in;
    private final Multiplexed frames;
    private final Consumer<DockerAttachment> onClose;
    private final AtomicBoolean closed = new AtomicBoolean();

    /**
     * @param stdin whether the container has an open stdin (the engine drops what is written otherwise)
     * @param tty   whether it has a terminal: then its output is not multiplexed
     */
    DockerAttachment(
            DockerRuntime runtime,
            String container,
            JettyDockerHttpClient.Hijacked connection,
            boolean stdin,
            boolean tty,
            Consumer<DockerAttachment> onClose) {
        this.runtime = runtime;
        this.container = container;
        this.connection = connection;
        this.stdin = stdin;
        this.tty = tty;
        this.in = connection.input();
        this.frames = tty ? null : new Multiplexed(in);
        this.onClose = onClose;
    }

    @Override
    public Chunk read() {
        if (closed.get()) {
            return null;
        }
        try {
            if (tty) {
                byte[] buf = new byte[RAW_CHUNK];
                int n = in.read(buf);
                if (n < 0) {
                    close();
                    return null;
                }
                return new Chunk(Output.STDOUT, Arrays.copyOf(buf, n));
            }
            while (true) {
                Multiplexed.Frame f = frames.next();
                if (f == null) {
                    close();
                    return null;
                }
                if (f.stream() == Multiplexed.SYSTEM_ERROR) {
                    close();
                    throw runtime.streamFailed("attach to", container, f.payload());
                }
                if (f.payload().length > 0) {
                    return new Chunk(f.output(), f.payload());
                }
            }
        } catch (IOException e) {
            if (closed.get()) {
                return null;
            }
            close();
            throw runtime.unavailable(e);
        }
    }

    @Override
    public void write(byte[] input) {
        if (!stdin) {
            throw new RuntimeOperationException("container " + container + " has no stdin: it was created without one");
        }
        if (input.length == 0) {
            return;
        }
        if (closed.get()) {
            throw new RuntimeUnavailableException("the attachment to container " + container + " was closed");
        }
        try {
            connection.write(input);
        } catch (IOException e) {
            if (closed.get()) {
                throw new RuntimeUnavailableException("the attachment to container " + container + " was closed", e);
            }
            close();
            throw runtime.unavailable(e);
        }
    }

    @Override
    public void closeInput() {
        try {
            connection.shutdownOutput();
        } catch (IOException e) {
            close();
            throw runtime.unavailable(e);
        }
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            connection.close();
            onClose.accept(this);
        }
    }

    @Override
    public String toString() {
        return "DockerAttachment[" + container + "]";
    }
}
