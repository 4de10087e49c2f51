package dev.pier.matrix;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.keys.KeyFixtures;
import dev.pier.security.AccessLevel;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Matrix;
import dev.pier.support.Shared;
import dev.pier.support.TestServer;
import dev.pier.users.Enrollment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static dev.pier.support.Matrix.assertError;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 7, item 2: an active TOTP secret is never shown again. {@code GET /api/v1/user/auth/setup/:user}
 * shows the secret only while enrolment is pending (before its first code is accepted); afterwards 409.
 * An explicit, audited reset ({@code POST /api/v1/users/{username}/totp/reset}, admins under the usual
 * manage rules) issues a new pending secret and ends the user's sessions.
 */
class PendingSecretTest {
    @Shared
    static TestServer server;

    static Http http;
    static KeyFixtures.Holder owner;

    @BeforeAll
    static void start() {
        http = server.http();
        owner = KeyFixtures.owner(server);
    }

    private static Http.Response setup(String name, String... credential) {
        return http.get("/api/v1/user/auth/setup/" + name, credential);
    }

    private static Http.Response reset(String name, String... credential) {
        return http.send("POST", "/api/v1/users/" + name + "/totp/reset", null, null, credential);
    }

    @Test
    void the_secret_is_shown_while_pending_and_never_after_its_first_use() {
        Enrollment e = server.createUser("pending-1", Role.VIEWER);
        Http.Response first = setup("pending-1", owner.xApiKey());
        assertThat(first.status()).isEqualTo(200);
        assertThat(first.json().get("secret").asText()).isEqualTo(e.secretBase32());

        Matrix.assertTokens(server.login(e));
        server.clock.advance(Duration.ofSeconds(30));
        Http.Response after = setup("pending-1", owner.xApiKey());
        assertError(after, 409, 409);
        assertThat(after.body()).doesNotContain(e.secretBase32()).doesNotContain("qr");
        assertThat(after.json().get("error").asText()).contains("reset");
        List<Map<String, Object>> audit = KeyFixtures.audit(server, "user.setup", "pending-1");
        assertThat(audit).extracting(r -> r.get("outcome")).containsExactly("success", "failure");
    }

    @Test
    void a_reset_issues_a_new_pending_secret_ends_sessions_and_is_audited() {
        Enrollment e = server.createUser("pending-2", Role.MANAGER);
        JsonNode session = Matrix.assertTokens(server.login(e));
        server.clock.advance(Duration.ofSeconds(30));
        KeyFixtures.Holder admin = KeyFixtures.holder(server, "resetter", Role.ADMIN, AccessLevel.FULL);

        Http.Response r = reset("pending-2", admin.xApiKey());
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        String secret = r.json().get("secret").asText();
        assertThat(secret).isNotEqualTo(e.secretBase32()).matches("[A-Z2-7]{32}");
        assertThat(r.json().get("otpauth_uri").asText()).contains("secret=" + secret);
        // its sessions ended at once
        assertThat(http.delete(
                                "/api/v1/user/auth/revoke/nobody",
                                Matrix.bearer(session.get("access_token").asText()))
                        .status())
                .isEqualTo(401);
        // the new secret is pending: shown by setup, until it is used
        assertThat(setup("pending-2", admin.xApiKey()).json().get("secret").asText())
                .isEqualTo(secret);
        Matrix.assertTokens(Matrix.login(http, "pending-2", Matrix.code(secret, server.clock.instant(), 0)));
        assertError(setup("pending-2", admin.xApiKey()), 409, 409);

        List<Map<String, Object>> audit = KeyFixtures.audit(server, "user.reset_secret", "pending-2");
        assertThat(audit).hasSize(1);
        assertThat(audit.getFirst().get("actor_name")).isEqualTo(admin.name());
        assertThat(audit.getFirst().get("outcome")).isEqualTo("success");
        assertThat(audit.toString()).doesNotContain(secret);
    }

    @Test
    void a_reset_follows_the_manage_rules() {
        server.createUser("pending-admin", Role.ADMIN);
        KeyFixtures.Holder admin = KeyFixtures.holder(server, "resetter2", Role.ADMIN, AccessLevel.FULL);
        KeyFixtures.Holder viewer = KeyFixtures.holder(server, "nosy", Role.VIEWER, AccessLevel.FULL);
        KeyFixtures.Holder apikeyLevel = KeyFixtures.withKey(server, admin.user(), AccessLevel.APIKEY);
        // an admin may not reset another admin (nor the owner): answered as for an unknown user
        Http.Response r = reset("pending-admin", admin.xApiKey());
        assertThat(r.status()).isEqualTo(404);
        assertThat(UntouchableAndUnknownTest.withoutRequestId(r.body()))
                .isEqualTo(UntouchableAndUnknownTest.withoutRequestId(
                                reset("pending-ghost", admin.xApiKey()).body())
                        .replace("pending-ghost", "pending-admin"));
        assertThat(reset(owner.name(), admin.xApiKey()).status()).isEqualTo(404);
        // a viewer, or a key below full, may not reset anyone
        assertThat(reset("pending-admin", viewer.xApiKey()).status()).isEqualTo(403);
        assertThat(reset("pending-admin", apikeyLevel.xApiKey()).status()).isEqualTo(403);
        assertThat(reset("pending-admin").status()).isEqualTo(401);
        // the owner may
        assertThat(reset("pending-admin", owner.xApiKey()).status()).isEqualTo(200);
    }
}
