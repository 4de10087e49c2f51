package dev.pier.matrix;

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
import java.util.concurrent.atomic.AtomicInteger;

import static dev.pier.support.Matrix.assertError;
import static dev.pier.support.Matrix.assertTokens;
import static dev.pier.support.Matrix.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * How a Matrix client presents its access token (SPEC §2 "Credentials everywhere"), and the 401s for a
 * missing, unknown or expired one. {@code GET /api/v1/user/list} (admin) is the probe: 200 proves the
 * token was found and resolved to its user.
 */
class MatrixCredentialsTest {
    private static final String LIST = "/api/v1/user/list";
    private static final AtomicInteger SEQ = new AtomicInteger();

    @Shared
    static TestServer server;

    static Http http;

    @BeforeAll
    static void start() {
        http = server.http();
    }

    private static Enrollment admin() {
        return server.createUser("admin-" + SEQ.incrementAndGet(), Role.ADMIN);
    }

    private static String token() {
        return server.accessToken(admin());
    }

    @Test
    void bearer_header_carries_the_access_token() {
        Http.Response r = http.get(LIST, "Authorization", "Bearer " + token());
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.json().isArray()).isTrue();
    }

    @Test
    void matrix_documents_bearer_colon_form_is_accepted() {
        assertThat(http.get(LIST, "Authorization", "Bearer: " + token()).status())
                .isEqualTo(200);
        assertThat(http.get(LIST, "Authorization", "Bearer:" + token()).status())
                .isEqualTo(200);
    }

    @Test
    void bearer_scheme_is_matched_without_regard_to_case() {
        assertThat(http.get(LIST, "Authorization", "bearer " + token()).status())
                .isEqualTo(200);
        assertThat(http.get(LIST, "Authorization", "BEARER " + token()).status())
                .isEqualTo(200);
    }

    @Test
    void access_token_in_a_json_body_is_accepted() {
        String t = token();
        Http.Response list = http.send("GET", LIST, "application/json", json("access_token", t));
        assertThat(list.status()).as(list.body()).isEqualTo(200);
        String name = "json-body-" + SEQ.incrementAndGet();
        Http.Response add =
                http.postJson("/api/v1/user/add", json("access_token", t, "username", name, "group", "viewer"));
        assertThat(add.status()).as(add.body()).isEqualTo(200);
        assertThat(add.body()).contains(name);
    }

    @Test
    void access_token_in_a_form_body_is_accepted() {
        String t = token();
        Http.Response list = http.send("GET", LIST, "application/x-www-form-urlencoded", "access_token=" + t);
        assertThat(list.status()).as(list.body()).isEqualTo(200);
        String name = "form-body-" + SEQ.incrementAndGet();
        Http.Response add =
                http.postForm("/api/v1/user/add", "access_token=" + t + "&username=" + name + "&group=viewer");
        assertThat(add.status()).as(add.body()).isEqualTo(200);
        assertThat(add.body()).contains(name);
    }

    @Test
    void unknown_token_is_refused_with_908() {
        assertError(http.get(LIST, Matrix.bearer("0".repeat(64))), 401, 908);
        assertError(http.get(LIST, Matrix.bearer("not-a-token")), 401, 908);
        assertError(http.get(LIST, Matrix.bearer(token() + "0")), 401, 908);
        assertError(http.get(LIST, Matrix.bearer("x".repeat(4_000))), 401, 908);
        assertError(http.send("GET", LIST, "application/json", json("access_token", "0".repeat(64))), 401, 908);
    }

    @Test
    void oversize_authorization_header_is_refused_with_431_not_500() {
        // Jetty refuses headers over 8 KiB before Pier sees the request (its body is not the Matrix shape)
        Http.Response r = http.get(LIST, Matrix.bearer("x".repeat(20_000)));
        assertThat(r.status()).isEqualTo(431);
    }

    @Test
    void refresh_token_is_not_an_access_token() {
        Enrollment a = admin();
        String refresh = assertTokens(server.login(a)).get("refresh_token").asText();
        assertError(http.get(LIST, Matrix.bearer(refresh)), 401, 908);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "Bearer", "Bearer ", "Bearer:", "Basic dXNlcjpwYXNz", "Token", "Digest x=1"})
    void missing_credential_is_refused_with_904(String authorization) {
        Http.Response r = authorization.isEmpty() ? http.get(LIST) : http.get(LIST, "Authorization", authorization);
        assertError(r, 401, 904);
    }

    @Test
    void empty_body_token_counts_as_missing() {
        assertError(http.send("GET", LIST, "application/json", json("access_token", "")), 401, 904);
        assertError(http.send("GET", LIST, "application/json", "{}"), 401, 904);
    }

    @Test
    void token_in_the_query_string_is_not_read() {
        // a URL ends up in logs and browser history: the documented forms are header and body only
        assertError(http.get(LIST + "?access_token=" + token()), 401, 904);
    }

    @Test
    void access_token_of_the_wrong_type_in_the_body_is_refused_without_500() {
        Http.Response r = http.send("GET", LIST, "application/json", "{\"access_token\":{\"$ne\":null}}");
        assertThat(r.status()).as(r.body()).isIn(400, 401);
        assertThat(r.json().get("errorId").asInt()).isIn(400, 904);
    }

    @Test
    void malformed_json_body_on_an_authenticated_route_is_refused_with_400() {
        Http.Response r = http.send("GET", LIST, "application/json", "{\"access_token\":");
        assertError(r, 400, 400);
    }

    /** One credential per request: a header token and a different body token is refused, never "first one wins". */
    @Test
    void a_header_token_and_a_different_body_token_are_refused() {
        String t = token();
        Http.Response r = http.send(
                "GET", LIST, "application/json", json("access_token", "bogus"), "Authorization", "Bearer " + t);
        assertError(r, 400, 400);
        assertThat(r.json().get("error").asText()).contains("more than one credential");
        // the same token in both places is one credential
        assertThat(http.send("GET", LIST, "application/json", json("access_token", t), "Authorization", "Bearer " + t)
                        .status())
                .isEqualTo(200);
    }

    @Test
    void access_token_expires_after_7200_seconds() {
        Enrollment a = admin();
        String used = assertTokens(server.login(a)).get("access_token").asText();
        server.clock.advance(Duration.ofSeconds(30));
        String unused = assertTokens(server.login(a)).get("access_token").asText();
        assertThat(http.get(LIST, Matrix.bearer(used)).status()).isEqualTo(200);
        server.clock.advance(Duration.ofSeconds(7200 - 30 - 1));
        // one second left for the first token
        assertThat(http.get(LIST, Matrix.bearer(used)).status()).isEqualTo(200);
        server.clock.advance(Duration.ofSeconds(1));
        // expired: whether it was served from memory a moment ago or never looked up yet
        assertError(http.get(LIST, Matrix.bearer(used)), 401, 909);
        assertThat(http.get(LIST, Matrix.bearer(unused)).status()).isEqualTo(200);
        server.clock.advance(Duration.ofSeconds(30));
        assertError(http.get(LIST, Matrix.bearer(unused)), 401, 909);
        assertError(http.send("GET", LIST, "application/json", json("access_token", unused)), 401, 909);
    }

    @Test
    void expired_token_that_was_never_used_is_refused_with_909() {
        Enrollment a = admin();
        String t = assertTokens(server.login(a)).get("access_token").asText();
        server.clock.advance(Duration.ofSeconds(7201));
        assertError(http.get(LIST, Matrix.bearer(t)), 401, 909);
    }

    @Test
    void a_user_holds_many_sessions_at_once() {
        Enrollment a = admin();
        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            tokens.add(server.accessToken(a));
        }
        assertThat(tokens).doesNotHaveDuplicates();
        for (String t : tokens) {
            assertThat(http.get(LIST, Matrix.bearer(t)).status()).isEqualTo(200);
        }
        Integer sessions = server.core()
                .db
                .jdbi()
                .withHandle(h -> h.createQuery("SELECT COUNT(*) FROM sessions WHERE user_id = :id")
                        .bind("id", a.user().id())
                        .mapTo(Integer.class)
                        .one());
        assertThat(sessions).isEqualTo(5);
    }

    @Test
    void one_token_serves_many_parallel_requests() throws Exception {
        String t = token();
        List<Thread> threads = new ArrayList<>();
        List<Integer> statuses = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < 16; i++) {
            threads.add(Thread.ofVirtual()
                    .start(() -> statuses.add(http.get(LIST, Matrix.bearer(t)).status())));
        }
        for (Thread th : threads) {
            th.join();
        }
        assertThat(statuses).hasSize(16).containsOnly(200);
    }
}
