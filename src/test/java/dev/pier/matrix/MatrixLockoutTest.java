package dev.pier.matrix;

import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Matrix;
import dev.pier.support.Shared;
import dev.pier.support.TestServer;
import dev.pier.users.Enrollment;
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

import static dev.pier.support.Matrix.assertError;
import static dev.pier.support.Matrix.assertTokens;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * SPEC §4 login limits over HTTP: per username (5 failures, then 60 s doubling to 15 min, reset by a
 * success) and per client address (30 failures in 10 minutes lock it for 10 minutes), kept in the
 * database. Every request here comes from 127.0.0.1, so each test starts with no recorded failures.
 */
class MatrixLockoutTest {
    private static final AtomicInteger SEQ = new AtomicInteger();

    @Shared
    static TestServer server;

    @BeforeEach
    void forgetFailures() {
        server.core().db.jdbi().useHandle(h -> h.execute("DELETE FROM login_failures"));
    }

    private static Http http() {
        return server.http();
    }

    private static Enrollment newUser(String prefix) {
        return server.createUser(prefix + "-" + SEQ.incrementAndGet(), Role.VIEWER);
    }

    private static String wrongCode(Enrollment e) {
        // wrong for this step and both neighbours
        for (int i = 0; ; i++) {
            String c = String.format("%06d", i);
            if (!c.equals(server.code(e, -1)) && !c.equals(server.code(e)) && !c.equals(server.code(e, 1))) {
                return c;
            }
        }
    }

    private static void fail(Enrollment e, int times) {
        for (int i = 0; i < times; i++) {
            assertError(Matrix.login(http(), e.user().username(), wrongCode(e)), 400, 902);
        }
    }

    private static Http.Response rightCode(Enrollment e) {
        return Matrix.login(http(), e.user().username(), server.code(e));
    }

    private static void assertLocked(Http.Response r, long retryAfter) {
        assertError(r, 429, 429);
        assertThat(r.header("Retry-After")).isEqualTo(Long.toString(retryAfter));
    }

    @Test
    void user_is_refused_with_429_after_five_failures_even_with_the_right_code() {
        Enrollment e = newUser("five");
        fail(e, 5);
        Http.Response r = rightCode(e);
        assertLocked(r, 60);
        assertThat(r.json().get("error").asText()).contains("retry");
        // a wrong code while locked is refused the same way
        assertLocked(Matrix.login(http(), e.user().username(), wrongCode(e)), 60);
    }

    @Test
    void four_failures_do_not_lock() {
        Enrollment e = newUser("four");
        fail(e, 4);
        assertTokens(rightCode(e));
    }

    @Test
    void unknown_name_is_locked_like_a_real_one() {
        String ghost = "ghost-" + SEQ.incrementAndGet();
        for (int i = 0; i < 5; i++) {
            assertError(Matrix.login(http(), ghost, "123456"), 400, 902);
        }
        assertLocked(Matrix.login(http(), ghost, "123456"), 60);
    }

    @Test
    void lock_ignores_the_case_of_the_name() {
        Enrollment e = newUser("casey");
        for (int i = 0; i < 5; i++) {
            assertError(Matrix.login(http(), e.user().username().toUpperCase(), wrongCode(e)), 400, 902);
        }
        assertLocked(rightCode(e), 60);
    }

    @Test
    void other_users_are_not_locked_by_someone_elses_failures() {
        Enrollment victim = newUser("locked");
        Enrollment bystander = newUser("bystander");
        fail(victim, 5);
        assertLocked(rightCode(victim), 60);
        assertTokens(rightCode(bystander));
    }

    @Test
    void retry_after_counts_down_with_the_clock() {
        Enrollment e = newUser("countdown");
        fail(e, 5);
        server.clock.advance(Duration.ofSeconds(45));
        assertLocked(rightCode(e), 15);
    }

    @Test
    void login_works_again_once_the_lock_has_passed() {
        Enrollment e = newUser("patient");
        fail(e, 5);
        server.clock.advance(Duration.ofSeconds(59));
        assertLocked(rightCode(e), 1);
        server.clock.advance(Duration.ofSeconds(2));
        assertTokens(rightCode(e));
    }

    @Test
    void lock_doubles_with_each_further_failure_up_to_fifteen_minutes() {
        Enrollment e = newUser("doubling");
        fail(e, 5);
        assertLocked(rightCode(e), 60);
        for (long expected : new long[] {120, 240, 480, 900, 900}) {
            server.clock.advance(Duration.ofSeconds(3600));
            // the lock has passed, so this failure is judged, counted, and locks for longer
            fail(e, 1);
            assertLocked(rightCode(e), expected);
        }
    }

    @Test
    void success_resets_the_count() {
        Enrollment e = newUser("reset");
        fail(e, 4);
        assertTokens(rightCode(e));
        server.clock.advance(Duration.ofSeconds(30));
        fail(e, 4);
        // 8 failures in all, but never 5 in a row
        assertTokens(rightCode(e));
    }

    @Test
    void success_after_a_lock_starts_the_doubling_over() {
        Enrollment e = newUser("fresh-start");
        fail(e, 5);
        server.clock.advance(Duration.ofSeconds(61));
        assertTokens(rightCode(e));
        server.clock.advance(Duration.ofSeconds(30));
        fail(e, 4);
        server.clock.advance(Duration.ofSeconds(30));
        fail(e, 1);
        assertLocked(rightCode(e), 60);
    }

    @Test
    void lockout_survives_a_restart() {
        Enrollment e = newUser("restart");
        fail(e, 5);
        server.restart();
        assertLocked(rightCode(e), 60);
        server.clock.advance(Duration.ofSeconds(61));
        assertTokens(rightCode(e));
    }

    @Test
    void parallel_failures_are_all_counted_and_never_fail_the_server() throws Exception {
        Enrollment e = newUser("swarm");
        String body = Matrix.json("username", e.user().username(), "code", wrongCode(e));
        int threads = 12;
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Http.Response>> futures = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            for (int i = 0; i < threads; i++) {
                futures.add(pool.submit(() -> {
                    go.await();
                    return http().postJson(Matrix.AUTH, body);
                }));
            }
            go.countDown();
            for (Future<Http.Response> f : futures) {
                Http.Response r = f.get();
                assertThat(r.status()).as(r.body()).isIn(400, 429);
            }
        }
        Integer failures = server.core()
                .db
                .jdbi()
                .withHandle(
                        h -> h.createQuery("SELECT failures FROM login_failures WHERE kind = 'user' AND subject = :s")
                                .bind("s", e.user().username().toLowerCase())
                                .mapTo(Integer.class)
                                .one());
        assertThat(failures).isBetween(5, threads);
        assertError(rightCode(e), 429, 429);
    }

    @Test
    void address_is_refused_after_thirty_failures_across_usernames() {
        for (int i = 0; i < 30; i++) {
            // thirty different names, one failure each: no username bucket comes near its limit
            assertError(Matrix.login(http(), "spray-" + SEQ.incrementAndGet(), "123456"), 400, 902);
        }
        Enrollment innocent = newUser("innocent");
        assertLocked(rightCode(innocent), 600);
        server.clock.advance(Duration.ofMinutes(10).plusSeconds(1));
        assertTokens(rightCode(innocent));
    }

    @Test
    void twenty_nine_address_failures_do_not_lock() {
        for (int i = 0; i < 29; i++) {
            assertError(Matrix.login(http(), "probe-" + SEQ.incrementAndGet(), "123456"), 400, 902);
        }
        assertTokens(rightCode(newUser("still-fine")));
    }

    @Test
    void address_failures_spread_over_more_than_ten_minutes_do_not_lock() {
        for (int i = 0; i < 29; i++) {
            assertError(Matrix.login(http(), "early-" + SEQ.incrementAndGet(), "123456"), 400, 902);
        }
        server.clock.advance(Duration.ofMinutes(11));
        for (int i = 0; i < 29; i++) {
            assertError(Matrix.login(http(), "late-" + SEQ.incrementAndGet(), "123456"), 400, 902);
        }
        assertTokens(rightCode(newUser("spread")));
    }

    @Test
    void address_lock_survives_a_restart() {
        for (int i = 0; i < 30; i++) {
            assertError(Matrix.login(http(), "before-restart-" + SEQ.incrementAndGet(), "123456"), 400, 902);
        }
        server.restart();
        assertLocked(rightCode(newUser("after-restart")), 600);
    }
}
