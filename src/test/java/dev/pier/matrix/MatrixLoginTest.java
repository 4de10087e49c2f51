package dev.pier.matrix;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.config.Config;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Matrix;
import dev.pier.support.Shared;
import dev.pier.support.TestServer;
import dev.pier.users.Enrollment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

import static dev.pier.support.Matrix.AUTH;
import static dev.pier.support.Matrix.assertError;
import static dev.pier.support.Matrix.assertTokens;
import static dev.pier.support.Matrix.json;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code POST /api/v1/user/auth}: the TOTP login of the Matrix API, its answers and its bad input. */
class MatrixLoginTest {
    private static final AtomicInteger SEQ = new AtomicInteger();

    @Shared
    static TestServer server;

    static Http http;

    @BeforeAll
    static void start() {
        http = server.http();
    }

    /**
     * Every request of this class comes from 127.0.0.1 and many of them fail on purpose; the per-address
     * bucket (tested in {@link MatrixLockoutTest}) would otherwise lock the address part-way through.
     */
    @BeforeEach
    void forgetAddressFailures() {
        server.core().db.jdbi().useHandle(h -> h.execute("DELETE FROM login_failures WHERE kind = 'addr'"));
    }

    private static Enrollment newUser(String prefix) {
        return server.createUser(prefix + "-" + SEQ.incrementAndGet(), Role.VIEWER);
    }

    private static String name(Enrollment e) {
        return e.user().username();
    }

    private static List<Map<String, Object>> usersTable() {
        return server.core()
                .db
                .jdbi()
                .withHandle(h -> h.createQuery("SELECT * FROM users ORDER BY id")
                        .mapToMap()
                        .list());
    }

    @Test
    void json_login_returns_bearer_tokens_in_the_documented_shape() {
        Enrollment e = newUser("json");
        Http.Response r = http.postJson(AUTH, json("username", name(e), "code", server.code(e)));
        JsonNode tokens = assertTokens(r);
        assertThat(r.header("Content-Type")).startsWith("application/json");
        assertThat(r.header("Cache-Control")).isEqualTo("no-store");
        Http.Response list = http.get(
                "/api/v1/user/auth/setup/nobody",
                Matrix.bearer(tokens.get("access_token").asText()));
        // the token is a real credential: a viewer is refused (403), not unauthenticated (401)
        assertError(list, 403, 912);
    }

    @Test
    void form_login_returns_the_same_shape() {
        Enrollment e = newUser("form");
        Http.Response r = http.postForm(AUTH, "username=" + name(e) + "&code=" + server.code(e));
        assertTokens(r);
    }

    @Test
    void multipart_form_login_works_too() {
        Enrollment e = newUser("multipart");
        String boundary = "pier-test-boundary";
        String body = "--" + boundary + "\r\n"
                + "Content-Disposition: form-data; name=\"username\"\r\n\r\n" + name(e) + "\r\n"
                + "--" + boundary + "\r\n"
                + "Content-Disposition: form-data; name=\"code\"\r\n\r\n" + server.code(e) + "\r\n"
                + "--" + boundary + "--\r\n";
        assertTokens(http.send("POST", AUTH, "multipart/form-data; boundary=" + boundary, body));
    }

    /** CRLF in a multipart body is written {@code ~} here, to keep each case on one line. */
    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "multipart/form-data; boundary=abc | --abc~Content-Disposition: form-data; name=\"code\"~~no end",
                "multipart/form-data; boundary=abc | not multipart at all",
                "multipart/form-data | --abc~~--abc--~",
                "multipart/form-data; boundary= | ''",
                "application/x-www-form-urlencoded | username=%zz&code=123456",
                "application/x-www-form-urlencoded | username=a&code=%E9",
                "application/x-www-form-urlencoded | %%%=%%%"
            })
    void broken_form_bodies_are_refused_with_400_in_the_matrix_shape(String contentType, String body) {
        String raw = body.replace("~", "\r\n");
        Http.Response r = http.send("POST", AUTH, contentType, raw);
        assertThat(r.status()).as("%s -> %s", raw, r.body()).isEqualTo(400);
        assertThat(r.json().get("errorId").asInt()).isIn(400, 901, 902);
        assertThat(r.json().size()).isEqualTo(2);
    }

    @Test
    void username_is_matched_without_regard_to_case() {
        Enrollment e = newUser("MixedCase");
        assertTokens(Matrix.login(http, name(e).toLowerCase(), server.code(e)));
    }

    @Test
    void each_login_issues_different_tokens() {
        Enrollment e = newUser("fresh");
        JsonNode first = assertTokens(Matrix.login(http, name(e), server.code(e)));
        server.clock.advance(Duration.ofSeconds(30));
        JsonNode second = assertTokens(Matrix.login(http, name(e), server.code(e)));
        assertThat(second.get("access_token").asText())
                .isNotEqualTo(first.get("access_token").asText());
        assertThat(second.get("refresh_token").asText())
                .isNotEqualTo(first.get("refresh_token").asText());
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "{}",
                "{\"username\":\"someone\"}",
                "{\"code\":\"123456\"}",
                "{\"username\":\"\",\"code\":\"123456\"}",
                "{\"username\":\"someone\",\"code\":\"\"}",
                "{\"username\":\"   \",\"code\":\"123456\"}",
                "{\"username\":null,\"code\":\"123456\"}",
                "{\"username\":\"someone\",\"code\":null}"
            })
    void missing_username_or_code_is_refused_with_901(String body) {
        assertError(http.postJson(AUTH, body), 400, 901);
    }

    @Test
    void missing_fields_in_a_form_or_no_body_at_all_are_refused_with_901() {
        assertError(http.postForm(AUTH, "username=someone"), 400, 901);
        assertError(http.postForm(AUTH, "code=123456"), 400, 901);
        assertError(http.postForm(AUTH, ""), 400, 901);
        assertError(http.send("POST", AUTH, null, null), 400, 901);
        assertError(http.send("POST", AUTH, "application/json", null), 400, 901);
    }

    @Test
    void wrong_code_and_unknown_user_get_the_same_answer() {
        Enrollment e = newUser("wrong");
        String good = server.code(e);
        String bad = good.equals("000000") ? "000001" : "000000";
        Http.Response wrongCode = Matrix.login(http, name(e), bad);
        Http.Response unknownUser = Matrix.login(http, "no-such-user-" + SEQ.incrementAndGet(), good);
        assertError(wrongCode, 400, 902);
        assertError(unknownUser, 400, 902);
        assertThat(unknownUser.body()).isEqualTo(wrongCode.body());
        assertThat(unknownUser.header("Content-Type")).isEqualTo(wrongCode.header("Content-Type"));
        // the refusal did not use up the right code
        assertTokens(Matrix.login(http, name(e), good));
    }

    @Test
    void used_code_is_refused_the_second_time() {
        Enrollment e = newUser("replay");
        String code = server.code(e);
        assertTokens(Matrix.login(http, name(e), code));
        Http.Response again = Matrix.login(http, name(e), code);
        assertError(again, 400, 902);
        assertThat(again.body()).doesNotContain("used");
    }

    @Test
    void a_code_older_than_one_already_used_is_refused() {
        Enrollment e = newUser("older");
        String previous = server.code(e, -1);
        assertTokens(Matrix.login(http, name(e), server.code(e)));
        // still inside the ±1 window, but the later step was already spent
        assertError(Matrix.login(http, name(e), previous), 400, 902);
    }

    @Test
    void used_code_stays_refused_as_a_form() {
        Enrollment e = newUser("replayform");
        String code = server.code(e);
        assertTokens(http.postForm(AUTH, "username=" + name(e) + "&code=" + code));
        assertError(http.postForm(AUTH, "username=" + name(e) + "&code=" + code), 400, 902);
    }

    @Test
    void parallel_logins_with_one_code_let_exactly_one_through() throws Exception {
        Enrollment e = newUser("race");
        String body = json("username", name(e), "code", server.code(e));
        int threads = 8;
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Http.Response>> results = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            for (int i = 0; i < threads; i++) {
                results.add(pool.submit(() -> {
                    go.await();
                    return http.postJson(AUTH, body);
                }));
            }
            go.countDown();
            List<Http.Response> responses = new ArrayList<>();
            for (Future<Http.Response> f : results) {
                responses.add(f.get());
            }
            assertThat(responses).filteredOn(r -> r.status() == 200).hasSize(1);
            // the losers are refused: as a used code, or as a name locked by the failures the race caused
            assertThat(responses)
                    .filteredOn(r -> r.status() != 200)
                    .allSatisfy(r -> assertThat(r.status()).as(r.body()).isIn(400, 429))
                    .allSatisfy(r -> assertThat(r.json().get("errorId").asInt()).isIn(902, 429));
        }
    }

    @Test
    void code_from_one_step_either_side_is_accepted() {
        Enrollment past = newUser("drift-past");
        Enrollment future = newUser("drift-future");
        assertTokens(Matrix.login(http, name(past), server.code(past, -1)));
        assertTokens(Matrix.login(http, name(future), server.code(future, +1)));
    }

    @Test
    void code_shown_thirty_seconds_ago_still_works() {
        Enrollment e = newUser("late");
        String code = server.code(e);
        server.clock.advance(Duration.ofSeconds(30));
        assertTokens(Matrix.login(http, name(e), code));
    }

    @Test
    void code_two_steps_either_side_is_refused() {
        Enrollment e = newUser("drift2");
        assertError(Matrix.login(http, name(e), server.code(e, +2)), 400, 902);
        assertError(Matrix.login(http, name(e), server.code(e, -2)), 400, 902);
        String shown = server.code(e);
        server.clock.advance(Duration.ofSeconds(60));
        assertError(Matrix.login(http, name(e), shown), 400, 902);
        // neither refusal spent the current step
        assertTokens(Matrix.login(http, name(e), server.code(e)));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "{\"username\":\"%s\",\"code\":[\"123456\"]}",
                "{\"username\":\"%s\",\"code\":{\"$gt\":\"\"}}",
                "{\"username\":[\"%s\"],\"code\":\"123456\"}",
                "{\"username\":{\"$ne\":null},\"code\":\"123456\"}",
                "{\"username\":\"%s\",\"code\":[]}",
                "{\"username\":\"%s\",\"code\":{}}",
                "{\"username\":\"%s\",\"code\":1e400}",
                "{\"username\":\"%s\",\"code\":123456789012345678901234567890}",
                "{\"username\":\"%s\",\"code\":-0.5}"
            })
    void fields_of_the_wrong_type_are_refused_with_400(String template) {
        Enrollment e = newUser("types");
        Http.Response r = http.postJson(AUTH, template.formatted(name(e)));
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        JsonNode body = r.json();
        assertThat(body.get("errorId").asInt()).isIn(400, 901, 902);
        assertThat(body.get("error").asText()).isNotBlank();
        // and the code stays good
        assertTokens(Matrix.login(http, name(e), server.code(e)));
    }

    @Test
    void a_field_of_the_wrong_type_is_named_in_the_error() {
        Http.Response r = http.postJson(AUTH, "{\"username\":\"someone\",\"code\":[\"1\"]}");
        assertThat(assertError(r, 400, 400).get("error").asText()).contains("code");
    }

    @Test
    void numeric_code_is_read_as_its_digits() {
        Enrollment e = newUser("numeric");
        String code = server.code(e);
        while (code.startsWith("0")) {
            // a JSON number has no leading zero: wait for a code that can be written as one
            server.clock.advance(Duration.ofSeconds(30));
            code = server.code(e);
        }
        assertTokens(http.postJson(AUTH, "{\"username\":\"" + name(e) + "\",\"code\":" + code + "}"));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "{",
                "not json at all",
                "{\"username\":\"a\",\"code\":\"1\"",
                "{\"username\":\"a\",\"code\":\"1\"} trailing",
                "[\"username\",\"code\"]",
                "\"username\"",
                "42",
                "{\"username\":\"a\",,\"code\":\"1\"}",
                "{'username':'a','code':'1'}"
            })
    void malformed_json_is_refused_in_the_matrix_shape(String body) {
        assertError(http.postJson(AUTH, body), 400, 400);
    }

    @Test
    void deeply_nested_json_is_refused_with_400() {
        String deep = "{\"username\":\"a\",\"code\":" + "[".repeat(5_000) + "]".repeat(5_000) + "}";
        assertError(http.postJson(AUTH, deep), 400, 400);
    }

    @Test
    void body_over_one_mebibyte_is_refused_with_413() {
        String big = json("username", "someone", "code", "123456", "padding", "x".repeat(1024 * 1024));
        assertError(http.postJson(AUTH, big), 413, 413);
    }

    @Test
    void chunked_body_over_one_mebibyte_is_refused_with_413() {
        byte[] big = json("username", "someone", "code", "123456", "padding", "x".repeat(1024 * 1024 + 10))
                .getBytes(StandardCharsets.UTF_8);
        HttpRequest req = HttpRequest.newBuilder(URI.create(http.base() + AUTH))
                .header("Content-Type", "application/json")
                // no length given: the body is sent chunked and only counted while it is read
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big)))
                .build();
        assertError(http.send(req), 413, 413);
    }

    @Test
    void body_just_under_the_limit_is_read() {
        Enrollment e = newUser("padded");
        String body = json("username", name(e), "code", server.code(e), "padding", "x".repeat(1000 * 1000));
        assertTokens(http.postJson(AUTH, body));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "' OR '1'='1",
                "admin'; DROP TABLE users; --",
                "\" OR \"\"=\"",
                "a\u0000b",
                "line\r\nX-Injected: yes",
                "tab\there",
                "\u202Eevil",
                "ａｄｍｉｎ",
                "../../etc/passwd",
                "%00%0d%0a",
                "${jndi:ldap://x/a}",
                "<script>alert(1)</script>",
                "\uD83D\uDE00",
                "\\",
                "_"
            })
    void hostile_usernames_are_refused_and_change_no_user(String hostile) {
        Enrollment e = newUser("victim");
        List<Map<String, Object>> before = usersTable();
        Http.Response json = Matrix.login(http, hostile, server.code(e));
        assertError(json, 400, 902);
        Http.Response form = http.postForm(
                AUTH, "username=" + URLEncoder.encode(hostile, StandardCharsets.UTF_8) + "&code=" + server.code(e));
        assertError(form, 400, 902);
        assertThat(usersTable()).isEqualTo(before);
        assertTokens(Matrix.login(http, name(e), server.code(e)));
    }

    @Test
    void very_long_username_is_refused_and_changes_no_user() {
        Enrollment e = newUser("long");
        List<Map<String, Object>> before = usersTable();
        assertError(Matrix.login(http, "a".repeat(100_000), "123456"), 400, 902);
        assertError(Matrix.login(http, name(e) + "x".repeat(1_000), server.code(e)), 400, 902);
        assertThat(usersTable()).isEqualTo(before);
        assertTokens(Matrix.login(http, name(e), server.code(e)));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "' OR 1=1 --",
                "12345",
                "1234567",
                "12345\u0000",
                "１２３４５６",
                "-12345",
                "1e5",
                "\u0000\u0000\u0000\u0000\u0000\u0000"
            })
    void hostile_codes_are_refused_and_change_no_user(String hostile) {
        Enrollment e = newUser("code");
        List<Map<String, Object>> before = usersTable();
        assertError(Matrix.login(http, name(e), hostile), 400, 902);
        assertThat(usersTable()).isEqualTo(before);
    }

    @Test
    void very_long_code_is_refused() {
        Enrollment e = newUser("longcode");
        assertError(Matrix.login(http, name(e), server.code(e) + "0".repeat(100_000)), 400, 902);
        assertTokens(Matrix.login(http, name(e), server.code(e)));
    }

    @Test
    void password_is_required_when_the_server_says_so() {
        try (TestServer strict = TestServer.start((UnaryOperator<Config>) c -> c.withRequirePassword(true))) {
            Enrollment e = strict.createUser("pw-user", Role.VIEWER);
            assertError(Matrix.login(strict.http(), "pw-user", strict.code(e)), 400, 901);
            // a user without a password cannot log in at all on such a server
            Http.Response r = strict.http()
                    .postJson(AUTH, json("username", "pw-user", "code", strict.code(e), "password", "guess"));
            assertError(r, 400, 902);
        }
    }
}
