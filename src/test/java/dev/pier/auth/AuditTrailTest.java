package dev.pier.auth;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Matrix;
import dev.pier.support.Shared;
import dev.pier.support.TestServer;
import dev.pier.users.Enrollment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

import static dev.pier.support.Matrix.assertError;
import static dev.pier.support.Matrix.assertTokens;
import static dev.pier.support.Matrix.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * SPEC §4 audit log, read straight from the {@code audit_log} table after real HTTP requests: logins
 * (success and failure), token changes and user changes, each with actor, credential id, client address
 * and outcome, and never a token or secret.
 */
class AuditTrailTest {
    @Shared
    static TestServer server;

    static Http http;
    static Enrollment owner;
    /** Every credential and secret this class has handled, searched for in the audit table. */
    static final List<String> SECRETS = Collections.synchronizedList(new ArrayList<>());

    @BeforeAll
    static void start() {
        http = server.http();
        owner = server.createUser("auditor", Role.OWNER);
        SECRETS.add(owner.secretBase32());
    }

    private static List<Map<String, Object>> rows(String action, String target) {
        return server.core()
                .db
                .jdbi()
                .withHandle(h -> h.createQuery("""
                        SELECT * FROM audit_log WHERE action = :a AND target = :t ORDER BY id""")
                        .bind("a", action)
                        .bind("t", target)
                        .mapToMap()
                        .list());
    }

    private static JsonNode login(Enrollment e) {
        JsonNode t = assertTokens(server.login(e));
        server.clock.advance(Duration.ofSeconds(30));
        SECRETS.add(t.get("access_token").asText());
        SECRETS.add(t.get("refresh_token").asText());
        return t;
    }

    private static Enrollment user(String name, Role role) {
        Enrollment e = server.createUser(name, role);
        SECRETS.add(e.secretBase32());
        return e;
    }

    private static String sessionIdOf(String accessToken) {
        return server.core()
                .db
                .jdbi()
                .withHandle(h -> h.createQuery("SELECT id FROM sessions WHERE access_hash = :h")
                        .bind("h", dev.pier.crypto.Hashing.sha256Hex(accessToken))
                        .mapTo(UUID.class)
                        .one())
                .toString();
    }

    @Test
    void failed_login_is_recorded_with_name_address_and_outcome() {
        Enrollment e = user("fumbler", Role.VIEWER);
        String wrong = server.code(e).equals("000000") ? "111111" : "000000";
        assertError(Matrix.login(http, "fumbler", wrong), 400, 902);

        List<Map<String, Object>> rows = rows("auth.login", "fumbler");
        assertThat(rows).hasSize(1);
        Map<String, Object> row = rows.getFirst();
        assertThat(row.get("outcome")).isEqualTo("failure");
        assertThat(row.get("actor_name")).isEqualTo("fumbler");
        assertThat(row.get("client_addr")).isEqualTo("127.0.0.1");
        assertThat(row.get("at")).isNotNull();
        assertThat(Objects.toString(row.get("detail"))).doesNotContain(wrong).doesNotContain(server.code(e));
    }

    @Test
    void failed_login_of_an_unknown_name_is_recorded_too() {
        assertError(Matrix.login(http, "nobody-here", "123456"), 400, 902);
        List<Map<String, Object>> rows = rows("auth.login", "nobody-here");
        assertThat(rows).hasSize(1);
        assertThat(rows.getFirst().get("outcome")).isEqualTo("failure");
        assertThat(rows.getFirst().get("actor_id")).isNull();
    }

    @Test
    void failed_login_with_control_characters_in_the_name_is_still_recorded() {
        assertError(Matrix.login(http, "nul\u0000name", "123456"), 400, 902);
        List<Map<String, Object>> rows = server.core()
                .db
                .jdbi()
                .withHandle(h -> h.createQuery(
                                "SELECT * FROM audit_log WHERE action = 'auth.login' AND target LIKE 'nul%name'")
                        .mapToMap()
                        .list());
        assertThat(rows).hasSize(1);
        assertThat((String) rows.getFirst().get("target")).doesNotContain("\u0000");
        assertThat(rows.getFirst().get("outcome")).isEqualTo("failure");
    }

    @Test
    void successful_login_is_recorded_with_user_session_and_address() {
        Enrollment e = user("achiever", Role.VIEWER);
        JsonNode t = login(e);

        List<Map<String, Object>> rows = rows("auth.login", "achiever");
        assertThat(rows).hasSize(1);
        Map<String, Object> row = rows.getFirst();
        assertThat(row.get("outcome")).isEqualTo("success");
        assertThat(String.valueOf(row.get("actor_id"))).isEqualTo(e.user().id().toString());
        assertThat(row.get("actor_name")).isEqualTo("achiever");
        assertThat(row.get("client_addr")).isEqualTo("127.0.0.1");
        // the credential is named by its session id, never by its value
        assertThat(row.get("credential_id"))
                .isEqualTo(sessionIdOf(t.get("access_token").asText()));
    }

    @Test
    void user_added_over_http_is_recorded_with_the_admin_as_actor() {
        Enrollment admin = user("admin-actor", Role.ADMIN);
        JsonNode t = login(admin);
        String access = t.get("access_token").asText();
        Http.Response r = http.postJson(
                "/api/v1/user/add", json("username", "recruit", "group", "manager"), Matrix.bearer(access));
        assertThat(r.status()).as(r.body()).isEqualTo(200);

        List<Map<String, Object>> rows = rows("user.create", "recruit");
        assertThat(rows).hasSize(1);
        Map<String, Object> row = rows.getFirst();
        assertThat(row.get("outcome")).isEqualTo("success");
        assertThat(String.valueOf(row.get("actor_id")))
                .isEqualTo(admin.user().id().toString());
        assertThat(row.get("actor_name")).isEqualTo("admin-actor");
        assertThat(row.get("client_addr")).isEqualTo("127.0.0.1");
        assertThat(row.get("credential_id")).isEqualTo(sessionIdOf(access));
        assertThat(Objects.toString(row.get("detail"))).contains("manager");
    }

    @Test
    void user_deleted_over_http_is_recorded() {
        user("leaver", Role.VIEWER);
        String access = login(owner).get("access_token").asText();
        assertThat(http.delete("/api/v1/user/delete/leaver", Matrix.bearer(access))
                        .status())
                .isEqualTo(200);
        List<Map<String, Object>> rows = rows("user.delete", "leaver");
        assertThat(rows).hasSize(1);
        assertThat(rows.getFirst().get("actor_name")).isEqualTo("auditor");
        assertThat(rows.getFirst().get("outcome")).isEqualTo("success");
    }

    @Test
    void revoke_refresh_and_setup_are_recorded() {
        Enrollment e = user("rotator", Role.VIEWER);
        JsonNode first = login(e);
        Http.Response refreshed = http.postJson(
                Matrix.REFRESH,
                json(
                        "grant_type",
                        "refresh_token",
                        "refresh_token",
                        first.get("refresh_token").asText()));
        JsonNode second = assertTokens(refreshed);
        SECRETS.add(second.get("access_token").asText());
        SECRETS.add(second.get("refresh_token").asText());
        assertThat(rows("auth.refresh", e.user().id().toString()))
                .extracting(r -> r.get("outcome"))
                .containsExactly("success");

        String ownerAccess = login(owner).get("access_token").asText();
        // rotator's secret is active (it logged in): setup refuses to show it again, and says so in the log
        Http.Response setup = http.get("/api/v1/user/auth/setup/rotator", Matrix.bearer(ownerAccess));
        assertThat(setup.status()).isEqualTo(409);
        assertThat(rows("user.setup", "rotator"))
                .extracting(r -> r.get("actor_name"))
                .containsExactly("auditor");
        assertThat(rows("user.setup", "rotator"))
                .extracting(r -> r.get("outcome"))
                .containsExactly("failure");

        assertThat(http.delete(
                                "/api/v1/user/auth/revoke/rotator",
                                Matrix.bearer(second.get("access_token").asText()))
                        .status())
                .isEqualTo(200);
        List<Map<String, Object>> revokes = rows("auth.revoke", "rotator");
        assertThat(revokes).hasSize(1);
        assertThat(revokes.getFirst().get("actor_name")).isEqualTo("rotator");
        assertThat(revokes.getFirst().get("outcome")).isEqualTo("success");
    }

    @Test
    void reuse_of_a_retired_refresh_token_is_recorded_as_a_failure() {
        Enrollment e = user("victim-of-theft", Role.VIEWER);
        JsonNode first = login(e);
        String session = sessionIdOf(first.get("access_token").asText());
        String body = json(
                "grant_type",
                "refresh_token",
                "refresh_token",
                first.get("refresh_token").asText());
        JsonNode second = assertTokens(http.postJson(Matrix.REFRESH, body));
        SECRETS.add(second.get("access_token").asText());
        SECRETS.add(second.get("refresh_token").asText());
        assertError(http.postJson(Matrix.REFRESH, body), 401, 910);
        List<Map<String, Object>> rows = rows("auth.refresh", session);
        assertThat(rows).extracting(r -> r.get("outcome")).containsExactly("failure");
        assertThat(Objects.toString(rows.getFirst().get("detail"))).contains("reuse");
    }

    @Test
    void no_token_code_or_secret_is_written_to_any_audit_column() {
        // make sure the table holds one of everything before looking
        Enrollment e = user("scanner", Role.ADMIN);
        JsonNode t = login(e);
        assertError(Matrix.login(http, "scanner", "000000"), 400, 902);
        http.postJson(
                "/api/v1/user/add",
                json("username", "scanned", "group", "viewer"),
                Matrix.bearer(t.get("access_token").asText()));
        JsonNode r = assertTokens(http.postJson(
                Matrix.REFRESH, json("refresh_token", t.get("refresh_token").asText())));
        SECRETS.add(r.get("access_token").asText());
        SECRETS.add(r.get("refresh_token").asText());

        List<Map<String, Object>> all = server.core()
                .db
                .jdbi()
                .withHandle(
                        h -> h.createQuery("SELECT * FROM audit_log").mapToMap().list());
        assertThat(all).hasSizeGreaterThanOrEqualTo(4);
        List<String> secrets = List.copyOf(SECRETS);
        for (Map<String, Object> row : all) {
            for (Object value : row.values()) {
                String s = Objects.toString(value, "");
                for (String secret : secrets) {
                    assertThat(s).as("audit column value").doesNotContain(secret);
                    assertThat(s).doesNotContain(dev.pier.crypto.Hashing.sha256Hex(secret));
                }
                assertThat(s).doesNotStartWith("v1:");
            }
        }
    }
}
