package dev.pier.keys;

import dev.pier.security.AccessLevel;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import dev.pier.support.TestServer;
import org.junit.jupiter.api.Test;

import static dev.pier.keys.KeyFixtures.assertPlainError;
import static dev.pier.keys.KeyFixtures.assertUserKeysError;
import static dev.pier.keys.KeyFixtures.form;
import static dev.pier.keys.KeyFixtures.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A key's access level caps what its user's role allows, and the role is read on every request:
 * demoting, disabling or deleting the user takes effect on the very next request made with the key.
 */
class KeyLevelsTest {
    @Shared
    static TestServer server;

    private static void assertMatrixDenied(Http.Response r) {
        assertThat(r.status()).as(r.body()).isEqualTo(403);
        assertThat(r.json().get("errorId").asInt()).isEqualTo(912);
    }

    @Test
    void a_basic_key_of_an_admin_reads_but_cannot_write() {
        KeyFixtures.Holder admin = KeyFixtures.holder(server, "basicadm", Role.ADMIN, AccessLevel.BASIC);
        Http http = server.http();

        assertThat(http.get("/api/v1/user/list", admin.bearer()).status()).isEqualTo(200);
        assertThat(http.get("/api/users", admin.xApiKey()).status()).isEqualTo(200);
        Http.Response found =
                http.postJson("/api/getUser", json("type", "username", "value", admin.name()), admin.xApiKey());
        assertThat(found.status()).isEqualTo(201);

        String newcomer = KeyFixtures.name("nope");
        assertMatrixDenied(
                http.postJson("/api/v1/user/add", json("username", newcomer, "group", "viewer"), admin.bearer()));
        assertPlainError(
                http.postJson(
                        "/api/auth/create-user",
                        json(
                                "username",
                                newcomer,
                                "email",
                                newcomer + "@example.com",
                                "password",
                                "correct horse battery"),
                        admin.xApiKey()),
                403);
        assertThat(server.core().users.find(newcomer)).isEmpty();
    }

    @Test
    void a_basic_key_cannot_see_or_manage_keys() {
        KeyFixtures.Holder h = KeyFixtures.holder(server, "basickeys", Role.ADMIN, AccessLevel.BASIC);
        Http http = server.http();
        assertPlainError(http.get("/api/v1/api_tokens", h.bearer()), 403);
        assertPlainError(http.get("/api/v1/api_tokens/all", h.bearer()), 403);
        assertPlainError(http.postJson("/api/v1/api_tokens", "{}", h.bearer()), 403);
        assertUserKeysError(http.get("/api/user/apikeys", h.xApiKey()), 403, "api/insufficient-permissions");
        assertUserKeysError(
                http.postForm("/api/user/create_apikey", form("apikey", h.key(), "access_level", "basic")),
                403,
                "api/insufficient-permissions");
    }

    @Test
    void an_apikey_level_key_cannot_manage_keys() {
        KeyFixtures.Holder h = KeyFixtures.holder(server, "apikeylvl", Role.ADMIN, AccessLevel.APIKEY);
        Http http = server.http();
        int before = KeyFixtures.keyCount(server);

        assertPlainError(http.postJson("/api/v1/api_tokens", json("description", "escalate"), h.bearer()), 403);
        assertPlainError(http.get("/api/v1/api_tokens", h.bearer()), 403);
        assertPlainError(http.get("/api/v1/api_tokens/" + h.keyId(), h.bearer()), 403);
        assertPlainError(
                http.send(
                        "PATCH",
                        "/api/v1/api_tokens/" + h.keyId(),
                        "application/json",
                        json("enabled", false),
                        h.bearer()),
                403);
        assertPlainError(http.delete("/api/v1/api_tokens/" + h.keyId(), h.bearer()), 403);
        assertUserKeysError(http.get("/api/user/apikeys", h.xApiKey()), 403, "api/insufficient-permissions");
        assertUserKeysError(
                http.postForm("/api/user/create_apikey", form("apikey", h.key(), "access_level", "full")),
                403,
                "api/insufficient-permissions");
        assertUserKeysError(
                http.postForm(
                        "/api/user/delete_apikey",
                        form("apikey", h.key(), "delete_key", h.keyId().toString())),
                403,
                "api/insufficient-permissions");

        assertThat(KeyFixtures.keyCount(server)).isEqualTo(before);
        assertThat(http.get("/api/users", h.xApiKey()).status())
                .as("the key itself still works")
                .isEqualTo(200);
    }

    @Test
    void an_apikey_level_key_cannot_manage_users() {
        KeyFixtures.Holder h = KeyFixtures.holder(server, "apikeyusr", Role.ADMIN, AccessLevel.APIKEY);
        KeyFixtures.Holder victim = KeyFixtures.holder(server, "victim", Role.VIEWER, AccessLevel.FULL);
        Http http = server.http();
        String newcomer = KeyFixtures.name("nobody");

        assertThat(http.get("/api/v1/user/list", h.bearer()).status()).isEqualTo(200);
        assertMatrixDenied(
                http.postJson("/api/v1/user/add", json("username", newcomer, "group", "viewer"), h.bearer()));
        assertMatrixDenied(http.delete("/api/v1/user/delete/" + victim.name(), h.bearer()));
        assertMatrixDenied(http.get("/api/v1/user/auth/setup/" + victim.name(), h.bearer()));
        assertPlainError(
                http.postJson(
                        "/api/auth/create-user",
                        json(
                                "username",
                                newcomer,
                                "email",
                                newcomer + "@example.com",
                                "password",
                                "correct horse battery"),
                        h.xApiKey()),
                403);

        assertThat(server.core().users.find(newcomer)).isEmpty();
        assertThat(server.core().users.find(victim.name())).isPresent();
    }

    @Test
    void a_full_key_never_grants_more_than_its_users_role() {
        KeyFixtures.Holder viewer = KeyFixtures.holder(server, "fullview", Role.VIEWER, AccessLevel.FULL);
        KeyFixtures.Holder manager = KeyFixtures.holder(server, "fullmgr", Role.MANAGER, AccessLevel.FULL);
        Http http = server.http();

        for (KeyFixtures.Holder h : new KeyFixtures.Holder[] {viewer, manager}) {
            assertThat(assertPlainError(http.get("/api/users", h.xApiKey()), 403))
                    .isNotBlank();
            assertPlainError(
                    http.postJson("/api/getUser", json("type", "username", "value", h.name()), h.xApiKey()), 403);
            assertPlainError(
                    http.postJson(
                            "/api/auth/create-user",
                            json(
                                    "username",
                                    KeyFixtures.name("x"),
                                    "email",
                                    KeyFixtures.name("x") + "@example.com",
                                    "password",
                                    "correct horse battery"),
                            h.xApiKey()),
                    403);
            assertMatrixDenied(http.get("/api/v1/user/list", h.bearer()));
            assertPlainError(http.get("/api/v1/api_tokens/all", h.bearer()), 403);
            // their own keys they do manage
            assertThat(http.get("/api/v1/api_tokens", h.bearer()).status()).isEqualTo(200);
        }
    }

    @Test
    void a_full_key_of_an_admin_uses_the_panel_api() {
        KeyFixtures.Holder admin = KeyFixtures.holder(server, "fulladm", Role.ADMIN, AccessLevel.FULL);
        Http.Response r = server.http().get("/api/users", admin.xApiKey());
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.json().isArray()).isTrue();
    }

    @Test
    void demoting_the_user_limits_the_key_on_the_very_next_request() {
        KeyFixtures.Holder h = KeyFixtures.holder(server, "demoted", Role.ADMIN, AccessLevel.FULL);
        Http http = server.http();
        assertThat(http.get("/api/users", h.xApiKey()).status()).isEqualTo(200);

        server.core().users.setRole(Principal.system(), h.name(), Role.VIEWER);

        assertThat(assertPlainError(http.get("/api/users", h.xApiKey()), 403)).isNotBlank();
        assertMatrixDenied(http.get("/api/v1/user/list", h.bearer()));
        assertThat(http.get("/api/v1/api_tokens", h.bearer()).status())
                .as("still a viewer")
                .isEqualTo(200);
    }

    @Test
    void disabling_the_user_kills_the_key_on_the_very_next_request() {
        KeyFixtures.Holder h = KeyFixtures.holder(server, "disabled", Role.ADMIN, AccessLevel.FULL);
        Http http = server.http();
        assertThat(http.get("/api/users", h.xApiKey()).status()).isEqualTo(200);

        server.core().users.setDisabled(Principal.system(), h.name(), true);

        assertPlainError(http.get("/api/users", h.xApiKey()), 401);
        assertPlainError(http.get("/api/v1/api_tokens", h.bearer()), 401);
        assertUserKeysError(http.postForm("/api/user/apikeys", form("apikey", h.key())), 401, "api/not-authenticated");
        assertUserKeysError(
                http.postForm("/api/user/create_apikey", form("apikey", h.key(), "access_level", "full")),
                401,
                "api/not-authenticated");
    }

    @Test
    void deleting_the_user_kills_the_key_on_the_very_next_request() {
        KeyFixtures.Holder h = KeyFixtures.holder(server, "deleted", Role.ADMIN, AccessLevel.FULL);
        Http http = server.http();
        assertThat(http.get("/api/users", h.xApiKey()).status()).isEqualTo(200);

        server.core().users.delete(Principal.system(), h.name());

        assertThat(assertPlainError(http.get("/api/users", h.xApiKey()), 401)).isEqualTo("API Key Invalid");
        assertPlainError(http.get("/api/v1/api_tokens", h.bearer()), 401);
        assertThat(KeyFixtures.rows(server, "SELECT id FROM api_keys WHERE id = ?", h.keyId()))
                .isEmpty();
    }

    @Test
    void promoting_the_user_widens_a_full_key_at_once() {
        KeyFixtures.Holder h = KeyFixtures.holder(server, "promoted", Role.VIEWER, AccessLevel.FULL);
        Http http = server.http();
        assertPlainError(http.get("/api/users", h.xApiKey()), 403);

        server.core().users.setRole(Principal.system(), h.name(), Role.ADMIN);

        assertThat(http.get("/api/users", h.xApiKey()).status()).isEqualTo(200);
    }
}
