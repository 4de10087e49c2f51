package dev.pier.keys;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.security.AccessLevel;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import dev.pier.support.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * SPEC §6 across the three key families: bodies that are malformed, oddly encoded, mislabelled or too
 * large get a 4xx in the family's own error shape, never a 500, and change nothing.
 */
class KeyRoutesBadInputTest {
    @Shared
    static TestServer server;

    static KeyFixtures.Holder admin;

    @BeforeAll
    static void start() {
        admin = KeyFixtures.holder(server, "bad", Role.ADMIN, AccessLevel.FULL);
    }

    enum Shape {
        PLAIN,
        USER_KEYS
    }

    static Stream<Arguments> routes() {
        return Stream.of(
                Arguments.of("POST", "/api/v1/api_tokens", Shape.PLAIN),
                Arguments.of("PATCH", "/api/v1/api_tokens/{key}", Shape.PLAIN),
                Arguments.of("POST", "/api/user/create_apikey", Shape.USER_KEYS),
                Arguments.of("POST", "/api/v2.1.0/user/delete_apikey", Shape.USER_KEYS),
                Arguments.of("POST", "/api/getUser", Shape.PLAIN),
                Arguments.of("POST", "/api/auth/create-user", Shape.PLAIN));
    }

    private static HttpRequest.Builder request(
            String method, String path, String contentType, HttpRequest.BodyPublisher body) {
        return HttpRequest.newBuilder(URI.create(server.http().base()
                        + path.replace("{key}", admin.keyId().toString())))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", contentType)
                .header("x-api-key", admin.key())
                .method(method, body);
    }

    private static void assertRefused(Http.Response r, Shape shape, int... statuses) {
        assertThat(r.status()).as(r.body()).isBetween(400, 499);
        if (statuses.length > 0) {
            assertThat(r.status())
                    .as(r.body())
                    .isIn(java.util.Arrays.stream(statuses).boxed().toList());
        }
        JsonNode b = r.json();
        if (shape == Shape.PLAIN) {
            assertThat(b.size()).as(r.body()).isEqualTo(1);
            assertThat(b.path("error").asText()).as(r.body()).isNotBlank();
        } else {
            assertThat(b.path("status").asText()).as(r.body()).isEqualTo("error");
            assertThat(b.path("error_id").asText()).as(r.body()).isNotBlank();
        }
    }

    private static List<Object> state() {
        List<Object> s = new ArrayList<>();
        s.add(KeyFixtures.rows(server, "SELECT id, description, enabled, expires_at FROM api_keys ORDER BY id"));
        s.add(KeyFixtures.rows(server, "SELECT id, username, role FROM users ORDER BY id"));
        return s;
    }

    @ParameterizedTest
    @MethodSource("routes")
    void malformed_json_is_400_in_the_familys_shape(String method, String path, Shape shape) {
        List<Object> before = state();
        for (String body : new String[] {
            "{",
            "}",
            "{\"a\":}",
            "[1,2,3]",
            "\"text\"",
            "true",
            "{\"a\":1}{\"b\":2}",
            "{\"a\":\"\\uZZZZ\"}",
            "{\"a\":01}",
            "{\"a\":NaN}",
            "[".repeat(10_000),
            "{\"a\":".repeat(2000)
        }) {
            Http.Response r = server.http()
                    .send(request(method, path, "application/json", HttpRequest.BodyPublishers.ofString(body))
                            .build());
            assertRefused(r, shape, 400);
        }
        assertThat(state()).isEqualTo(before);
    }

    @ParameterizedTest
    @MethodSource("routes")
    void invalid_utf8_is_refused(String method, String path, Shape shape) {
        List<Object> before = state();
        byte[] body = {
            '{',
            '"',
            'd',
            'e',
            's',
            'c',
            'r',
            'i',
            'p',
            't',
            'i',
            'o',
            'n',
            '"',
            ':',
            '"',
            (byte) 0xC3,
            (byte) 0x28,
            (byte) 0xFF,
            '"',
            '}'
        };
        Http.Response r = server.http()
                .send(request(method, path, "application/json", HttpRequest.BodyPublishers.ofByteArray(body))
                        .build());
        assertRefused(r, shape, 400);
        assertThat(state()).isEqualTo(before);
    }

    @ParameterizedTest
    @MethodSource("routes")
    void a_body_over_one_mebibyte_is_413(String method, String path, Shape shape) {
        List<Object> before = state();
        Http.Response r = server.http()
                .send(request(
                                method,
                                path,
                                "application/json",
                                HttpRequest.BodyPublishers.ofString(KeyFixtures.bigJson(KeyFixtures.MIB + 1)))
                        .build());
        assertRefused(r, shape, 413);
        Http.Response form = server.http()
                .send(request(
                                method,
                                path,
                                "application/x-www-form-urlencoded",
                                HttpRequest.BodyPublishers.ofString("description=" + "x".repeat(KeyFixtures.MIB)))
                        .build());
        assertRefused(form, shape, 413);
        assertThat(state()).isEqualTo(before);
    }

    @ParameterizedTest
    @MethodSource("routes")
    void a_chunked_body_over_one_mebibyte_is_413(String method, String path, Shape shape) {
        List<Object> before = state();
        byte[] big = KeyFixtures.bigJson(2 * KeyFixtures.MIB).getBytes(StandardCharsets.UTF_8);
        // no Content-Length: the size is only known by reading
        Http.Response r = server.http()
                .send(request(
                                method,
                                path,
                                "application/json",
                                HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big)))
                        .build());
        assertRefused(r, shape, 413);
        assertThat(state()).isEqualTo(before);
    }

    @ParameterizedTest
    @MethodSource("routes")
    void a_broken_form_encoding_is_not_a_500(String method, String path, Shape shape) {
        // a lenient decoder may accept some of these (creating a token); it must not fail with a 500
        for (String body :
                new String[] {"description=%zz", "description=%", "%%%=%%%", "description=%E9", "a=b&&&=&="}) {
            Http.Response r = server.http()
                    .send(request(
                                    method,
                                    path,
                                    "application/x-www-form-urlencoded",
                                    HttpRequest.BodyPublishers.ofString(body))
                            .build());
            assertThat(r.status()).as("%s -> %s", body, r.body()).isLessThan(500);
            if (r.status() >= 400) {
                assertRefused(r, shape);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("routes")
    void a_broken_multipart_body_is_refused(String method, String path, Shape shape) {
        List<Object> before = state();
        String[][] cases = {
            {"multipart/form-data; boundary=abc", "--abc\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nno end"},
            {"multipart/form-data; boundary=abc", "not multipart at all"},
            {"multipart/form-data", "--abc\r\n\r\n--abc--\r\n"},
            {"multipart/form-data; boundary=", ""},
        };
        for (String[] c : cases) {
            Http.Response r = server.http()
                    .send(request(method, path, c[0], HttpRequest.BodyPublishers.ofString(c[1]))
                            .build());
            // the JSON families refuse any form body for its type alone (415); the User API keys family reads it
            if (shape == Shape.PLAIN) {
                assertRefused(r, shape, 400, 415);
            } else {
                assertRefused(r, shape, 400);
            }
        }
        assertThat(state()).isEqualTo(before);
    }

    /** Strings a database may choke on: NUL (PostgreSQL refuses it in text), lone surrogates, huge ones. */
    static final String[] HOSTILE = {
        "a\u0000b",
        "\u0000",
        "\uD800",
        "x".repeat(100_000),
        "' OR '1'='1",
        "\u202Eevil",
        "name\r\nInjected: yes",
        "%00",
        "../../etc/passwd"
    };

    static Stream<Arguments> stringFields() {
        return Stream.of(
                Arguments.of("/api/getUser", "value", new Object[] {"type", "username"}, Shape.PLAIN),
                Arguments.of("/api/getUser", "value", new Object[] {"type", "email"}, Shape.PLAIN),
                Arguments.of("/api/getUser", "type", new Object[] {"value", "x"}, Shape.PLAIN),
                Arguments.of(
                        "/api/auth/create-user",
                        "username",
                        new Object[] {"email", "h@example.com", "password", "correct horse battery"},
                        Shape.PLAIN),
                Arguments.of(
                        "/api/auth/create-user",
                        "email",
                        new Object[] {"username", "hostile", "password", "correct horse battery"},
                        Shape.PLAIN),
                Arguments.of(
                        "/api/auth/create-user",
                        "userId",
                        new Object[] {
                            "username", "hostile", "email", "h@example.com", "password", "correct horse battery"
                        },
                        Shape.PLAIN),
                Arguments.of("/api/v1/api_tokens", "description", new Object[] {}, Shape.PLAIN),
                Arguments.of("/api/v1/api_tokens", "expires", new Object[] {}, Shape.PLAIN),
                Arguments.of("/api/v1/api_tokens", "access_level", new Object[] {}, Shape.PLAIN),
                Arguments.of(
                        "/api/user/create_apikey", "comment", new Object[] {"access_level", "full"}, Shape.USER_KEYS),
                Arguments.of("/api/user/create_apikey", "access_level", new Object[] {}, Shape.USER_KEYS),
                Arguments.of("/api/user/delete_apikey", "delete_key", new Object[] {}, Shape.USER_KEYS));
    }

    @ParameterizedTest
    @MethodSource("stringFields")
    void hostile_strings_in_any_field_are_never_a_500(String path, String field, Object[] others, Shape shape) {
        for (String hostile : HOSTILE) {
            Object[] pairs = java.util.Arrays.copyOf(others, others.length + 2);
            pairs[others.length] = field;
            pairs[others.length + 1] = hostile;
            Http.Response r = server.http()
                    .send(request(
                                    "POST",
                                    path,
                                    "application/json",
                                    HttpRequest.BodyPublishers.ofString(KeyFixtures.json(pairs)))
                            .build());
            assertThat(r.status())
                    .as("%s=%s -> %s", field, hostile.length() > 40 ? "long" : hostile, r.body())
                    .isLessThan(500);
            if (r.status() >= 400) {
                assertRefused(r, shape);
            }
        }
        // a NUL in a description or comment is refused, not stored
        assertThat(KeyFixtures.rows(server, "SELECT description FROM api_keys").toString())
                .doesNotContain("\u0000");
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"username", "password"})
    void hostile_strings_as_username_or_password_are_a_failed_login_never_a_500(String field) {
        for (String hostile : HOSTILE) {
            String body = field.equals("username")
                    ? KeyFixtures.json("username", hostile, "password", "correct horse battery", "access_level", "full")
                    : KeyFixtures.json("username", fresh(), "password", hostile, "access_level", "full");
            Http.Response r = server.http().postJson("/api/user/create_apikey", body);
            assertThat(r.status())
                    .as("%s -> %s", hostile.length() > 40 ? "long" : hostile, r.body())
                    .isIn(400, 401);
            assertRefused(r, Shape.USER_KEYS);
        }
        if (field.equals("username")) {
            // the failed checks were counted and audited, under a printable stand-in for the name
            assertThat(KeyFixtures.rows(server, "SELECT target FROM audit_log WHERE action = 'auth.password'")
                            .toString())
                    .contains("a\uFFFDb")
                    .doesNotContain("\u0000");
        }
    }

    /** A user with a password, so a wrong one is a plain failed login (one per attempt: no lockout). */
    private static String fresh() {
        String name =
                server.createUser(KeyFixtures.name("pw"), Role.VIEWER).user().username();
        server.core()
                .users
                .setPasswordHash(
                        dev.pier.security.Principal.system(),
                        name,
                        server.core().passwords.hash("the right password, surely"));
        return name;
    }

    @ParameterizedTest
    @MethodSource("routes")
    void an_unexpected_content_type_is_not_a_500(String method, String path, Shape shape) {
        List<Object> before = state();
        for (String type : new String[] {"text/plain", "application/xml", "application/octet-stream", "garbage"}) {
            Http.Response r = server.http()
                    .send(request(
                                    method,
                                    path,
                                    type,
                                    HttpRequest.BodyPublishers.ofString("<description>x</description>"))
                            .build());
            assertThat(r.status()).as("%s -> %s", type, r.body()).isLessThan(500);
            if (r.status() >= 400) {
                assertRefused(r, shape);
            }
        }
        assertThat(state()).isEqualTo(before);
    }
}
