package dev.pier.live;

import dev.pier.instances.InstanceFixture;
import dev.pier.instances.TestEngine;
import dev.pier.support.Shared;
import dev.pier.support.StreamClient;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static dev.pier.instances.InstanceFixture.bearer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A follower that stops reading is dropped with a last event saying so, while another follower of the same
 * log keeps receiving every line: the hub never waits for a follower and never grows a buffer for one.
 */
class SlowFollowerTest {
    private static final String SPEWER = "spewer";

    @Shared
    static InstanceFixture pier;

    @BeforeAll
    static void images() {
        // two hundred numbered lines of about 1 KB a second
        pier.registerImage(
                pier.admin,
                SPEWER,
                TestEngine.BUSYBOX,
                List.of(
                        "/bin/sh",
                        "-c",
                        "pad=$(head -c 1000 /dev/zero | tr '\\0' x); i=0; while true; do j=0; "
                                + "while [ $j -lt 20 ]; do echo \"$i $pad\"; i=$((i+1)); j=$((j+1)); done; "
                                + "sleep 0.1; done"),
                List.of(),
                false);
    }

    @Test
    void a_follower_that_stops_reading_is_dropped_and_the_others_keep_every_line() throws Exception {
        String id = pier.deploy(
                        pier.manager,
                        "name",
                        InstanceFixture.name("spew"),
                        "image",
                        SPEWER,
                        "memory_mib",
                        32,
                        "cpu",
                        0.5)
                .path("id")
                .asText();
        String path = "/api/v1/instances/" + id + "/logs?follow=true&tail=0";
        try (StreamClient fast = StreamClient.sse(pier.http(), path, bearer(pier.viewer));
                Socket slow = new Socket()) {
            // a small receive window, and nothing read: the server's writes to it soon block
            slow.setReceiveBufferSize(4096);
            URI base = URI.create(pier.http().base());
            slow.connect(new InetSocketAddress(base.getHost(), base.getPort()), 5_000);
            slow.getOutputStream()
                    .write(("GET " + path + " HTTP/1.1\r\nHost: " + base.getHost() + "\r\n"
                                    + "Accept: text/event-stream\r\nAuthorization: Bearer " + pier.viewer + "\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
            slow.getOutputStream().flush();

            List<StreamClient.Event> got =
                    new ArrayList<>(fast.until(e -> e.type().equals("stdout"), Duration.ofSeconds(30)));
            int first = number(got.getLast());
            await().atMost(Duration.ofSeconds(20))
                    .until(() -> pier.server.core().logs.followers() == 2);
            // the server's socket buffer (a few MiB) fills, then the slow follower's queue does
            await().atMost(Duration.ofSeconds(90))
                    .until(() -> pier.server.core().logs.followers() == 1);
            got.addAll(fast.drain());
            got.addAll(fast.until(e -> e.type().equals("stdout"), Duration.ofSeconds(10)));
            int dropped = number(got.getLast());
            // and the fast one goes on for two more seconds
            got.addAll(
                    fast.until(e -> e.type().equals("stdout") && number(e) >= dropped + 400, Duration.ofSeconds(30)));

            String said = readUntil(slow.getInputStream(), "event: end", Duration.ofSeconds(60));
            assertThat(said).contains("event: end").contains("too_slow");

            // the fast follower got every line, in order, and was never dropped
            List<Integer> numbers = got.stream()
                    .filter(e -> e.type().equals("stdout"))
                    .map(SlowFollowerTest::number)
                    .toList();
            assertThat(numbers.getFirst()).isEqualTo(first);
            for (int i = 1; i < numbers.size(); i++) {
                assertThat(numbers.get(i))
                        .as("line after %d", numbers.get(i - 1))
                        .isEqualTo(numbers.get(i - 1) + 1);
            }
            assertThat(got).noneMatch(e -> e.type().equals("end"));
        }
    }

    private static int number(StreamClient.Event e) {
        return Integer.parseInt(e.data().substring(0, e.data().indexOf(' ')));
    }

    /** Reads (and keeps only the tail of) what the server sends until {@code marker} and the rest of its event. */
    private static String readUntil(InputStream in, String marker, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        ByteArrayOutputStream tail = new ByteArrayOutputStream();
        byte[] buf = new byte[64 * 1024];
        int n;
        while (System.nanoTime() < deadline && (n = in.read(buf)) >= 0) {
            tail.write(buf, 0, n);
            String s = tail.toString(StandardCharsets.UTF_8);
            int at = s.indexOf(marker);
            if (at >= 0 && s.indexOf("\n\n", at) >= 0) {
                return s.substring(at);
            }
            if (tail.size() > 1 << 20) {
                byte[] keep = tail.toByteArray();
                tail.reset();
                tail.write(keep, keep.length - 8192, 8192);
            }
        }
        return tail.toString(StandardCharsets.UTF_8);
    }
}
