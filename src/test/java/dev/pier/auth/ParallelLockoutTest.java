package dev.pier.auth;

import dev.pier.keys.KeyFixtures;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Matrix;
import dev.pier.support.TestServer;
import dev.pier.users.Enrollment;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

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
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

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

    /** Sends {@code PARALLEL} requests at once (all threads wait on one latch) and returns their statuses. */
    private static List<Integer> burst(Function<Integer, Http.Response> request) throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Http.Response>> futures = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < PARALLEL; i++) {
                int n = i;
                futures.add(pool.submit(() -> {
                    go.await();
                    return request.apply(n);
                }));
            }
            go.countDown();
            List<Integer> statuses = new ArrayList<>();
            for (Future<Http.Response> f : futures) {
                statuses.add(f.get().status());
            }
            return statuses;
        }
    }

    private static long auditFailures(String action, String target) {
        return KeyFixtures.audit(server, action, target).stream().filter(r -> "failure".equals(r.get("outcome"))).count();
    }

    @Test
    void two_hundred_parallel_wrong_codes_evaluate_at_most_five() throws Exception {
        Enrollment e = server.createUser("burst-" + SEQ.incrementAndGet(), Role.VIEWER);
        String body = Matrix.json("username", e.user().username(), "code", wrongCode(e));
        List<Integer> statuses = burst(i -> server.http().postJson(Matrix.AUTH, body));

        long evaluated = auditFailures("auth.login", e.user().username());
        long judged = statuses.stream().filter(s -> s == 400).count();
        long refused = statuses.stream().filter(s -> s == 429).count();
        System.out.printf("[figures] parallel wrong codes: %d sent, %d evaluated (audit), %d answered 400, %d answered 429%n",
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
        server.core().users.setPasswordHash(Principal.system(), name, server.core().passwords.hash("a long enough password"));
        String form = KeyFixtures.form("username", name, "password", "not the password", "code", server.code(e),
                "access_level", "full");
        List<Integer> statuses = burst(i -> server.http().postForm("/api/user/create_apikey", form));

        long evaluated = auditFailures("auth.password", name);
        System.out.printf("[figures] parallel wrong passwords: %d sent, %d evaluated (audit), %d answered 401, %d answered 429%n",
                PARALLEL, evaluated, statuses.stream().filter(s -> s == 401).count(),
                statuses.stream().filter(s -> s == 429).count());
        assertThat(statuses).allMatch(s -> s == 401 || s == 429);
        assertThat(evaluated).isBetween(1L, 5L);
        assertThat(KeyFixtures.keyCount(server)).isZero();
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
        burst(i -> server.http().postJson(Matrix.AUTH, again));
        // past the free failures, one attempt at a time: exactly one more was judged, and it locked again
        assertThat(auditFailures("auth.login", e.user().username())).isEqualTo(6);
    }
}
