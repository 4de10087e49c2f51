package dev.pier.matrix;

import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import dev.pier.support.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/** Paths under the Matrix prefix that are not routes answer the document's 404, with or without a token. */
class MatrixRoutesTest {
    private static final String NOT_FOUND = "{\"error\":\"Route not found\",\"errorId\":404}";

    @Shared
    static TestServer server;

    static Http http;
    static String ownerToken;

    @BeforeAll
    static void start() {
        http = server.http();
        ownerToken = server.accessToken(server.createUser("owner", Role.OWNER));
    }

    private static void assertRouteNotFound(Http.Response r) {
        assertThat(r.status()).as(r.body()).isEqualTo(404);
        // same fields and values, whatever the order or spacing
        assertThat(r.json()).isEqualTo(new Http.Response(404, NOT_FOUND, java.util.Map.of()).json());
        assertThat(r.header("Content-Type")).startsWith("application/json");
    }

    @ParameterizedTest
    @CsvSource({
        "GET, /api/v1/user/nope",
        "GET, /api/v1/user",
        "GET, /api/v1/user/",
        "POST, /api/v1/user/auth/nope",
        "GET, /api/v1/user/auth/setup",
        "DELETE, /api/v1/user/auth/revoke",
        "GET, /api/v1/user/a/b/c/d/e",
        "PUT, /api/v1/user/list/extra",
        "GET, /api/v1/user/list/x/y"
    })
    void unknown_route_answers_the_documents_404(String method, String path) {
        assertRouteNotFound(http.send(method, path, null, null));
        assertRouteNotFound(http.send(method, path, null, null, "Authorization", "Bearer " + ownerToken));
    }

    @Test
    void unknown_route_body_is_exactly_the_documents() {
        Http.Response r = http.get("/api/v1/user/does-not-exist");
        assertThat(r.body()).isEqualTo(NOT_FOUND);
    }

    @ParameterizedTest
    @CsvSource({
        "GET, /api/v1/user/auth",
        "GET, /api/v1/user/auth/refresh",
        "POST, /api/v1/user/list",
        "GET, /api/v1/user/add",
        "PATCH, /api/v1/user/delete/someone",
        "POST, /api/v1/user/auth/setup/someone"
    })
    void known_path_with_the_wrong_method_is_refused_in_the_matrix_shape(String method, String path) {
        Http.Response r = http.send(method, path, null, null, "Authorization", "Bearer " + ownerToken);
        assertThat(r.status()).as(r.body()).isIn(404, 405);
        assertThat(r.json().get("errorId").asInt()).isEqualTo(r.status());
        assertThat(r.json().get("error").asText()).isNotBlank();
    }
}
