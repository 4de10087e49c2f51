package dev.pier.users;

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

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.pier.support.Matrix.assertError;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 7, item 3: a password change, disabling, a role change and a TOTP reset end the user's sessions
 * and refresh tokens at once (tokens already cached by the server included), through the native API's
 * {@code PATCH /api/v1/users/{username}} and {@code POST …/totp/reset}. Re-enabling a user brings no
 * session back, and the keys that disabling disabled stay disabled until each is enabled again.
 */
class SessionsEndTest {
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

    private static Enrollment user(Role role) {
        return server.createUser("ends-" + SEQ.incrementAndGet(), role);
    }

    /** Logs in and uses the access token once, so the server has it in its cache. */
    private static JsonNode session(Enrollment e) {
        JsonNode t = Matrix.assertTokens(server.login(e));
        server.clock.advance(Duration.ofSeconds(30));
        assertThat(probe(t.get("access_token").asText())).isEqualTo(400);
        return t;
    }

    /** 400 (unknown user) while the token is good, 401 once it is not. */
    private static int probe(String access) {
        return http.delete("/api/v1/user/auth/revoke/nobody-at-all", Matrix.bearer(access))
                .status();
    }

    private static Http.Response refresh(JsonNode t) {
        return http.postJson(
                Matrix.REFRESH,
                Matrix.json(
                        "grant_type",
                        "refresh_token",
                        "refresh_token",
                        t.get("refresh_token").asText()));
    }

    private static Http.Response patch(String username, String json) {
        return http.send("PATCH", "/api/v1/users/" + username, "application/json", json, owner.xApiKey());
    }

    private static void assertEnded(JsonNode t) {
        assertThat(probe(t.get("access_token").asText())).isEqualTo(401);
        assertError(refresh(t), 401, 910);
    }

    @Test
    void a_password_change_ends_every_session_at_once() {
        Enrollment e = user(Role.VIEWER);
        JsonNode a = session(e);
        JsonNode b = session(e);
        Http.Response r = patch(e.user().username(), Matrix.json("password", "a brand new passphrase"));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.body()).doesNotContain("passphrase").doesNotContain("argon2");
        assertEnded(a);
        assertEnded(b);
        assertThat(KeyFixtures.audit(server, "user.password", e.user().username()))
                .hasSize(1);
        // a new login works
        assertThat(probe(session(e).get("access_token").asText())).isEqualTo(400);
    }

    @Test
    void a_user_changing_their_own_password_ends_their_sessions_too() {
        Enrollment e = user(Role.VIEWER);
        JsonNode a = session(e);
        Http.Response r = http.send(
                "PATCH",
                "/api/v1/users/" + e.user().username(),
                "application/json",
                Matrix.json("password", "my own new passphrase"),
                Matrix.bearer(a.get("access_token").asText()));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertEnded(a);
    }

    @Test
    void a_role_change_ends_every_session_at_once() {
        Enrollment e = user(Role.MANAGER);
        JsonNode a = session(e);
        Http.Response r = patch(e.user().username(), Matrix.json("role", "viewer"));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.json().get("role").asText()).isEqualTo("viewer");
        assertEnded(a);
    }

    @Test
    void a_totp_reset_ends_every_session_and_issues_a_pending_secret() {
        Enrollment e = user(Role.VIEWER);
        JsonNode a = session(e);
        Http.Response r =
                http.send("POST", "/api/v1/users/" + e.user().username() + "/totp/reset", null, null, owner.xApiKey());
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.header("Cache-Control")).isEqualTo("no-store");
        String secret = r.json().get("secret").asText();
        assertThat(secret).isNotEqualTo(e.secretBase32());
        assertEnded(a);
        // the old secret's codes are refused, the new one's work
        assertError(Matrix.login(http, e.user().username(), server.code(e)), 400, 902);
        Matrix.assertTokens(Matrix.login(http, e.user().username(), Matrix.code(secret, server.clock.instant(), 0)));
    }

    @Test
    void disabling_ends_sessions_and_keys_and_enabling_brings_neither_back() {
        Enrollment e = user(Role.VIEWER);
        KeyFixtures.Holder k = KeyFixtures.withKey(server, e.user(), AccessLevel.FULL);
        assertThat(http.get("/api/v1/api_tokens", k.xApiKey()).status()).isEqualTo(200);
        JsonNode a = session(e);

        assertThat(patch(e.user().username(), Matrix.json("disabled", true)).status())
                .isEqualTo(200);
        assertEnded(a);
        assertThat(http.get("/api/v1/api_tokens", k.xApiKey()).status()).isEqualTo(401);

        Http.Response enabled = patch(e.user().username(), Matrix.json("disabled", false));
        assertThat(enabled.status()).as(enabled.body()).isEqualTo(200);
        assertThat(enabled.json().get("disabled").asBoolean()).isFalse();
        // the old session stays ended, the key stays disabled ...
        assertEnded(a);
        Http.Response stillOff = http.get("/api/v1/api_tokens", k.xApiKey());
        assertThat(stillOff.status()).isEqualTo(401);
        assertThat(stillOff.body()).contains("not enabled");
        // ... until it is enabled again on its own
        assertThat(http.send(
                                "PATCH",
                                "/api/v1/api_tokens/" + k.keyId(),
                                "application/json",
                                Matrix.json("enabled", true),
                                owner.xApiKey())
                        .status())
                .isEqualTo(200);
        assertThat(http.get("/api/v1/api_tokens", k.xApiKey()).status()).isEqualTo(200);
    }

    @Test
    void a_viewer_may_not_change_someone_else_and_unknown_looks_the_same() {
        Enrollment viewer = user(Role.VIEWER);
        Enrollment other = user(Role.VIEWER);
        JsonNode a = session(viewer);
        JsonNode b = session(other);
        String t = a.get("access_token").asText();
        Http.Response r = http.send(
                "PATCH",
                "/api/v1/users/" + other.user().username(),
                "application/json",
                Matrix.json("password", "hijacked passphrase 1"),
                Matrix.bearer(t));
        Http.Response ghost = http.send(
                "PATCH",
                "/api/v1/users/ghost-" + SEQ.incrementAndGet(),
                "application/json",
                Matrix.json("password", "hijacked passphrase 1"),
                Matrix.bearer(t));
        assertThat(r.status()).isEqualTo(404);
        assertThat(ghost.status()).isEqualTo(404);
        assertThat(r.json().get("detail").asText()).contains("not found, or not one you may manage");
        assertThat(probe(b.get("access_token").asText())).isEqualTo(400);
    }

    @Test
    void bad_input_is_a_400_and_changes_nothing() {
        Enrollment e = user(Role.VIEWER);
        JsonNode a = session(e);
        for (String body : new String[] {
            "{}",
            Matrix.json("role", "emperor"),
            Matrix.json("role", "owner"),
            Matrix.json("disabled", "perhaps"),
            Matrix.json("password", 12345678),
            Matrix.json("password", "short"),
            Matrix.json("password", "password1234"),
            "{\"role\":\"viewer\",\"role\":\"admin\"}"
        }) {
            Http.Response r = patch(e.user().username(), body);
            assertThat(r.status()).as(body + " -> " + r.body()).isBetween(400, 403);
            assertThat(r.header("Content-Type")).contains("application/problem+json");
        }
        assertThat(probe(a.get("access_token").asText())).isEqualTo(400);
        assertThat(server.core().users.find(e.user().username()).orElseThrow().role())
                .isEqualTo(Role.VIEWER);
    }
}
