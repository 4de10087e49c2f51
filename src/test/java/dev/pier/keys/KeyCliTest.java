package dev.pier.keys;

import dev.pier.cli.PierCommand;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import dev.pier.support.TestDatabases;
import dev.pier.support.TestServer;
import dev.pier.users.Enrollment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.pier.keys.KeyFixtures.form;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code pier key …} (and the user commands that affect keys) run in-process against the data directory
 * of a running server, as an operator would from a second terminal. The server learns of the CLI's
 * changes through the cache epoch it polls (every 100 ms in tests).
 *
 * <p>On PostgreSQL the CLI reads the database URL, user and password from {@code pier.properties} in the
 * data directory (the user and password cannot be set as environment variables in-process).
 */
class KeyCliTest {
    private static final Pattern CREATED = Pattern.compile(
            "Created API key ([0-9a-f-]{36}) for (\\S+) \\(level (\\w+)\\)\\..*\\R(pier_\\w+)\\R", Pattern.DOTALL);

    @Shared
    static TestServer server;

    @BeforeAll
    static void start() throws IOException {
        if (TestDatabases.postgres()) {
            var c = server.config();
            Files.writeString(
                    server.dataDir().resolve("pier.properties"),
                    "db.url=" + c.dbUrl().orElseThrow() + "\n" + "db.user=" + c.dbUser() + "\n" + "db.password="
                            + c.dbPassword() + "\n");
        }
    }

    record Run(int exit, String out, String err) {}

    private static Run pier(String... args) {
        CommandLine cl = PierCommand.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--data");
        all.add(server.dataDir().toString());
        int exit = cl.execute(all.toArray(String[]::new));
        return new Run(exit, out.toString(), err.toString());
    }

    private static Run pierWithStdin(String stdin, String... args) {
        InputStream saved = System.in;
        System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
        try {
            return pier(args);
        } finally {
            System.setIn(saved);
        }
    }

    private record Created(String id, String key) {}

    private static Created created(Run run) {
        assertThat(run.exit()).as(run.err()).isZero();
        Matcher m = CREATED.matcher(run.out());
        assertThat(m.find()).as(run.out()).isTrue();
        return new Created(m.group(1), m.group(4));
    }

    @Test
    void key_create_prints_a_key_that_works_over_http() {
        Enrollment admin = server.createUser(KeyFixtures.name("cliadm"), Role.ADMIN);
        String name = admin.user().username();
        Run run = pier("key", "create", "--user", name, "--level", "basic", "--description", "x");
        Created c = created(run);
        assertThat(run.out()).contains("for " + name + " (level basic)");
        assertThat(KeyFormat.isValid(c.key())).isTrue();

        Http http = server.http();
        assertThat(http.get("/api/v1/user/list", "Authorization", "Bearer " + c.key())
                        .status())
                .isEqualTo(200);
        assertThat(http.get("/api/users", "x-api-key", c.key()).status()).isEqualTo(200);
        Http.Response write = http.postJson(
                "/api/v1/user/add",
                KeyFixtures.json("username", KeyFixtures.name("nope"), "group", "viewer"),
                "Authorization",
                "Bearer " + c.key());
        assertThat(write.status()).as("a basic key does not write").isEqualTo(403);

        Http.Response shown = http.get(
                "/api/v1/api_tokens/all", "Token", KeyFixtures.owner(server).key());
        assertThat(shown.body()).contains(c.id()).doesNotContain(c.key());
    }

    @Test
    void key_list_shows_the_key_without_its_value() {
        String name = server.createUser(KeyFixtures.name("clilist"), Role.VIEWER)
                .user()
                .username();
        Created c = created(
                pier("key", "create", "--user", name, "--level", "apikey", "--description", "listed by the cli"));
        Run list = pier("key", "list", "--user", name);
        assertThat(list.exit()).as(list.err()).isZero();
        assertThat(list.out())
                .contains(c.id())
                .contains("apikey")
                .contains("listed by the cli")
                .contains(name)
                .doesNotContain(c.key())
                .doesNotContain(c.key().substring(5, 45));

        Run all = pier("key", "list");
        assertThat(all.exit()).isZero();
        assertThat(all.out()).contains(c.id()).doesNotContain(c.key());
    }

    @Test
    void key_revoke_stops_a_key_the_server_has_cached_within_a_second() {
        String name = server.createUser(KeyFixtures.name("clirev"), Role.VIEWER)
                .user()
                .username();
        Created c = created(pier("key", "create", "--user", name));
        Http http = server.http();
        // used twice: the server now holds it in its cache
        assertThat(http.get("/api/v1/api_tokens", "Token", c.key()).status()).isEqualTo(200);
        assertThat(http.get("/api/v1/api_tokens", "Token", c.key()).status()).isEqualTo(200);

        Run revoke = pier("key", "revoke", c.id());
        assertThat(revoke.exit()).as(revoke.err()).isZero();
        assertThat(revoke.out()).contains(c.id());

        await().atMost(Duration.ofMillis(1500))
                .pollInterval(Duration.ofMillis(20))
                .until(() -> http.get("/api/v1/api_tokens", "Token", c.key()).status() == 401);
        assertThat(pier("key", "list", "--user", name).out()).doesNotContain(c.id());
    }

    @Test
    void user_disable_by_the_cli_stops_the_users_keys_within_a_second() {
        String name = server.createUser(KeyFixtures.name("clidis"), Role.VIEWER)
                .user()
                .username();
        Created c = created(pier("key", "create", "--user", name));
        Http http = server.http();
        assertThat(http.get("/api/v1/api_tokens", "Token", c.key()).status()).isEqualTo(200);

        assertThat(pier("user", "disable", name).exit()).isZero();
        await().atMost(Duration.ofMillis(1500))
                .pollInterval(Duration.ofMillis(20))
                .until(() -> http.get("/api/v1/api_tokens", "Token", c.key()).status() == 401);

        // enabling the user again does not bring the key back (disabling marked it disabled) ...
        assertThat(pier("user", "enable", name).exit()).isZero();
        await().during(Duration.ofMillis(500))
                .atMost(Duration.ofMillis(1500))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> http.get("/api/v1/api_tokens", "Token", c.key()).status() == 401);
        assertThat(http.get("/api/v1/api_tokens", "Token", c.key()).body()).contains("not enabled");
        // ... until the key itself is enabled again
        Run enable = pier("key", "enable", c.id());
        assertThat(enable.exit()).as(enable.err()).isZero();
        await().atMost(Duration.ofMillis(1500))
                .pollInterval(Duration.ofMillis(20))
                .until(() -> http.get("/api/v1/api_tokens", "Token", c.key()).status() == 200);
    }

    @Test
    void user_role_by_the_cli_limits_the_users_keys_within_a_second() {
        String name = server.createUser(KeyFixtures.name("clirole"), Role.ADMIN)
                .user()
                .username();
        Created c = created(pier("key", "create", "--user", name));
        Http http = server.http();
        assertThat(http.get("/api/users", "x-api-key", c.key()).status()).isEqualTo(200);

        assertThat(pier("user", "role", name, "viewer").exit()).isZero();
        await().atMost(Duration.ofMillis(1500))
                .pollInterval(Duration.ofMillis(20))
                .until(() -> http.get("/api/users", "x-api-key", c.key()).status() == 403);
    }

    @Test
    void user_passwd_from_stdin_lets_the_user_create_a_key_with_the_password() {
        var enrollment = server.createUser(KeyFixtures.name("clipw"), Role.VIEWER);
        String name = enrollment.user().username();
        Run run = pierWithStdin("set by the cli, long enough\n", "user", "passwd", name, "--stdin");
        assertThat(run.exit()).as(run.err()).isZero();

        Http.Response r = server.http()
                .postForm(
                        "/api/user/create_apikey",
                        form(
                                "username",
                                name,
                                "password",
                                "set by the cli, long enough",
                                "code",
                                server.code(enrollment),
                                "access_level",
                                "basic"));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(KeyFormat.isValid(r.json().at("/data/new_key").asText())).isTrue();

        Run tooShort = pierWithStdin("short\n", "user", "passwd", name, "--stdin");
        assertThat(tooShort.exit()).isNotZero();
        assertThat(tooShort.err()).contains("at least 8");
        for (String weak : new String[] {"password1234", "aaaaaaaaaaaa"}) {
            Run common = pierWithStdin(weak + "\n", "user", "passwd", name, "--stdin");
            assertThat(common.exit()).as(weak).isEqualTo(2);
            assertThat(common.err()).contains("too easy to guess");
        }
    }

    @Test
    void key_create_refuses_an_unknown_user_a_bad_level_and_a_past_expiry() {
        int before = KeyFixtures.keyCount(server);
        Run unknown = pier("key", "create", "--user", KeyFixtures.name("ghost"));
        assertThat(unknown.exit()).isEqualTo(2);
        assertThat(unknown.err()).contains("not found");

        String name = server.createUser(KeyFixtures.name("clibad"), Role.VIEWER)
                .user()
                .username();
        Run level = pier("key", "create", "--user", name, "--level", "root");
        assertThat(level.exit()).isEqualTo(2);
        assertThat(level.err()).contains("--level");

        Run past = pier("key", "create", "--user", name, "--expires", "2020-01-01");
        assertThat(past.exit()).isEqualTo(2);
        assertThat(past.err()).contains("expires");

        Run farFuture = pier("key", "create", "--user", name, "--expires", "+10000-01-01T00:00:00Z");
        assertThat(farFuture.exit()).isEqualTo(2);
        assertThat(farFuture.err()).contains("expires");

        Run longDesc = pier("key", "create", "--user", name, "--description", "d".repeat(256));
        assertThat(longDesc.exit()).isEqualTo(2);
        assertThat(KeyFixtures.keyCount(server)).isEqualTo(before);
    }

    @Test
    void key_create_with_an_expiry_makes_a_key_that_expires() {
        String name = server.createUser(KeyFixtures.name("cliexp"), Role.VIEWER)
                .user()
                .username();
        String expires = server.clock
                .instant()
                .plus(Duration.ofDays(2))
                .truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                .toString();
        Created c = created(pier("key", "create", "--user", name, "--expires", expires));
        assertThat(server.http().get("/api/v1/api_tokens", "Token", c.key()).status())
                .isEqualTo(200);
        server.clock.advance(Duration.ofDays(3));
        Http.Response r = server.http().get("/api/v1/api_tokens", "Token", c.key());
        assertThat(r.status()).isEqualTo(401);
        assertThat(r.json().get("error").asText()).isEqualTo("token expired");
    }

    @Test
    void key_revoke_of_a_malformed_or_unknown_id_fails() {
        Run malformed = pier("key", "revoke", "not-a-uuid");
        assertThat(malformed.exit()).isEqualTo(2);
        assertThat(malformed.err()).contains("UUID");
        Run unknown = pier("key", "revoke", java.util.UUID.randomUUID().toString());
        assertThat(unknown.exit()).isEqualTo(2);
        assertThat(unknown.err()).contains("not found");
    }
}
