package dev.pier.panel;

import dev.pier.keys.KeyFixtures;
import dev.pier.support.Http;
import dev.pier.support.Matrix;
import dev.pier.support.Shared;
import dev.pier.support.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

import static dev.pier.keys.KeyFixtures.assertPlainError;
import static dev.pier.keys.KeyFixtures.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 7, client compatibility: Panel {@code create-user} takes usernames as the Panel allows them
 * (spaces, {@code @}, {@code .}; 1-64 printable characters, no control characters, unique without regard
 * to case), and such a user logs in through the Matrix API with the same name.
 */
class PanelUserNamesTest {
    static final String PASSWORD = "a long enough password";

    @Shared
    static TestServer server;

    static Http http;
    static KeyFixtures.Holder owner;

    @BeforeAll
    static void start() {
        http = server.http();
        owner = KeyFixtures.owner(server);
    }

    private static Http.Response create(String username, String email) {
        return http.postJson(
                "/api/auth/create-user",
                json("username", username, "email", email, "password", PASSWORD),
                owner.xApiKey());
    }

    private static String path(String name) {
        return URLEncoder.encode(name, StandardCharsets.UTF_8).replace("+", "%20");
    }

    @ParameterizedTest
    @ValueSource(strings = {"John Smith", "john.smith@example.com", "Zoë Åström", "j.o.h.n", "O'Brien (ops)"})
    void a_panel_name_is_accepted_and_logs_in_through_matrix(String name) {
        Http.Response r = create(name, "u" + Math.abs(name.hashCode()) + "@example.org");
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        assertThat(r.json().get("username").asText()).isEqualTo(name);

        // the enrolment, then a Matrix login with the very same name
        Http.Response setup = http.get("/api/v1/user/auth/setup/" + path(name), owner.xApiKey());
        assertThat(setup.status()).as(setup.body()).isEqualTo(200);
        String secret = setup.json().get("secret").asText();
        Matrix.assertTokens(Matrix.login(http, name, Matrix.code(secret, server.clock.instant(), 0)));
        assertThat(server.core().users.find(name)).isPresent();
    }

    @Test
    void names_are_unique_without_regard_to_case_or_width() {
        assertThat(create("Mary Major", "mary@example.org").status()).isEqualTo(201);
        assertPlainError(create("MARY MAJOR", "mary2@example.org"), 409);
        assertPlainError(create("ｍａｒｙ ｍａｊｏｒ", "mary3@example.org"), 409);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "tab\tname",
                "line\nbreak",
                "nul\u0000",
                " leading",
                "trailing ",
                "bidi\u202Eevil",
                "zero\u200Bwidth",
                "a/b",
                "back\\slash"
            })
    void control_invisible_and_path_characters_are_refused(String name) {
        Http.Response r = create(name, "bad" + Math.abs(name.hashCode()) + "@example.org");
        assertThat(assertPlainError(r, 400)).contains("username");
        assertThat(server.core().users.list()).noneMatch(u -> u.username().equals(name));
    }

    @Test
    void sixty_four_characters_are_the_most() {
        assertThat(create("n".repeat(30) + " " + "m".repeat(33), "long64@example.org")
                        .status())
                .isEqualTo(201);
        assertPlainError(create("n".repeat(65), "long65@example.org"), 400);
    }

    @Test
    void the_matrix_api_and_cli_keep_the_documents_plain_names() {
        Http.Response r =
                http.postJson("/api/v1/user/add", json("username", "has space", "group", "viewer"), owner.xApiKey());
        Matrix.assertError(r, 400, 400);
        assertThat(server.core().users.find("has space")).isEmpty();
    }
}
