package dev.pier.ops;

import dev.pier.support.Shared;
import dev.pier.support.TestServer;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A body over the limit, sent the way a plain client sends it: all of it, without waiting for
 * "100 Continue". The client must get the 413 rather than a broken pipe, whether the server refuses
 * by the Content-Length header or finds out while reading a chunked body. Raw sockets, so that no
 * client library smooths anything over.
 */
class OversizedBodyTest {
    @Shared
    static TestServer server;

    private static byte[] json(int size) {
        byte[] b = new byte[size];
        Arrays.fill(b, (byte) 'x');
        byte[] head = "{\"description\":\"".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(head, 0, b, 0, head.length);
        b[size - 2] = '"';
        b[size - 1] = '}';
        return b;
    }

    private String exchange(byte[] headers, byte[]... bodyParts) throws IOException {
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(20_000);
            OutputStream out = s.getOutputStream();
            out.write(headers);
            for (byte[] part : bodyParts) {
                out.write(part);
            }
            out.flush();
            BufferedReader in =
                    new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
            return in.readLine();
        }
    }

    @Test
    void a_sized_body_over_the_limit_is_answered_413_after_the_client_sent_it_all() throws IOException {
        byte[] body = json(6 * 1024 * 1024);
        String head = "POST /api/v1/api_tokens HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.length + "\r\n\r\n";
        assertThat(exchange(head.getBytes(StandardCharsets.US_ASCII), body)).startsWith("HTTP/1.1 413");
    }

    @Test
    void a_chunked_body_that_grows_over_the_limit_is_answered_413() throws IOException {
        byte[] body = json(6 * 1024 * 1024);
        String head = "POST /api/v1/api_tokens HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n";
        int chunk = 64 * 1024;
        java.util.List<byte[]> parts = new java.util.ArrayList<>();
        for (int off = 0; off < body.length; off += chunk) {
            int len = Math.min(chunk, body.length - off);
            parts.add((Integer.toHexString(len) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            parts.add(Arrays.copyOfRange(body, off, off + len));
            parts.add("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        parts.add("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(exchange(head.getBytes(StandardCharsets.US_ASCII), parts.toArray(byte[][]::new)))
                .startsWith("HTTP/1.1 413");
    }
}
