package dev.pier.http;

import io.javalin.http.Context;

import java.io.IOException;
import java.io.InputStream;

/**
 * What is left of a refused request body. A server that answers 413 and closes the connection while
 * the client is still sending makes most clients report a broken pipe instead of the answer; reading
 * and discarding the rest first lets them see the 413. The discarding is bounded, so a client cannot
 * make the server read without end.
 */
public final class RequestBodies {
    /** At most this much of a refused body is read and thrown away; beyond it the connection is closed. */
    public static final long DISCARD_LIMIT = 8L * 1024 * 1024;

    private RequestBodies() {}

    /**
     * Whether the client waits for "100 Continue" before it sends the body (curl does for large ones):
     * then nothing of the body is on the way until the server reads, and refusing sends none of it.
     */
    public static boolean awaitingContinue(Context ctx) {
        return "100-continue".equalsIgnoreCase(ctx.header("Expect"));
    }

    /** Reads and discards the rest of the request body, up to {@link #DISCARD_LIMIT} bytes. */
    public static void discardRest(Context ctx) {
        byte[] buffer = new byte[16 * 1024];
        long read = 0;
        try {
            InputStream in = ctx.req().getInputStream();
            int n;
            while (read < DISCARD_LIMIT && (n = in.read(buffer)) != -1) {
                read += n;
            }
        } catch (IOException | RuntimeException gone) {
            // the client went away or the stream is closed: nothing left to discard
        }
    }
}
