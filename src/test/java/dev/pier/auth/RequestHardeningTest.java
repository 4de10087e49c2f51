package dev.pier.auth;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.keys.KeyFixtures;
import dev.pier.security.AccessLevel;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Matrix;
import dev.pier.support.Shared;
import dev.pier.support.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.URI;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.pier.keys.KeyFixtures.assertPlainError;
import static dev.pier.keys.KeyFixtures.assertUserKeysError;
import static dev.pier.keys.KeyFixtures.form;
import static dev.pier.keys.KeyFixtures.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 7, items 4, 7 and 8, over real HTTP in every family: no method override (a GET or POST never
 * deletes), one credential per request (never "first one wins"), and request bodies read only with the
 * content type their family takes (415 otherwise; duplicate JSON keys are 400).
 */
class RequestHardeningTest {
    private static final AtomicInteger SEQ = new AtomicInteger();

    @Shared
    static TestServer server;

    static Http http;
    static KeyFixtures.Holder owner;

    @BeforeAll
    static void start() {
        http = server.http();
        owner = KeyFixtures.owner(server);
    }

    private static String name(String prefix) {
        return prefix + "-" + SEQ.incrementAndGet();
    }

    private static boolean keyWorks(KeyFixtures.Holder h) {
        return http.get("/api/v1/api_tokens", h.xApiKey()).status() == 200;
    }

    // ---- item 4: no method override

    @ParameterizedTest
    @ValueSource(strings = {"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"})
    void an_override_header_never_turns_a_get_or_post_into_a_delete(String header) {
        KeyFixtures.Holder victim = KeyFixtures.holder(server, "ovr", Role.VIEWER, AccessLevel.FULL);
        String user = server.createUser(name("ovr-user"), Role.VIEWER).user().username();
        String path = "/api/v1/api_tokens/" + victim.keyId();
        for (String method : new String[] {"GET", "POST"}) {
            Http.Response r = http.send(method, path, null, null, "x-api-key", owner.key(), header, "DELETE");
            // GET is the token itself; POST has no route there (the API tokens family: unknown route)
            assertThat(r.status()).as("%s %s: %s", method, header, r.body()).isIn(200, 404, 405);
            Http.Response u = http.send(
                    method, "/api/v1/user/delete/" + user, null, null, "x-api-key", owner.key(), header, "DELETE");
            assertThat(u.status())
                    .as("%s user/delete with %s: %s", method, header, u.body())
                    .isEqualTo(404);
        }
        assertThat(keyWorks(victim)).as("the key was not deleted").isTrue();
        assertThat(server.core().users.find(user))
                .as("the user was not deleted")
                .isPresent();
        // the header is not even seen by the routes: a GET stays a GET
        Http.Response get = http.send("GET", path, null, null, "x-api-key", owner.key(), header, "DELETE");
        assertThat(get.status()).isEqualTo(200);
        assertThat(get.json().get("id").asText()).isEqualTo(victim.keyId().toString());
    }

    @Test
    void a_method_field_or_parameter_is_ignored_too() {
        KeyFixtures.Holder victim = KeyFixtures.holder(server, "ovrf", Role.VIEWER, AccessLevel.FULL);
        String path = "/api/v1/api_tokens/" + victim.keyId();
        assertThat(http.send(
                                "POST",
                                path + "?_method=DELETE",
                                "application/json",
                                json("_method", "DELETE"),
                                "x-api-key",
                                owner.key())
                        .status())
                .isIn(404, 405);
        assertThat(http.send("GET", path + "?_method=DELETE", null, null, "x-api-key", owner.key())
                        .status())
                .isEqualTo(200);
        // the User API keys family reads forms: a _method field there changes nothing either
        assertThat(http.postForm("/api/user/apikeys", form("apikey", victim.key(), "_method", "DELETE"))
                        .status())
                .isEqualTo(200);
        assertThat(keyWorks(victim)).isTrue();
    }

    @Test
    void a_real_delete_still_deletes() {
        KeyFixtures.Holder victim = KeyFixtures.holder(server, "realdel", Role.VIEWER, AccessLevel.FULL);
        assertThat(http.delete("/api/v1/api_tokens/" + victim.keyId(), owner.xApiKey())
                        .status())
                .isEqualTo(200);
        assertThat(keyWorks(victim)).isFalse();
    }

    // ---- item 7: one credential per request

    @Test
    void two_authorization_headers_are_refused_even_when_both_are_good() {
        KeyFixtures.Holder a = KeyFixtures.holder(server, "two", Role.ADMIN, AccessLevel.FULL);
        HttpRequest twice = HttpRequest.newBuilder(URI.create(http.base() + "/api/v1/user/list"))
                .timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + a.key())
                .header("Authorization", "Bearer " + owner.key())
                .GET()
                .build();
        Matrix.assertError(http.send(twice), 400, 400);
        HttpRequest same = HttpRequest.newBuilder(URI.create(http.base() + "/api/v1/user/list"))
                .timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + a.key())
                .header("Authorization", "Bearer " + a.key())
                .GET()
                .build();
        Matrix.assertError(http.send(same), 400, 400);
    }

    @Test
    void a_bearer_and_a_different_key_are_refused_in_every_family() {
        KeyFixtures.Holder viewer = KeyFixtures.holder(server, "weak", Role.VIEWER, AccessLevel.FULL);
        String[] strongAndWeak = {"Authorization", "Bearer " + viewer.key(), "x-api-key", owner.key()};
        // Matrix
        Matrix.assertError(http.get("/api/v1/user/list", strongAndWeak), 400, 400);
        Matrix.assertError(
                http.get("/api/v1/user/list", "Authorization", "Bearer " + owner.key(), "Token", viewer.key()),
                400,
                400);
        // Panel
        assertPlainError(http.get("/api/users", strongAndWeak), 400);
        // API tokens
        assertPlainError(http.get("/api/v1/api_tokens", strongAndWeak), 400);
        // User API keys: header and body field
        assertUserKeysError(
                http.postForm("/api/user/apikeys", form("apikey", owner.key()), viewer.bearer()),
                400,
                "api/invalid-request");
        // native
        Http.Response nat = http.get("/api/v1/nodes", strongAndWeak);
        assertThat(nat.status()).isEqualTo(400);
        assertThat(nat.header("Content-Type")).contains("application/problem+json");
        // a body token with a different header token
        Matrix.assertError(
                http.send(
                        "GET",
                        "/api/v1/user/list",
                        "application/json",
                        json("access_token", viewer.key()),
                        "x-api-key",
                        owner.key()),
                400,
                400);
    }

    @Test
    void the_same_credential_in_two_forms_is_one_credential() {
        assertThat(http.get(
                                "/api/v1/user/list",
                                "Authorization",
                                "Bearer " + owner.key(),
                                "x-api-key",
                                owner.key(),
                                "Token",
                                owner.key())
                        .status())
                .isEqualTo(200);
        assertThat(http.postForm("/api/user/apikeys", form("apikey", owner.key()), owner.xApiKey())
                        .status())
                .isEqualTo(200);
    }

    // ---- item 8: request bodies

    @Test
    void a_cross_site_text_plain_post_does_not_act() {
        String n = name("csrf");
        String body = json("username", n, "email", n + "@example.com", "password", "a long enough password");
        Http.Response r = http.send("POST", "/api/auth/create-user", "text/plain", body, owner.xApiKey());
        assertThat(assertPlainError(r, 415)).contains("application/json");
        assertThat(server.core().users.find(n)).isEmpty();
        // the same body as JSON works
        assertThat(http.postJson("/api/auth/create-user", body, owner.xApiKey()).status())
                .isEqualTo(201);
    }

    @Test
    void every_family_answers_415_in_its_own_shape() {
        int keys = KeyFixtures.keyCount(server);
        assertPlainError(
                http.send("POST", "/api/v1/api_tokens", "text/plain", json("description", "x"), owner.xApiKey()), 415);
        Matrix.assertError(http.send("POST", "/api/v1/droplet/add", "text/plain", "{}", owner.xApiKey()), 415, 415);
        Matrix.assertError(
                http.send(
                        "POST",
                        "/api/v1/user/add",
                        "text/plain",
                        json("username", name("plain"), "group", "viewer"),
                        owner.xApiKey()),
                415,
                415);
        Http.Response nat =
                http.send("POST", "/api/v1/nodes", "application/x-www-form-urlencoded", "name=x", owner.xApiKey());
        assertThat(nat.status()).isEqualTo(415);
        assertThat(nat.header("Content-Type")).contains("application/problem+json");
        assertThat(nat.json().get("code").asText()).isEqualTo("unsupported_media_type");
        assertUserKeysError(
                http.send(
                        "POST",
                        "/api/user/create_apikey",
                        "text/plain",
                        "apikey=" + owner.key() + "&access_level=full"),
                415,
                "api/unsupported-media-type");
        Http.Response noType = http.send("POST", "/api/v1/api_tokens", null, json("description", "x"), owner.xApiKey());
        assertPlainError(noType, 415);
        assertThat(KeyFixtures.keyCount(server)).isEqualTo(keys);
    }

    @Test
    void the_documents_form_encodings_still_work() {
        // User API keys: urlencoded and multipart, as its document's curl -F examples
        assertThat(http.postForm("/api/user/create_apikey", form("apikey", owner.key(), "access_level", "basic"))
                        .status())
                .isEqualTo(200);
        assertThat(KeyFixtures.postMultipart(http, "/api/v2.1.0/user/apikeys", "apikey", owner.key())
                        .status())
                .isEqualTo(200);
        // Matrix: a form login
        dev.pier.users.Enrollment e = server.createUser(name("formlogin"), Role.VIEWER);
        Matrix.assertTokens(http.postForm(Matrix.AUTH, "username=" + e.user().username() + "&code=" + server.code(e)));
        // JSON with a charset, and a +json type
        assertThat(http.send(
                                "POST",
                                "/api/v1/api_tokens",
                                "application/json; charset=utf-8",
                                json("description", "cs"),
                                owner.xApiKey())
                        .status())
                .isEqualTo(200);
        // no body needs no type
        assertThat(http.send("POST", "/api/v1/droplet/list", null, null, owner.xApiKey())
                        .status())
                .isEqualTo(404);
    }

    @Test
    void duplicate_keys_in_a_json_object_are_400() {
        String n = name("dup");
        Http.Response panel = http.postJson(
                "/api/auth/create-user",
                "{\"username\":\"" + n + "\",\"email\":\"" + n
                        + "@example.com\",\"password\":\"a long enough password\",\"admin\":false,\"admin\":true}",
                owner.xApiKey());
        assertThat(assertPlainError(panel, 400)).contains("duplicate field 'admin'");
        assertThat(server.core().users.find(n)).isEmpty();
        Matrix.assertError(
                http.postJson(
                        "/api/v1/user/add",
                        "{\"username\":\"" + n + "\",\"group\":\"viewer\"," + "\"group\":\"owner\"}",
                        owner.xApiKey()),
                400,
                400);
        assertThat(server.core().users.find(n)).isEmpty();
        JsonNode e = assertUserKeysError(
                http.postJson(
                        "/api/user/create_apikey",
                        "{\"apikey\":\"" + owner.key() + "\",\"access_level\":\"basic\",\"access_level\":\"full\"}"),
                400,
                "api/invalid-request");
        assertThat(e.get("message").asText()).contains("duplicate");
        // and a repeated form field
        assertUserKeysError(
                http.postForm(
                        "/api/user/create_apikey", "apikey=" + owner.key() + "&access_level=basic&access_level=full"),
                400,
                "api/invalid-request");
    }
}
