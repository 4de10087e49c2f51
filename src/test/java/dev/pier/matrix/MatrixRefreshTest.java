package dev.pier.matrix;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Matrix;
import dev.pier.support.Shared;
import dev.pier.support.TestServer;
import dev.pier.users.Enrollment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.pier.support.Matrix.REFRESH;
import static dev.pier.support.Matrix.assertError;
import static dev.pier.support.Matrix.assertTokens;
import static dev.pier.support.Matrix.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code POST /api/v1/user/auth/refresh}: rotation of the token pair, reuse detection (RFC 9700: a
 * retired refresh token presented again ends its whole session), races and expiry.
 */
class MatrixRefreshTest {
    private static final String LIST = "/api/v1/user/list";
    private static final AtomicInteger SEQ = new AtomicInteger();

    @Shared
    static TestServer server;

    static Http http;
    static Enrollment owner;

    @BeforeAll
    static void start() {
        http = server.http();
        owner = server.createUser("owner", Role.OWNER);
    }

    private static Enrollment admin() {
        return server.createUser("admin-" + SEQ.incrementAndGet(), Role.ADMIN);
    }

    /** Logs in and moves the clock on a step, so the same user can log in again. */
    private static JsonNode session(Enrollment e) {
        JsonNode t = assertTokens(server.login(e));
        server.clock.advance(Duration.ofSeconds(30));
        return t;
    }

    private static Http.Response refresh(String refreshToken) {
        return http.postJson(REFRESH, json("grant_type", "refresh_token", "refresh_token", refreshToken));
    }

    private static int listWith(String accessToken) {
        return http.get(LIST, Matrix.bearer(accessToken)).status();
    }

    private static String access(JsonNode t) {
        return t.get("access_token").asText();
    }

    private static String refreshOf(JsonNode t) {
        return t.get("refresh_token").asText();
    }

    @Test
    void refresh_returns_a_new_pair_in_the_login_shape() {
        JsonNode first = session(admin());
        Http.Response r = refresh(refreshOf(first));
        JsonNode second = assertTokens(r);
        assertThat(r.header("Cache-Control")).isEqualTo("no-store");
        assertThat(access(second)).isNotEqualTo(access(first));
        assertThat(refreshOf(second)).isNotEqualTo(refreshOf(first));
        assertThat(listWith(access(second))).isEqualTo(200);
    }

    @Test
    void refresh_accepts_a_form_body() {
        JsonNode first = session(admin());
        Http.Response r = http.postForm(REFRESH, "grant_type=refresh_token&refresh_token=" + refreshOf(first));
        assertThat(listWith(access(assertTokens(r)))).isEqualTo(200);
    }

    @Test
    void refresh_without_grant_type_is_accepted() {
        JsonNode first = session(admin());
        assertTokens(http.postJson(REFRESH, json("refresh_token", refreshOf(first))));
    }

    @Test
    void old_access_token_stops_working_after_a_refresh() {
        JsonNode first = session(admin());
        assertThat(listWith(access(first))).isEqualTo(200);
        assertTokens(refresh(refreshOf(first)));
        assertError(http.get(LIST, Matrix.bearer(access(first))), 401, 908);
    }

    @Test
    void refresh_can_be_repeated_along_the_chain() {
        JsonNode t = session(admin());
        for (int i = 0; i < 5; i++) {
            server.clock.advance(Duration.ofMinutes(30));
            t = assertTokens(refresh(refreshOf(t)));
        }
        assertThat(listWith(access(t))).isEqualTo(200);
    }

    @Test
    void reused_refresh_token_is_refused_and_ends_the_whole_session() {
        JsonNode first = session(admin());
        JsonNode second = assertTokens(refresh(refreshOf(first)));
        assertThat(listWith(access(second))).isEqualTo(200);

        assertError(refresh(refreshOf(first)), 401, 910);

        // the thief's replay ended the session: the pair from the honest rotation is dead too
        assertError(http.get(LIST, Matrix.bearer(access(second))), 401, 908);
        assertError(refresh(refreshOf(second)), 401, 910);
    }

    @Test
    void reuse_ends_only_the_session_it_belongs_to() {
        Enrollment a = admin();
        JsonNode stolen = session(a);
        JsonNode other = session(a);
        assertTokens(refresh(refreshOf(stolen)));
        assertError(refresh(refreshOf(stolen)), 401, 910);
        assertThat(listWith(access(other))).isEqualTo(200);
        assertTokens(refresh(refreshOf(other)));
    }

    @Test
    void parallel_refreshes_with_one_token_give_at_most_one_pair() throws Exception {
        JsonNode t = session(admin());
        String body = json("grant_type", "refresh_token", "refresh_token", refreshOf(t));
        int threads = 8;
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Http.Response>> futures = new ArrayList<>();
        List<Http.Response> responses = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            for (int i = 0; i < threads; i++) {
                futures.add(pool.submit(() -> {
                    go.await();
                    return http.postJson(REFRESH, body);
                }));
            }
            go.countDown();
            for (Future<Http.Response> f : futures) {
                responses.add(f.get());
            }
        }
        assertThat(responses)
                .allSatisfy(r -> assertThat(r.status()).as(r.body()).isIn(200, 401));
        assertThat(responses).filteredOn(r -> r.status() == 200).hasSizeLessThanOrEqualTo(1);
        assertThat(responses)
                .filteredOn(r -> r.status() == 401)
                .allSatisfy(r -> assertThat(r.json().get("errorId").asInt()).isEqualTo(910));
        // the old refresh token is spent whatever happened
        assertError(refresh(refreshOf(t)), 401, 910);
    }

    @Test
    void refresh_still_works_after_the_access_token_expired() {
        JsonNode t = session(admin());
        server.clock.advance(Duration.ofDays(29));
        assertError(http.get(LIST, Matrix.bearer(access(t))), 401, 909);
        JsonNode next = assertTokens(refresh(refreshOf(t)));
        assertThat(listWith(access(next))).isEqualTo(200);
    }

    @Test
    void refresh_token_expires_after_thirty_days() {
        JsonNode t = session(admin());
        server.clock.advance(Duration.ofDays(30).plusSeconds(1));
        assertError(refresh(refreshOf(t)), 401, 910);
        // and an expired refresh token stays refused
        assertError(refresh(refreshOf(t)), 401, 910);
    }

    @Test
    void rotation_gives_the_new_refresh_token_thirty_days_of_its_own() {
        JsonNode t = session(admin());
        server.clock.advance(Duration.ofDays(20));
        JsonNode next = assertTokens(refresh(refreshOf(t)));
        server.clock.advance(Duration.ofDays(20));
        assertTokens(refresh(refreshOf(next)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"password", "authorization_code", "client_credentials", "REFRESH_TOKEN", "refresh_token "})
    void wrong_grant_type_is_refused_with_400_and_spends_nothing(String grant) {
        JsonNode t = session(admin());
        Http.Response r = http.postJson(REFRESH, json("grant_type", grant, "refresh_token", refreshOf(t)));
        assertError(r, 400, 400);
        assertThat(r.json().get("error").asText()).contains("grant_type");
        assertTokens(refresh(refreshOf(t)));
    }

    @Test
    void missing_or_unknown_refresh_token_is_refused_with_910() {
        assertError(http.postJson(REFRESH, json("grant_type", "refresh_token")), 401, 910);
        assertError(http.postJson(REFRESH, json("grant_type", "refresh_token", "refresh_token", "")), 401, 910);
        assertError(http.postJson(REFRESH, "{}"), 401, 910);
        assertError(http.send("POST", REFRESH, null, null), 401, 910);
        assertError(refresh("0".repeat(64)), 401, 910);
        assertError(refresh("z".repeat(50_000)), 401, 910);
        assertError(refresh("a\u0000b"), 401, 910);
    }

    @Test
    void access_token_is_not_a_refresh_token() {
        JsonNode t = session(admin());
        assertError(refresh(access(t)), 401, 910);
        // and the session is unharmed
        assertThat(listWith(access(t))).isEqualTo(200);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "{\"grant_type\":\"refresh_token\",\"refresh_token\":[\"x\"]}",
                "{\"grant_type\":\"refresh_token\",\"refresh_token\":{\"$ne\":null}}",
                "{\"grant_type\":\"refresh_token\",\"refresh_token\":12345}",
                "{\"grant_type\":[\"refresh_token\"],\"refresh_token\":\"x\"}",
                "{\"grant_type\":\"refresh_token\",",
                "[]"
            })
    void bad_refresh_bodies_are_refused_with_400(String body) {
        assertError(http.postJson(REFRESH, body), 400, 400);
    }

    @Test
    void refresh_token_of_a_deleted_user_is_refused() {
        Enrollment victim = server.createUser("doomed-" + SEQ.incrementAndGet(), Role.VIEWER);
        JsonNode t = session(victim);
        Http.Response deleted = http.delete(
                "/api/v1/user/delete/" + victim.user().username(), Matrix.bearer(server.accessToken(owner)));
        assertThat(deleted.status()).as(deleted.body()).isEqualTo(200);
        assertError(refresh(refreshOf(t)), 401, 910);
    }
}
