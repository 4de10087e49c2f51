package dev.pier.runtime;

import com.github.dockerjava.transport.DockerHttpClient;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.function.Function;

/**
 * A read of a container's log through Docker's {@code /containers/ID/logs} with {@code timestamps=1}: its
 * multiplexed frames (see {@link Multiplexed}) parsed one at a time as they come, each a line (or a piece
 * of one: Docker cuts lines at 16 KiB) behind the engine's RFC 3339 timestamp. Nothing is read ahead beyond
 * the stream's buffer, so memory stays flat whatever the size of the log. A container with a terminal has
 * no frames; its log is read as plain lines, all of them stdout.
 *
 * <p>{@link #close} aborts the request, from any thread: a {@link #next} waiting in another thread fails at
 * once.
 */
final class DockerLogReader implements LogReader {
    private static final int BUFFER = 64 * 1024;

    private final DockerRuntime runtime;
    private final String container;
    private final DockerHttpClient.Response response;
    private final BufferedInputStream in;
    private Multiplexed frames;
    private boolean raw;
    private boolean ended;
    private volatile boolean closed;

    DockerLogReader(DockerRuntime runtime, String container, DockerHttpClient.Response response) {
        this.runtime = runtime;
        this.container = container;
        this.response = response;
        this.in = new BufferedInputStream(response.getBody(), BUFFER);
    }

    @Override
    public LogLine next() {
        if (ended) {
            return null;
        }
        if (closed) {
            throw closedRead(null);
        }
        try {
            LogLine line = read();
            if (line == null) {
                end();
            }
            return line;
        } catch (IOException e) {
            if (closed) {
                throw closedRead(e);
            }
            end();
            throw runtime.unavailable(e);
        }
    }

    private LogLine read() throws IOException {
        if (frames == null && !raw) {
            in.mark(8);
            byte[] first = in.readNBytes(8);
            in.reset();
            if (first.length == 0) {
                return null;
            }
            if (first.length == 8 && Multiplexed.isHeader(first)) {
                frames = new Multiplexed(in);
            } else {
                // every line starts with its timestamp, a digit: not a frame header (whose first byte is 0-3)
                raw = true;
            }
        }
        while (true) {
            if (raw) {
                byte[] line = readLine(in, Multiplexed.MAX_FRAME_BYTES);
                return line == null ? null : parse(Output.STDOUT, line);
            }
            Multiplexed.Frame f = frames.next();
            if (f == null) {
                return null;
            }
            if (f.stream() == Multiplexed.SYSTEM_ERROR) {
                end();
                throw runtime.streamFailed("read the log of", container, f.payload());
            }
            if (f.payload().length > 0) {
                return parse(f.output(), f.payload());
            }
        }
    }

    /** {@code TIMESTAMP SP text}, the text ending in one line break (LF or CRLF) unless it was cut. */
    static LogLine parse(Output output, byte[] p) throws EngineAnswerException {
        int space = -1;
        for (int i = 0; i < Math.min(p.length, 64); i++) {
            if (p[i] == ' ') {
                space = i;
                break;
            }
        }
        if (space <= 0) {
            throw new EngineAnswerException(
                    EngineAnswerException.Kind.NOT_DOCKER, "a line of its log has no timestamp");
        }
        Instant time;
        try {
            time = Instant.parse(new String(p, 0, space, StandardCharsets.US_ASCII));
        } catch (DateTimeParseException e) {
            throw new EngineAnswerException(
                    EngineAnswerException.Kind.NOT_DOCKER, "a line of its log has no valid timestamp");
        }
        int from = space + 1;
        int end = p.length;
        if (end > from && p[end - 1] == '\n') {
            end--;
            if (end > from && p[end - 1] == '\r') {
                end--;
            }
        }
        return new LogLine(time, output, new String(p, from, end - from, StandardCharsets.UTF_8));
    }

    /**
     * The bytes up to and with the next LF (without one at the end of the stream); null at the end.
     *
     * @throws EngineAnswerException when a line is longer than {@code max}
     */
    static byte[] readLine(InputStream in, int max) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream(256);
        while (true) {
            int b = in.read();
            if (b < 0) {
                return line.size() == 0 ? null : line.toByteArray();
            }
            if (line.size() >= max) {
                throw new EngineAnswerException(
                        EngineAnswerException.Kind.TOO_LARGE, "it sent a line longer than " + max / 1024 + " KiB");
            }
            line.write(b);
            if (b == '\n') {
                return line.toByteArray();
            }
        }
    }

    private RuntimeUnavailableException closedRead(Throwable cause) {
        return new RuntimeUnavailableException("the read of container " + container + "'s log was closed", cause);
    }

    private void end() {
        ended = true;
        DockerRuntime.closeQuietly(response);
    }

    @Override
    public void close() {
        closed = true;
        DockerRuntime.closeQuietly(response);
    }

    /**
     * The last lines before a time. Docker takes the last lines of the whole log before it applies
     * {@code until}, so this reads the lines before that time twice: first to count them (and note the
     * time of the last one), then again up to that last one, skipping all but the last {@code tail}. Memory
     * stays flat; the price is a second read of that part of the log.
     */
    static final class LastLines implements LogReader {
        private final int tail;
        private final Function<Instant, LogReader> reopen;
        private LogReader current;
        private boolean counted;
        private volatile boolean closed;

        /**
         * @param counting the read of every line before the time
         * @param reopen   opens the same read again, through the given time (inclusive)
         */
        LastLines(LogReader counting, int tail, Function<Instant, LogReader> reopen) {
            this.current = counting;
            this.tail = tail;
            this.reopen = reopen;
        }

        @Override
        public LogLine next() {
            if (!counted) {
                counted = true;
                long count = 0;
                Instant last = null;
                for (LogLine l = current.next(); l != null; l = current.next()) {
                    count++;
                    last = l.time();
                }
                current.close();
                if (count == 0) {
                    return null;
                }
                LogReader again = reopen.apply(last);
                synchronized (this) {
                    current = again;
                }
                if (closed) {
                    again.close();
                }
                for (long skip = count - tail; skip > 0; skip--) {
                    if (current.next() == null) {
                        return null;
                    }
                }
            }
            return current.next();
        }

        @Override
        public void close() {
            closed = true;
            LogReader c;
            synchronized (this) {
                c = current;
            }
            c.close();
        }
    }
}
