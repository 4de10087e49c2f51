package dev.pier.runtime;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/**
 * Docker's multiplexed stream, as its logs and attach carry the output of a container created without a
 * terminal: frames of an eight-byte header (the stream: 0 stdin, 1 stdout, 2 stderr, 3 an error of the
 * engine's own; three zero bytes; the payload's length, big-endian) and the payload. A frame larger than
 * {@value #MAX_FRAME_BYTES} bytes is the engine misbehaving (Docker cuts a log line at 16 KiB, and an
 * attach copies 32 KiB at a time). Not thread-safe.
 */
final class Multiplexed {
    static final int MAX_FRAME_BYTES = 1 << 20;
    static final int STDIN = 0;
    static final int STDOUT = 1;
    static final int STDERR = 2;
    /** What the engine sends instead of the rest when reading the output failed on its side. */
    static final int SYSTEM_ERROR = 3;

    /** One frame: the stream it belongs to and its bytes. */
    record Frame(int stream, byte[] payload) {
        /** Stdin counts as stdout, as Docker's own client has it. */
        Output output() {
            return stream == STDERR ? Output.STDERR : Output.STDOUT;
        }
    }

    private final InputStream in;
    private final byte[] header = new byte[8];

    Multiplexed(InputStream in) {
        this.in = in;
    }

    /** Whether eight bytes are the header of a frame (what a multiplexed stream starts with). */
    static boolean isHeader(byte[] h) {
        return h.length >= 8 && (h[0] & 0xff) <= SYSTEM_ERROR && h[1] == 0 && h[2] == 0 && h[3] == 0;
    }

    /**
     * The next frame, waiting for it; null at the end of the stream.
     *
     * @throws EngineAnswerException when the stream is not Docker's or a frame is over the limit
     * @throws EOFException          when the stream ends inside a frame
     */
    Frame next() throws IOException {
        int n = in.readNBytes(header, 0, header.length);
        if (n == 0) {
            return null;
        }
        if (n < header.length) {
            throw new EOFException("the engine closed the connection inside a frame");
        }
        if (!isHeader(header)) {
            throw new EngineAnswerException(
                    EngineAnswerException.Kind.NOT_DOCKER, "its output stream is not Docker's multiplexed format");
        }
        long length = ((header[4] & 0xffL) << 24)
                | ((header[5] & 0xffL) << 16)
                | ((header[6] & 0xffL) << 8)
                | (header[7] & 0xffL);
        if (length > MAX_FRAME_BYTES) {
            throw new EngineAnswerException(
                    EngineAnswerException.Kind.TOO_LARGE,
                    "it sent a frame of output larger than the " + MAX_FRAME_BYTES / (1024 * 1024)
                            + " MiB Pier accepts");
        }
        byte[] payload = in.readNBytes((int) length);
        if (payload.length < length) {
            throw new EOFException("the engine closed the connection inside a frame");
        }
        return new Frame(header[0], payload);
    }
}
