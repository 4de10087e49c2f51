package dev.pier.live;

import dev.pier.http.Json;
import io.javalin.http.Context;

import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;

/**
 * The body of one streamed answer, written by the request's own thread: Server-Sent Events when the client
 * accepts {@code text/event-stream}, NDJSON otherwise (or plain text for a download). Nothing is flushed
 * until {@link #flush}, so a caller can write a batch of events and send them in one go. A client that went
 * away shows as an {@link UncheckedIOException} from a write or a flush.
 */
public final class StreamOut {
    /** How the events are written. */
    public enum Format {
        SSE("text/event-stream; charset=utf-8"),
        NDJSON("application/x-ndjson; charset=utf-8"),
        TEXT("text/plain; charset=utf-8");

        final String contentType;

        Format(String contentType) {
            this.contentType = contentType;
        }
    }

    private final Format format;
    private final Writer out;

    private StreamOut(Format format, OutputStream body) {
        this.format = format;
        this.out = new OutputStreamWriter(body, StandardCharsets.UTF_8);
    }

    /** SSE if the request accepts it, NDJSON otherwise. */
    public static Format negotiate(Context ctx) {
        String accept = ctx.header("Accept");
        return accept != null && accept.toLowerCase(Locale.ROOT).contains("text/event-stream")
                ? Format.SSE
                : Format.NDJSON;
    }

    /** Starts the answer: status 200 and the headers; nothing is sent before the first flush. */
    public static StreamOut start(Context ctx, Format format) {
        var res = ctx.res();
        res.setStatus(200);
        res.setContentType(format.contentType);
        // a proxy in front (nginx) must pass events on as they come
        res.setHeader("X-Accel-Buffering", "no");
        try {
            return new StreamOut(format, res.getOutputStream());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Format format() {
        return format;
    }

    /**
     * One event. SSE: {@code id}, {@code event} and the data, one {@code data:} line per line of it (a
     * client joins them with line breaks); NDJSON: {@code json} on one line.
     */
    public void event(String id, String event, String sseData, Map<String, Object> json) {
        try {
            if (format == Format.SSE) {
                StringBuilder b = new StringBuilder(sseData.length() + 64);
                if (id != null) {
                    b.append("id: ").append(id).append('\n');
                }
                b.append("event: ").append(event).append('\n');
                appendData(b, sseData);
                b.append('\n');
                out.write(b.toString());
            } else {
                out.write(Json.MAPPER.writeValueAsString(json));
                out.write('\n');
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Raw text (a download). */
    public void text(String s) {
        try {
            out.write(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void appendData(StringBuilder b, String data) {
        int start = 0;
        int n = data.length();
        for (int i = 0; i < n; i++) {
            char c = data.charAt(i);
            if (c == '\n' || c == '\r') {
                b.append("data: ").append(data, start, i).append('\n');
                if (c == '\r' && i + 1 < n && data.charAt(i + 1) == '\n') {
                    i++;
                }
                start = i + 1;
            }
        }
        b.append("data: ").append(data, start, n).append('\n');
    }

    /** An SSE comment, which clients ignore: a heartbeat that shows the connection is alive. NDJSON: nothing. */
    public void comment(String text) {
        if (format != Format.SSE) {
            return;
        }
        try {
            out.write(": " + text + "\n\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** For SSE: how long a client should wait before reconnecting. */
    public void retry(long millis) {
        if (format != Format.SSE) {
            return;
        }
        try {
            out.write("retry: " + millis + "\n\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public void flush() {
        try {
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
