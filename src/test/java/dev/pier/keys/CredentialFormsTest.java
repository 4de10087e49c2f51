package dev.pier.keys;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.security.AccessLevel;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import dev.pier.support.TestServer;
import dev.pier.users.Enrollment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.function.BiFunction;

import static dev.pier.keys.KeyFixtures.assertPlainError;
import static dev.pier.keys.KeyFixtures.assertUserKeysError;
import static dev.pier.keys.KeyFixtures.form;
import static dev.pier.keys.KeyFixtures.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * SPEC "Credentials everywhere": every credential form carries an API key (and a session token), a
 * refresh token is no credential on ordinary routes, and an API key is no refresh token.
 */
class CredentialFormsTest {
    @Shared
    static TestServer server;

    /** One way of presenting a credential, sent to the User API keys listing (it takes GET-less POST bodies). */
    enum Form {
        BEARER((http, c) -> http.send("POST", "/api/user/apikeys", null, null, "Authorization", "Bearer " + c)),
        BEARER_LOWER_CASE(
                (http, c) -> http.send("POST", "/api/user/apikeys", null, null, "Authorization", "bearer " + c)),
        BEARER_COLON((http, c) -> http.send("POST", "/api/user/apikeys", null, null, "Authorization", "Bearer: " + c)),
        BEARER_COLON_NO_SPACE(
                (http, c) -> http.send("POST", "/api/user/apikeys", null, null, "Authorization", "Bearer:" + c)),
        X_API_KEY((http, c) -> http.send("POST", "/api/user/apikeys", null, null, "x-api-key", c)),
        TOKEN_HEADER((http, c) -> http.send("POST", "/api/user/apikeys", null, null, "Token", c)),
        APIKEY_FORM_FIELD((http, c) -> http.postForm("/api/user/apikeys", form("apikey", c))),
        APIKEY_MULTIPART_FIELD((http, c) -> KeyFixtures.postMultipart(http, "/api/user/apikeys", "apikey", c)),
        APIKEY_JSON_FIELD((http, c) -> http.postJson("/api/user/apikeys", json("apikey", c))),
        ACCESS_TOKEN_FORM_FIELD((http, c) -> http.postForm("/api/user/apikeys", form("access_token", c))),
        ACCESS_TOKEN_JSON_FIELD((http, c) -> http.postJson("/api/user/apikeys", json("access_token", c)));

        final BiFunction<Http, String, Http.Response> send;

        Form(BiFunction<Http, String, Http.Response> send) {
            this.send = send;
        }
    }

    @ParameterizedTest
    @EnumSource(Form.class)
    void every_credential_form_carries_an_api_key(Form form) {
        KeyFixtures.Holder h = KeyFixtures.holder(server, "forms", Role.VIEWER, AccessLevel.FULL);
        Http.Response r = form.send.apply(server.http(), h.key());
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        JsonNode keys = r.json().path("data").path("apikeys");
        assertThat(keys.has(h.keyId().toString())).as(r.body()).isTrue();
    }

    @ParameterizedTest
    @EnumSource(Form.class)
    void every_credential_form_carries_a_session_token(Form form) {
        Enrollment e = server.createUser(KeyFixtures.name("sess"), Role.VIEWER);
        KeyFixtures.Holder h = KeyFixtures.withKey(server, e.user(), AccessLevel.BASIC);
        String access = server.accessToken(e);
        Http.Response r = form.send.apply(server.http(), access);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.json().path("data").path("apikeys").has(h.keyId().toString()))
                .as(r.body())
                .isTrue();
    }

    @ParameterizedTest
    @EnumSource(Form.class)
    void every_credential_form_refuses_a_mistyped_key(Form form) {
        KeyFixtures.Holder h = KeyFixtures.holder(server, "typo", Role.VIEWER, AccessLevel.FULL);
        char c = h.key().charAt(20);
        String typo =
                h.key().substring(0, 20) + (c == 'Q' ? 'R' : 'Q') + h.key().substring(21);
        Http.Response r = form.send.apply(server.http(), typo);
        assertUserKeysError(r, 401, "api/not-authenticated");
    }

    @Test
    void one_key_works_in_all_four_families() {
        KeyFixtures.Holder admin = KeyFixtures.holder(server, "fam", Role.ADMIN, AccessLevel.FULL);
        Http http = server.http();
        assertThat(http.get("/api/v1/user/list", admin.bearer()).status()).isEqualTo(200);
        assertThat(http.get("/api/v1/api_tokens", "Token", admin.key()).status())
                .isEqualTo(200);
        assertThat(http.get("/api/users", admin.xApiKey()).status()).isEqualTo(200);
        assertThat(http.postForm("/api/user/apikeys", form("apikey", admin.key()))
                        .status())
                .isEqualTo(200);
    }

    @Test
    void a_session_token_works_as_x_api_key_on_the_panel_api() {
        Enrollment e = server.createUser(KeyFixtures.name("psess"), Role.ADMIN);
        String access = server.accessToken(e);
        Http.Response r = server.http().get("/api/users", "x-api-key", access);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
    }

    @Test
    void a_refresh_token_is_not_a_credential_on_ordinary_routes() {
        Enrollment e = server.createUser(KeyFixtures.name("refr"), Role.ADMIN);
        Http.Response login = server.login(e);
        assertThat(login.status()).isEqualTo(200);
        String refresh = login.json().get("refresh_token").asText();
        Http http = server.http();

        assertPlainError(http.get("/api/v1/api_tokens", "Authorization", "Bearer " + refresh), 401);
        assertThat(assertPlainError(http.get("/api/users", "x-api-key", refresh), 401))
                .isEqualTo("API Key Invalid");
        assertUserKeysError(http.postForm("/api/user/apikeys", form("apikey", refresh)), 401, "api/not-authenticated");
        assertUserKeysError(
                http.postForm("/api/user/create_apikey", form("apikey", refresh, "access_level", "full")),
                401,
                "api/not-authenticated");
        Http.Response matrix = http.get("/api/v1/user/list", "Authorization", "Bearer " + refresh);
        assertThat(matrix.status()).isEqualTo(401);
        assertThat(matrix.json().get("errorId").asInt()).isEqualTo(908);
    }

    @Test
    void an_api_key_is_not_a_refresh_token() {
        KeyFixtures.Holder h = KeyFixtures.holder(server, "notrefresh", Role.ADMIN, AccessLevel.FULL);
        Http.Response r = server.http()
                .postJson("/api/v1/user/auth/refresh", json("grant_type", "refresh_token", "refresh_token", h.key()));
        assertThat(r.status()).as(r.body()).isEqualTo(401);
        assertThat(r.json().get("errorId").asInt()).isEqualTo(910);
        assertThat(r.body()).doesNotContain("access_token");
        // and the key is none the worse for it
        assertThat(server.http().get("/api/users", h.xApiKey()).status()).isEqualTo(200);
    }

    @Test
    void a_request_without_any_credential_is_refused_in_each_family_shape() {
        Http http = server.http();
        assertThat(assertPlainError(http.get("/api/v1/api_tokens"), 401)).isNotBlank();
        assertThat(assertPlainError(http.get("/api/users"), 401)).isEqualTo("API key is required");
        assertUserKeysError(http.send("POST", "/api/user/apikeys", null, null), 401, "api/not-authenticated");
        Http.Response matrix = http.get("/api/v1/user/list");
        assertThat(matrix.status()).isEqualTo(401);
        assertThat(matrix.json().get("errorId").asInt()).isEqualTo(904);
    }

    @Test
    void a_well_formed_but_unknown_key_is_refused() {
        String unknown = KeyFormat.generate();
        Http http = server.http();
        assertThat(assertPlainError(http.get("/api/v1/api_tokens", "Authorization", "Bearer " + unknown), 401))
                .isNotBlank();
        assertThat(assertPlainError(http.get("/api/users", "x-api-key", unknown), 401))
                .isEqualTo("API Key Invalid");
        assertUserKeysError(http.postForm("/api/user/apikeys", form("apikey", unknown)), 401, "api/not-authenticated");
    }

    @Test
    void a_mistyped_key_gets_the_same_answer_as_an_unknown_key_and_leaves_no_trace() {
        KeyFixtures.Holder h = KeyFixtures.holder(server, "trace", Role.ADMIN, AccessLevel.FULL);
        String typo = h.key().substring(0, 10)
                + (h.key().charAt(10) == '7' ? '8' : '7')
                + h.key().substring(11);
        Http.Response mistyped = server.http().get("/api/users", "x-api-key", typo);
        Http.Response unknown = server.http().get("/api/users", "x-api-key", KeyFormat.generate());
        assertThat(mistyped.status()).isEqualTo(401);
        assertThat(mistyped.body()).isEqualTo(unknown.body());
        // the real key was neither used nor audited
        assertThat(KeyFixtures.rows(server, "SELECT last_used_at FROM api_keys WHERE id = ?", h.keyId())
                        .getFirst()
                        .get("last_used_at"))
                .isNull();
        assertThat(KeyFixtures.audit(server, "key.first_use", h.keyId().toString()))
                .isEmpty();
    }
}
