package dev.pier.auth;

import dev.pier.keys.KeyFixtures;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Matrix;
import dev.pier.support.Shared;
import dev.pier.support.TestServer;
import dev.pier.users.Enrollment;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 7, item 6: the lockout is one atomic database operation. 200 parallel wrong codes (or
 * passwords) for one user are sent at once; at most 5 may be evaluated (looked up and checked), the
 * others are refused with 429 before any credential is looked at. "Evaluated" is counted by the audit
 * log, which gets one failure row for each attempt that was judged, and none for a refused one.
 */
class ParallelLockoutTest {
    private static final AtomicInteger SEQ = new AtomicInteger();
    private static final int PARALLEL = 200;

    @Shared
    static TestServer server;

    @BeforeEach
    void forgetFailures() {
        server.core().db.jdbi().useHandle(h -> h.execute("DELETE FROM login_failures"));
    }

    private static String wrongCode(Enrollment e) {
        for (int i = 0; ; i++) {
            String c = String.format("%06d", i);
            if (!c.equals(server.code(e, -1)) && !c.equals(server.code(e)) && !c.equals(server.code(e, 1))) {
                return c;
            }
        }
    }

    /**
     * Sends {@code PARALLEL} POSTs at once: every connection is opened first (one after another, so no
     * burst of connects overflows the listen backlog of a loaded machine), then all threads write their
     * request on one signal. Returns the statuses.
     */
    private static List<Integer> burst(TestServer target, String path, String contentType, String body)
            throws Exception {
        List<Socket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < PARALLEL; i++) {
                Socket s = new Socket();
                s.connect(new InetSocketAddress("127.0.0.1", target.port()), 5_000);
                s.setSoTimeout(60_000);
                sockets.add(s);
            }
            byte[] payload = body.getBytes(StandardCharsets.UTF_8);
            byte[] request = ("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + contentType
                            + "\r\nContent-Length: " + payload.length + "\r\nConnection: close\r\n\r\n" + body)
                    .getBytes(StandardCharsets.UTF_8);
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Integer>> futures = new ArrayList<>();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (Socket s : sockets) {
                    futures.add(pool.submit(() -> {
                        go.await();
                        s.getOutputStream().write(request);
                        s.getOutputStream().flush();
                        String statusLine = new java.io.BufferedReader(
                                        new java.io.InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1))
                                .readLine();
                        assertThat(statusLine).as("status line").startsWith("HTTP/1.1 ");
                        return Integer.parseInt(statusLine.substring(9, 12));
                    }));
                }
                go.countDown();
                List<Integer> statuses = new ArrayList<>();
                for (Future<Integer> f : futures) {
                    statuses.add(f.get());
                }
                return statuses;
            }
        } finally {
            for (Socket s : sockets) {
                s.close();
            }
        }
    }

    private static long auditFailures(String action, String target) {
        return KeyFixtures.audit(server, action, target).stream()
                .filter(r -> "failure".equals(r.get("outcome")))
                .count();
    }

    @Test
    void two_hundred_parallel_wrong_codes_evaluate_at_most_five() throws Exception {
        Enrollment e = server.createUser("burst-" + SEQ.incrementAndGet(), Role.VIEWER);
        String body = Matrix.json("username", e.user().username(), "code", wrongCode(e));
        List<Integer> statuses = burst(server, Matrix.AUTH, "application/json", body);

        long evaluated = auditFailures("auth.login", e.user().username());
        long judged = statuses.stream().filter(s -> s == 400).count();
        long refused = statuses.stream().filter(s -> s == 429).count();
        System.out.printf(
                "[figures] parallel wrong codes: %d sent, %d evaluated (audit), %d answered 400, %d answered 429%n",
                PARALLEL, evaluated, judged, refused);
        assertThat(statuses).allMatch(s -> s == 400 || s == 429);
        assertThat(evaluated).isBetween(1L, 5L);
        assertThat(judged).isEqualTo(evaluated);
        assertThat(refused).isEqualTo(PARALLEL - evaluated);
        // and the user is locked: the right code is refused now
        Http.Response right = Matrix.login(server.http(), e.user().username(), server.code(e));
        assertThat(right.status()).as(right.body()).isEqualTo(429);
    }

    @Test
    void two_hundred_parallel_wrong_passwords_evaluate_at_most_five() throws Exception {
        Enrollment e = server.createUser("burstpw-" + SEQ.incrementAndGet(), Role.VIEWER);
        String name = e.user().username();
        server.core()
                .users
                .setPasswordHash(
                        Principal.system(), name, server.core().passwords.hash("a long enough password"));
        String form = KeyFixtures.form(
                "username", name, "password", "not the password", "code", server.code(e), "access_level", "full");
        List<Integer> statuses = burst(server, "/api/user/create_apikey", "application/x-www-form-urlencoded", form);

        long evaluated = auditFailures("auth.password", name);
        System.out.printf(
                "[figures] parallel wrong passwords: %d sent, %d evaluated (audit), %d answered 401, %d answered 429%n",
                PARALLEL,
                evaluated,
                statuses.stream().filter(s -> s == 401).count(),
                statuses.stream().filter(s -> s == 429).count());
        assertThat(statuses).allMatch(s -> s == 401 || s == 429);
        assertThat(evaluated).isBetween(1L, 5L);
        assertThat(KeyFixtures.keyCount(server)).isZero();
    }

    /** With passwords required each judged attempt costs a password hash: a wide window for a check-then-count race. */
    @Test
    void with_passwords_required_two_hundred_parallel_wrong_logins_evaluate_at_most_five() throws Exception {
        try (TestServer slow = TestServer.start(c -> c.withRequirePassword(true))) {
            Enrollment e = slow.createUser("burst-slow", Role.VIEWER);
            slow.core()
                    .users
                    .setPasswordHash(
                            Principal.system(),
                            "burst-slow",
                            slow.core().passwords.hash("a long enough password"));
            String body = Matrix.json("username", "burst-slow", "code", slow.code(e), "password", "not the password");
            assertThat(burst(slow, Matrix.AUTH, "application/json", body)).allMatch(st -> st == 400 || st == 429);
            long evaluated = KeyFixtures.audit(slow, "auth.login", "burst-slow").size();
            System.out.printf(
                    "[figures] parallel wrong logins with passwords required: %d sent, %d evaluated (audit)%n",
                    PARALLEL, evaluated);
            assertThat(evaluated).isBetween(1L, 5L);
        }
    }

    @Test
    void the_next_attempt_after_a_lock_is_evaluated_alone() throws Exception {
        Enrollment e = server.createUser("after-" + SEQ.incrementAndGet(), Role.VIEWER);
        String body = Matrix.json("username", e.user().username(), "code", wrongCode(e));
        for (int i = 0; i < 5; i++) {
            assertThat(server.http().postJson(Matrix.AUTH, body).status()).isEqualTo(400);
        }
        server.clock.advance(Duration.ofSeconds(61));
        String again = Matrix.json("username", e.user().username(), "code", wrongCode(e));
        assertThat(burst(server, Matrix.AUTH, "application/json", again)).allMatch(st -> st == 400 || st == 429);
        // past the free failures, one attempt at a time: exactly one more was judged, and it locked again
        assertThat(auditFailures("auth.login", e.user().username())).isEqualTo(6);
    }
}
