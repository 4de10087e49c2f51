package dev.pier.matrix;

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

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 7, item 5 (second half): revoke, delete and setup answer an unknown user exactly as they answer
 * a user the caller may not touch (same status, same body, the name aside), so their answers do not tell
 * which names exist. Item 12 (Matrix): an unknown route under {@code /api/v1/} that is not the native
 * API's answers the document's {@code {"error":"Route not found","errorId":404}}; the native API's
 * problem+json for its unknown routes carries the same two members.
 */
class UntouchableAndUnknownTest {
    @Shared
    static TestServer server;

    static Http http;

    @BeforeAll
    static void start() {
        http = server.http();
    }

    private static void assertSameAnswer(Http.Response untouchable, String name, Http.Response unknown, String ghost) {
        assertThat(untouchable.status()).isEqualTo(unknown.status());
        // the native API's problem+json names each request by its own id; everything else is the same
        assertThat(withoutRequestId(untouchable.body()))
                .isEqualTo(withoutRequestId(unknown.body()).replace(ghost, name));
        assertThat(untouchable.body()).doesNotContain("access denied");
    }

    static String withoutRequestId(String body) {
        return body.replaceAll(",\"request_id\":\"[^\"]*\"", "");
    }

    @Test
    void an_admin_asking_about_the_owner_or_another_admin_gets_the_unknown_users_answer() {
        KeyFixtures.Holder owner = KeyFixtures.owner(server);
        KeyFixtures.Holder admin = KeyFixtures.holder(server, "uadmin", Role.ADMIN, AccessLevel.FULL);
        KeyFixtures.Holder other = KeyFixtures.holder(server, "uadmin2", Role.ADMIN, AccessLevel.FULL);
        String ghost = "ghost-user";
        for (String target : new String[] {owner.name(), other.name()}) {
            assertSameAnswer(
                    http.get("/api/v1/user/auth/setup/" + target, admin.xApiKey()),
                    target,
                    http.get("/api/v1/user/auth/setup/" + ghost, admin.xApiKey()),
                    ghost);
            assertSameAnswer(
                    http.delete("/api/v1/user/delete/" + target, admin.xApiKey()),
                    target,
                    http.delete("/api/v1/user/delete/" + ghost, admin.xApiKey()),
                    ghost);
            assertSameAnswer(
                    http.send("POST", "/api/v1/users/" + target + "/totp/reset", null, null, admin.xApiKey()),
                    target,
                    http.send("POST", "/api/v1/users/" + ghost + "/totp/reset", null, null, admin.xApiKey()),
                    ghost);
        }
        assertSameAnswer(
                http.delete("/api/v1/user/auth/revoke/" + owner.name(), admin.xApiKey()),
                owner.name(),
                http.delete("/api/v1/user/auth/revoke/" + ghost, admin.xApiKey()),
                ghost);
        assertThat(server.core().users.find(other.name())).isPresent();
    }

    @Test
    void a_viewer_revoking_someone_else_gets_the_unknown_users_answer() {
        KeyFixtures.Holder viewer = KeyFixtures.holder(server, "uviewer", Role.VIEWER, AccessLevel.FULL);
        KeyFixtures.Holder other = KeyFixtures.holder(server, "uviewer2", Role.VIEWER, AccessLevel.FULL);
        Http.Response r = http.delete("/api/v1/user/auth/revoke/" + other.name(), viewer.xApiKey());
        Matrix.assertError(r, 400, 903);
        assertSameAnswer(
                r, other.name(), http.delete("/api/v1/user/auth/revoke/nobody-here", viewer.xApiKey()), "nobody-here");
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "/api/v1/foo",
                "/api/v1/",
                "/api/v1",
                "/api/v1/usersx",
                "/api/v1/droplets/list",
                "/api/v1/user/nothing",
                "/api/v1/userx/list"
            })
    void an_unknown_matrix_route_answers_the_documents_404(String path) {
        for (Http.Response r : new Http.Response[] {
            http.get(path), http.send("POST", path, "application/json", "{}"), http.delete(path)
        }) {
            assertThat(r.status()).as(path).isEqualTo(404);
            JsonNode b = r.json();
            assertThat(b)
                    .as("%s -> %s", path, r.body())
                    .isEqualTo(KeyFixtures.tree("{\"error\":\"Route not found\",\"errorId\":404}"));
        }
    }

    @Test
    void a_wrong_method_on_a_matrix_route_is_its_unknown_route() {
        Http.Response r = http.send("PUT", "/api/v1/user/list", "application/json", "{}");
        assertThat(r.status()).isEqualTo(404);
        assertThat(r.json()).isEqualTo(KeyFixtures.tree("{\"error\":\"Route not found\",\"errorId\":404}"));
    }

    @Test
    void the_native_apis_unknown_route_is_problem_json_a_matrix_client_can_read() {
        Http.Response r = http.get("/api/v1/instances/x/y/z");
        assertThat(r.status()).isEqualTo(404);
        assertThat(r.header("Content-Type")).contains("application/problem+json");
        JsonNode b = r.json();
        assertThat(b.get("status").asInt()).isEqualTo(404);
        assertThat(b.get("title").asText()).isEqualTo("Not Found");
        assertThat(b.get("error").asText()).isEqualTo("Route not found");
        assertThat(b.get("errorId").asInt()).isEqualTo(404);
        // a wrong method on a native route stays a 405 with Allow
        Http.Response wrong = http.send("PUT", "/api/v1/nodes", "application/json", "{}");
        assertThat(wrong.status()).isEqualTo(405);
        assertThat(wrong.header("Allow")).isNotBlank();
    }
}
