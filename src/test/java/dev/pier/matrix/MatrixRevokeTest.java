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
import java.util.concurrent.atomic.AtomicInteger;

import static dev.pier.support.Matrix.REFRESH;
import static dev.pier.support.Matrix.assertError;
import static dev.pier.support.Matrix.assertTokens;
import static dev.pier.support.Matrix.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code DELETE /api/v1/user/auth/revoke/:user}: ends every session of a user, at once. Everyone may end
 * their own; admins those of the users they manage; the owner anyone's.
 */
class MatrixRevokeTest {
    private static final String REVOKE = "/api/v1/user/auth/revoke/";
    private static final AtomicInteger SEQ = new AtomicInteger();

    @Shared
    static TestServer server;

    static Http http;
    static Enrollment owner;

    @BeforeAll
    static void start() {
        http = server.http();
        owner = server.createUser("the-owner", Role.OWNER);
    }

    private static Enrollment user(Role role) {
        return server.createUser(role.wire() + "-" + SEQ.incrementAndGet(), role);
    }

    private static JsonNode session(Enrollment e) {
        JsonNode t = assertTokens(server.login(e));
        server.clock.advance(Duration.ofSeconds(30));
        return t;
    }

    private static String access(JsonNode t) {
        return t.get("access_token").asText();
    }

    private static String refreshOf(JsonNode t) {
        return t.get("refresh_token").asText();
    }

    /** A request any signed-in user may make without side effects: revoking someone unknown (400/903). */
    private static int probe(String accessToken) {
        return http.delete(REVOKE + "nobody-at-all", Matrix.bearer(accessToken)).status();
    }

    private static void assertOk(Http.Response r) {
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.json().size()).isEqualTo(1);
        assertThat(r.json().get("status").asText()).isEqualTo("ok");
    }

    private static Http.Response revoke(String username, String token) {
        return http.delete(REVOKE + username, Matrix.bearer(token));
    }

    @Test
    void user_revokes_their_own_sessions_with_the_access_token() {
        Enrollment v = user(Role.VIEWER);
        JsonNode one = session(v);
        JsonNode two = session(v);
        assertThat(probe(access(one))).isEqualTo(400);
        assertThat(probe(access(two))).isEqualTo(400);

        assertOk(revoke(v.user().username(), access(one)));

        // on the very next request, for every session of the user, served from memory a moment ago or not
        assertError(http.delete(REVOKE + "nobody-at-all", Matrix.bearer(access(one))), 401, 908);
        assertError(http.delete(REVOKE + "nobody-at-all", Matrix.bearer(access(two))), 401, 908);
        assertError(
                http.postJson(REFRESH, json("grant_type", "refresh_token", "refresh_token", refreshOf(one))), 401, 910);
        assertError(
                http.postJson(REFRESH, json("grant_type", "refresh_token", "refresh_token", refreshOf(two))), 401, 910);
    }

    @Test
    void refresh_token_as_bearer_revokes_as_in_the_document() {
        Enrollment v = user(Role.VIEWER);
        JsonNode t = session(v);
        assertThat(probe(access(t))).isEqualTo(400);
        Http.Response r = http.delete(
                REVOKE + v.user().username(),
                "Content-Type",
                "application/json",
                "Authorization",
                "Bearer " + refreshOf(t));
        assertOk(r);
        assertError(http.delete(REVOKE + "nobody-at-all", Matrix.bearer(access(t))), 401, 908);
        assertError(revoke(v.user().username(), refreshOf(t)), 401, 908);
    }

    @Test
    void revoke_accepts_the_bearer_colon_form() {
        Enrollment m = user(Role.MANAGER);
        JsonNode t = session(m);
        assertOk(http.delete(REVOKE + m.user().username(), "Authorization", "Bearer: " + access(t)));
        assertThat(probe(access(t))).isEqualTo(401);
    }

    @Test
    void revoke_matches_the_name_without_regard_to_case() {
        Enrollment v = user(Role.VIEWER);
        JsonNode t = session(v);
        assertOk(revoke(v.user().username().toUpperCase(), access(t)));
        assertThat(probe(access(t))).isEqualTo(401);
    }

    @Test
    void revoked_user_can_log_in_again() {
        Enrollment v = user(Role.VIEWER);
        JsonNode t = session(v);
        assertOk(revoke(v.user().username(), access(t)));
        JsonNode again = session(v);
        assertThat(probe(access(again))).isEqualTo(400);
    }

    @Test
    void viewer_may_not_revoke_someone_else() {
        Enrollment viewer = user(Role.VIEWER);
        Enrollment other = user(Role.VIEWER);
        JsonNode otherSession = session(other);
        // answered as for an unknown name (the same status and body), so the answer tells nobody who exists
        Http.Response r = revoke(other.user().username(), access(session(viewer)));
        assertError(r, 400, 903);
        assertThat(r.body())
                .isEqualTo(revoke(other.user().username() + "-nobody", access(session(viewer)))
                        .body()
                        .replace(
                                other.user().username() + "-nobody",
                                other.user().username()));
        assertThat(probe(access(otherSession))).isEqualTo(400);
    }

    @Test
    void manager_may_not_revoke_someone_else() {
        Enrollment manager = user(Role.MANAGER);
        Enrollment viewer = user(Role.VIEWER);
        JsonNode viewerSession = session(viewer);
        assertError(revoke(viewer.user().username(), access(session(manager))), 400, 903);
        assertError(revoke(owner.user().username(), access(session(manager))), 400, 903);
        assertThat(probe(access(viewerSession))).isEqualTo(400);
    }

    @Test
    void refresh_token_as_bearer_may_not_revoke_someone_else() {
        Enrollment viewer = user(Role.VIEWER);
        Enrollment other = user(Role.VIEWER);
        assertError(revoke(other.user().username(), refreshOf(session(viewer))), 400, 903);
    }

    @Test
    void admin_revokes_a_managers_sessions() {
        Enrollment admin = user(Role.ADMIN);
        Enrollment manager = user(Role.MANAGER);
        JsonNode m = session(manager);
        assertOk(revoke(manager.user().username(), access(session(admin))));
        assertThat(probe(access(m))).isEqualTo(401);
    }

    @Test
    void admin_revokes_a_viewers_sessions() {
        Enrollment admin = user(Role.ADMIN);
        Enrollment viewer = user(Role.VIEWER);
        JsonNode v = session(viewer);
        assertOk(revoke(viewer.user().username(), access(session(admin))));
        assertThat(probe(access(v))).isEqualTo(401);
    }

    /** SPEC §2: "every role may revoke its own sessions, admin and owner anyone's". */
    @Test
    void admin_revokes_another_admins_sessions() {
        Enrollment admin = user(Role.ADMIN);
        Enrollment other = user(Role.ADMIN);
        JsonNode o = session(other);
        assertOk(revoke(other.user().username(), access(session(admin))));
        assertThat(probe(access(o))).isEqualTo(401);
    }

    @Test
    void admin_may_not_end_the_owners_sessions() {
        Enrollment admin = user(Role.ADMIN);
        String ownerToken = server.accessToken(owner);
        // only the owner ends the owner's sessions; refused as for an unknown name
        Http.Response r = revoke(owner.user().username(), access(session(admin)));
        assertError(r, 400, 903);
        assertThat(probe(ownerToken)).isEqualTo(400);
    }

    @Test
    void owner_revokes_an_admins_sessions() {
        Enrollment admin = user(Role.ADMIN);
        JsonNode a = session(admin);
        assertOk(revoke(admin.user().username(), server.accessToken(owner)));
        assertThat(probe(access(a))).isEqualTo(401);
    }

    @Test
    void owner_revokes_their_own_sessions() {
        Enrollment o = owner;
        String t = server.accessToken(o);
        assertOk(revoke(o.user().username(), t));
        assertThat(probe(t)).isEqualTo(401);
    }

    @Test
    void revoking_one_user_leaves_the_others_signed_in() {
        Enrollment a = user(Role.VIEWER);
        Enrollment b = user(Role.VIEWER);
        JsonNode ta = session(a);
        JsonNode tb = session(b);
        assertOk(revoke(a.user().username(), access(ta)));
        assertThat(probe(access(tb))).isEqualTo(400);
    }

    @Test
    void revoking_an_unknown_user_answers_903() {
        Enrollment admin = user(Role.ADMIN);
        assertError(revoke("no-such-user-" + SEQ.incrementAndGet(), access(session(admin))), 400, 903);
    }

    @ParameterizedTest
    @ValueSource(strings = {"a%00b", "%27%20OR%20%271%27%3D%271", "x%0D%0Ay", "%E2%80%AEevil", "..", "%2e%2e"})
    void hostile_names_in_the_path_are_refused_without_500(String encoded) {
        Enrollment admin = user(Role.ADMIN);
        String token = access(session(admin));
        // a client of its own: Jetty closes the connection after refusing some of these paths itself,
        // and a shared client could hand that closing connection to the next test's request
        Http.Response r = new Http(http.base()).delete(REVOKE + encoded, Matrix.bearer(token));
        assertThat(r.status()).as(r.body()).isBetween(400, 499);
    }

    @Test
    void very_long_name_in_the_path_answers_903() {
        Enrollment admin = user(Role.ADMIN);
        assertError(revoke("a".repeat(2_000), access(session(admin))), 400, 903);
    }

    @Test
    void revoke_without_a_token_is_refused_with_904() {
        Enrollment v = user(Role.VIEWER);
        assertError(http.delete(REVOKE + v.user().username()), 401, 904);
    }

    @Test
    void revoke_with_an_unknown_token_is_refused_with_908() {
        Enrollment v = user(Role.VIEWER);
        assertError(revoke(v.user().username(), "f".repeat(64)), 401, 908);
    }

    @Test
    void revoke_with_an_expired_access_token_is_refused_with_909() {
        Enrollment v = user(Role.VIEWER);
        JsonNode t = session(v);
        server.clock.advance(Duration.ofSeconds(7201));
        assertError(revoke(v.user().username(), access(t)), 401, 909);
    }

    @Test
    void expired_refresh_token_cannot_revoke() {
        Enrollment v = user(Role.VIEWER);
        JsonNode t = session(v);
        server.clock.advance(Duration.ofDays(31));
        assertThat(revoke(v.user().username(), refreshOf(t)).status()).isEqualTo(401);
    }
}
