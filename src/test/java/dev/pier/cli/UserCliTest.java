package dev.pier.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Matrix;
import dev.pier.support.Shared;
import dev.pier.support.TestDatabases;
import dev.pier.support.TestServer;
import dev.pier.users.Enrollment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.pier.support.Matrix.assertError;
import static dev.pier.support.Matrix.assertTokens;
import static dev.pier.support.Matrix.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code pier user create -u NAME -g GROUP [-r]} (the Matrix document's {@code create-user.js}) run
 * in-process against the data directory and database of a running server, as an operator would from a
 * second terminal. The server learns of the CLI's changes by polling the cache epoch (every 100 ms in
 * tests), so effects on HTTP are awaited, never slept for.
 *
 * <p>On PostgreSQL the database user and password reach the CLI through {@code pier.properties} in the
 * data directory; the URL is also given with {@code --db}.
 */
class UserCliTest {
    private static final Pattern URI =
            Pattern.compile("otpauth://totp/Pier:([^?\\s]+)\\?secret=([A-Z2-7]+)&issuer=Pier\\S*");
    private static final AtomicInteger SEQ = new AtomicInteger();

    @Shared
    static TestServer server;

    static Http http;
    static Enrollment owner;

    @BeforeAll
    static void start() throws IOException {
        http = server.http();
        owner = server.createUser("boss", Role.OWNER);
        if (TestDatabases.postgres()) {
            var c = server.config();
            Files.writeString(
                    server.dataDir().resolve("pier.properties"),
                    "db.url=" + c.dbUrl().orElseThrow() + "\n" + "db.user=" + c.dbUser() + "\n" + "db.password="
                            + c.dbPassword() + "\n");
        }
    }

    record Run(int exit, String out, String err) {
        /** The secret of the otpauth URI the command printed for {@code username}. */
        String secretFor(String username) {
            Matcher m = URI.matcher(out);
            assertThat(m.find()).as("an otpauth URI in: %s", out).isTrue();
            assertThat(m.group(1)).isEqualTo(username);
            return m.group(2);
        }
    }

    private static Run pier(String... args) {
        CommandLine cl = PierCommand.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--data");
        all.add(server.dataDir().toString());
        server.config().dbUrl().ifPresent(url -> {
            all.add("--db");
            all.add(url);
        });
        int exit = cl.execute(all.toArray(String[]::new));
        return new Run(exit, out.toString(), err.toString());
    }

    private static String name(String prefix) {
        return prefix + "-" + SEQ.incrementAndGet();
    }

    private static String code(String secret) {
        return Matrix.code(secret, server.clock.instant(), 0);
    }

    /** 400 (unknown user) while the token is good, 401 once it is not; no side effects either way. */
    private static int probe(String accessToken) {
        return http.delete("/api/v1/user/auth/revoke/nobody-at-all", Matrix.bearer(accessToken))
                .status();
    }

    private static JsonNode loginWith(String username, String secret) {
        JsonNode t = assertTokens(Matrix.login(http, username, code(secret)));
        server.clock.advance(Duration.ofSeconds(30));
        return t;
    }

    @Test
    void user_created_by_the_cli_while_the_server_runs_logs_in_over_http() {
        String n = name("cli-viewer");
        Run run = pier("user", "create", "-u", n, "-g", "viewer");
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out()).contains("otpauth://totp/Pier:" + n + "?secret=");
        // a QR code for the terminal comes with it
        assertThat(run.out()).containsAnyOf("█", "▀", "▄");
        String secret = run.secretFor(n);
        JsonNode t = loginWith(n, secret);
        assertThat(probe(t.get("access_token").asText())).isEqualTo(400);
    }

    @Test
    void user_created_by_the_cli_appears_in_the_http_list() {
        String ownerToken = server.accessToken(owner);
        // the list is served from memory: load it before the CLI changes the table behind the server's back
        assertThat(http.get("/api/v1/user/list", Matrix.bearer(ownerToken)).status())
                .isEqualTo(200);
        String n = name("cli-listed");
        assertThat(pier("user", "create", "-u", n, "-g", "manager").exit()).isZero();
        await().atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(50))
                .untilAsserted(() -> assertThat(http.get("/api/v1/user/list", Matrix.bearer(ownerToken))
                                .body())
                        .contains("\"" + n + "\""));
    }

    @Test
    void second_owner_is_declined_with_a_nonzero_exit_and_a_clear_message() {
        String n = name("usurper");
        Run run = pier("user", "create", "-u", n, "-g", "owner");
        assertThat(run.exit()).isNotZero();
        assertThat(run.err()).containsIgnoringCase("owner").containsIgnoringCase("exists");
        assertThat(run.out()).doesNotContain("otpauth://");
        assertThat(server.core().users.find(n)).isEmpty();
        assertThat(server.core().users.list())
                .filteredOn(u -> u.role() == Role.OWNER)
                .hasSize(1);
    }

    @Test
    void existing_user_is_not_created_twice() {
        String n = name("twice");
        assertThat(pier("user", "create", "-u", n, "-g", "viewer").exit()).isZero();
        Run again = pier("user", "create", "-u", n.toUpperCase(), "-g", "viewer");
        assertThat(again.exit()).isNotZero();
        assertThat(again.err()).contains("-r");
        assertThat(again.out()).doesNotContain("otpauth://");
    }

    @Test
    void unknown_group_or_bad_name_is_declined_with_a_message() {
        Run group = pier("user", "create", "-u", name("grouped"), "-g", "superuser");
        assertThat(group.exit()).isNotZero();
        assertThat(group.err()).contains("superuser");
        Run bad = pier("user", "create", "-u", "bad name!", "-g", "viewer");
        assertThat(bad.exit()).isNotZero();
        assertThat(bad.err()).contains("username");
        Run noGroup = pier("user", "create", "-u", name("groupless"));
        assertThat(noGroup.exit()).isNotZero();
        assertThat(noGroup.err()).contains("-g");
    }

    @Test
    void reset_gives_a_new_secret_and_ends_the_users_sessions() {
        String n = name("cli-reset");
        String oldSecret = pier("user", "create", "-u", n, "-g", "admin").secretFor(n);
        JsonNode session = loginWith(n, oldSecret);
        String access = session.get("access_token").asText();
        assertThat(probe(access)).isEqualTo(400);

        Run reset = pier("user", "create", "-u", n, "-g", "admin", "-r");
        assertThat(reset.exit()).as(reset.err()).isZero();
        String newSecret = reset.secretFor(n);
        assertThat(newSecret).isNotEqualTo(oldSecret);

        // the server notices the other process's change within a poll or two
        await().atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> probe(access) == 401);
        assertError(http.delete("/api/v1/user/auth/revoke/nobody-at-all", Matrix.bearer(access)), 401, 908);
        assertError(
                http.postJson(
                        Matrix.REFRESH,
                        json(
                                "grant_type",
                                "refresh_token",
                                "refresh_token",
                                session.get("refresh_token").asText())),
                401,
                910);
        assertError(Matrix.login(http, n, code(oldSecret)), 400, 902);
        JsonNode fresh = loginWith(n, newSecret);
        assertThat(probe(fresh.get("access_token").asText())).isEqualTo(400);
    }

    @Test
    void reset_without_a_group_works_too() {
        String n = name("cli-reset-bare");
        String oldSecret = pier("user", "create", "-u", n, "-g", "viewer").secretFor(n);
        Run reset = pier("user", "create", "-u", n, "-r");
        assertThat(reset.exit()).as(reset.err()).isZero();
        assertThat(reset.secretFor(n)).isNotEqualTo(oldSecret);
    }

    @Test
    void owner_reset_as_in_the_document_is_not_taken_for_a_second_owner() {
        Enrollment o = owner;
        String access = server.accessToken(o);
        Run reset = pier("user", "create", "-u", o.user().username(), "-g", "owner", "-r");
        assertThat(reset.exit()).as(reset.err()).isZero();
        String secret = reset.secretFor(o.user().username());
        await().atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> probe(access) == 401);
        loginWith(o.user().username(), secret);
        owner = new Enrollment(o.user(), secret);
    }

    @Test
    void reset_of_an_unknown_user_fails() {
        Run reset = pier("user", "create", "-u", name("ghost"), "-r");
        assertThat(reset.exit()).isNotZero();
        assertThat(reset.err()).contains("not found");
    }

    @Test
    void delete_by_the_cli_ends_the_users_sessions_at_once() {
        String n = name("cli-deleted");
        String secret = pier("user", "create", "-u", n, "-g", "manager").secretFor(n);
        String access = loginWith(n, secret).get("access_token").asText();
        assertThat(probe(access)).isEqualTo(400);
        Run delete = pier("user", "delete", n);
        assertThat(delete.exit()).as(delete.err()).isZero();
        await().atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> probe(access) == 401);
    }

    @Test
    void cli_refuses_to_delete_the_owner() {
        Run delete = pier("user", "delete", owner.user().username());
        assertThat(delete.exit()).isNotZero();
        assertThat(delete.err()).containsIgnoringCase("owner");
        assertThat(server.core().users.find(owner.user().username())).isPresent();
    }

    @Test
    void create_help_documents_the_reset_flag() {
        CommandLine cl = PierCommand.commandLine();
        StringWriter out = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        assertThat(cl.execute("user", "create", "--help")).isZero();
        assertThat(out.toString()).contains("-r").contains("-u").contains("-g");
    }
}
