package dev.pier.panel;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.auth.Totp;
import dev.pier.keys.KeyFixtures;
import dev.pier.keys.KeyFixtures.Holder;
import dev.pier.keys.KeyFormat;
import dev.pier.security.AccessLevel;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import dev.pier.support.TestServer;
import dev.pier.users.Enrollment;
import dev.pier.users.User;
import org.bouncycastle.util.encoders.Base32;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.UUID;

import static dev.pier.keys.KeyFixtures.assertPlainError;
import static dev.pier.keys.KeyFixtures.form;
import static dev.pier.keys.KeyFixtures.json;
import static org.assertj.core.api.Assertions.assertThat;

/** The Panel API's users (seeds/panel-api-reference.txt): admin keys in x-api-key, errors {"error": …}. */
class PanelUsersApiTest {
    static final String PASSWORD = "correct horse battery";

    @Shared
    static TestServer server;

    static Holder owner;

    @BeforeAll
    static void start() {
        owner = KeyFixtures.owner(server);
    }

    private static Http http() {
        return server.http();
    }

    private static Holder admin() {
        return KeyFixtures.holder(server, "padm", Role.ADMIN, AccessLevel.FULL);
    }

    private static Http.Response createUser(Holder as, Object... fields) {
        return http().postJson("/api/auth/create-user", json(fields), as.xApiKey());
    }

    private static String passwordHash(String username) {
        return (String) KeyFixtures.rows(server, "SELECT password_hash FROM users WHERE username = ?", username)
                .getFirst()
                .get("password_hash");
    }

    @Test
    void users_lists_every_user_as_userid_username_email_admin_and_nothing_secret() {
        Holder admin = admin();
        Enrollment viewer = server.createUser(KeyFixtures.name("pv"), Role.VIEWER);
        Enrollment manager = server.createUser(KeyFixtures.name("pm"), Role.MANAGER);
        String withMail = KeyFixtures.name("pmail");
        assertThat(createUser(admin, "username", withMail, "email", withMail + "@example.com", "password", PASSWORD)
                        .status())
                .isEqualTo(201);

        Http.Response r = http().get("/api/users", admin.xApiKey());
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        JsonNode users = r.json();
        assertThat(users.isArray()).isTrue();
        Map<String, JsonNode> byName = new java.util.HashMap<>();
        for (JsonNode u : users) {
            assertThat(u.properties())
                    .extracting(Map.Entry::getKey)
                    .containsExactlyInAnyOrder("userId", "username", "email", "admin");
            assertThat(u.get("userId").asText()).isNotBlank();
            byName.put(u.get("username").asText(), u);
        }
        assertThat(byName.get(owner.name()).get("admin").asBoolean()).isTrue();
        assertThat(byName.get(admin.name()).get("admin").asBoolean()).isTrue();
        assertThat(byName.get(manager.user().username()).get("admin").asBoolean())
                .isFalse();
        assertThat(byName.get(viewer.user().username()).get("admin").asBoolean())
                .isFalse();
        assertThat(byName.get(viewer.user().username()).get("userId").asText())
                .isEqualTo(viewer.user().id().toString());
        assertThat(byName.get(viewer.user().username()).get("email").isNull()).isTrue();
        assertThat(byName.get(withMail).get("email").asText()).isEqualTo(withMail + "@example.com");

        assertThat(r.body())
                .doesNotContainIgnoringCase("password")
                .doesNotContainIgnoringCase("secret")
                .doesNotContain("$argon2id$")
                .doesNotContain(passwordHash(withMail))
                .doesNotContain(viewer.secretBase32())
                .doesNotContain(manager.secretBase32())
                .doesNotContain(admin.key());
    }

    @Test
    void getuser_finds_a_user_by_username_or_email_with_201() {
        Holder admin = admin();
        String name = KeyFixtures.name("findme");
        String id = createUser(admin, "username", name, "email", name + "@example.com", "password", PASSWORD)
                .json()
                .get("userId")
                .asText();
        Map<String, Object> expected =
                Map.of("userId", id, "username", name, "email", name + "@example.com", "admin", false);

        Http.Response byName =
                http().postJson("/api/getUser", json("type", "username", "value", name), admin.xApiKey());
        assertThat(byName.status()).as(byName.body()).isEqualTo(201);
        assertThat(byName.json())
                .isEqualTo(KeyFixtures.tree(json(expected.entrySet().stream()
                        .flatMap(e -> java.util.stream.Stream.of(e.getKey(), e.getValue()))
                        .toArray())));

        Http.Response byEmail =
                http().postJson("/api/getUser", json("type", "email", "value", name + "@example.com"), admin.xApiKey());
        assertThat(byEmail.status()).isEqualTo(201);
        assertThat(byEmail.json()).isEqualTo(byName.json());

        // the Panel family speaks JSON: a form body (which any web page can post cross-site) is refused
        Http.Response byForm =
                http().postForm("/api/getUser", form("type", "username", "value", name), admin.xApiKey());
        assertThat(assertPlainError(byForm, 415)).contains("application/json");
        assertThat(byName.body()).doesNotContain("$argon2id$").doesNotContainIgnoringCase("password");
    }

    @Test
    void getuser_with_missing_or_invalid_parameters_is_400() {
        Holder admin = admin();
        for (String body : new String[] {
            "{}",
            json("type", "username"),
            json("value", admin.name()),
            json("type", "username", "value", ""),
            json("type", "id", "value", admin.name()),
            json("type", "", "value", admin.name()),
            json("type", 5, "value", admin.name()),
            json("type", "username", "value", List.of(admin.name()))
        }) {
            assertPlainError(http().postJson("/api/getUser", body, admin.xApiKey()), 400);
        }
    }

    @Test
    void getuser_for_nobody_is_400() {
        Holder admin = admin();
        assertThat(assertPlainError(
                        http().postJson(
                                        "/api/getUser",
                                        json("type", "username", "value", KeyFixtures.name("nobody")),
                                        admin.xApiKey()),
                        400))
                .isEqualTo("User not found");
        assertThat(assertPlainError(
                        http().postJson(
                                        "/api/getUser",
                                        json("type", "email", "value", "nobody@example.com"),
                                        admin.xApiKey()),
                        400))
                .isEqualTo("User not found");
        assertPlainError(
                http().postJson("/api/getUser", json("type", "username", "value", "x".repeat(500)), admin.xApiKey()),
                400);
    }

    @Test
    void create_user_returns_201_with_the_new_user_and_stores_an_argon2id_hash() {
        Holder admin = admin();
        String name = KeyFixtures.name("newbie");
        Http.Response r = createUser(admin, "username", name, "email", name + "@example.com", "password", PASSWORD);
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        JsonNode u = r.json();
        assertThat(u.properties())
                .extracting(Map.Entry::getKey)
                .containsExactlyInAnyOrder("userId", "username", "email", "admin");
        assertThat(u.get("username").asText()).isEqualTo(name);
        assertThat(u.get("email").asText()).isEqualTo(name + "@example.com");
        assertThat(u.get("admin").asBoolean()).isFalse();
        UUID id = UUID.fromString(u.get("userId").asText());

        User stored = server.core().users.find(name).orElseThrow();
        assertThat(stored.id()).isEqualTo(id);
        assertThat(stored.role()).isEqualTo(Role.VIEWER);
        String hash = passwordHash(name);
        assertThat(hash).startsWith("$argon2id$").doesNotContain(PASSWORD);
        assertThat(server.core().passwords.verify(PASSWORD, hash)).isTrue();
        assertThat(r.body()).doesNotContain(PASSWORD).doesNotContain(hash).doesNotContainIgnoringCase("password");
        assertThat(KeyFixtures.rows(server, "SELECT * FROM audit_log WHERE action = 'user.create'")
                        .toString())
                .doesNotContain(PASSWORD);
    }

    @Test
    void create_user_with_admin_true_makes_an_admin_but_only_the_owner_may() {
        String name = KeyFixtures.name("boss");
        Http.Response byOwner = createUser(
                owner, "username", name, "email", name + "@example.com", "password", PASSWORD, "admin", true);
        assertThat(byOwner.status()).as(byOwner.body()).isEqualTo(201);
        assertThat(byOwner.json().get("admin").asBoolean()).isTrue();
        assertThat(server.core().users.find(name).orElseThrow().role()).isEqualTo(Role.ADMIN);

        String other = KeyFixtures.name("wannabe");
        assertThat(assertPlainError(
                        createUser(
                                admin(),
                                "username",
                                other,
                                "email",
                                other + "@example.com",
                                "password",
                                PASSWORD,
                                "admin",
                                true),
                        403))
                .contains("owner");
        assertThat(server.core().users.find(other)).isEmpty();

        // admin:false (and the string "false") makes a plain user
        String plain = KeyFixtures.name("plain");
        Http.Response r = http().postJson(
                        "/api/auth/create-user",
                        json(
                                "username",
                                plain,
                                "email",
                                plain + "@example.com",
                                "password",
                                PASSWORD,
                                "admin",
                                "false"),
                        owner.xApiKey());
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        assertThat(r.json().get("admin").asBoolean()).isFalse();
        assertThat(server.core().users.find(plain).orElseThrow().role()).isEqualTo(Role.VIEWER);
    }

    @Test
    void create_user_honours_a_free_userid() {
        UUID wanted = UUID.randomUUID();
        String name = KeyFixtures.name("chosen");
        Http.Response r = createUser(
                admin(),
                "username",
                name,
                "email",
                name + "@example.com",
                "password",
                PASSWORD,
                "userId",
                wanted.toString());
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        assertThat(r.json().get("userId").asText()).isEqualTo(wanted.toString());
        // kept as the client's id; the user's own id is Pier's
        assertThat(server.core().users.find(name).orElseThrow().externalId()).contains(wanted.toString());
    }

    @Test
    void create_user_with_a_taken_userid_is_409() {
        Holder admin = admin();
        String name = KeyFixtures.name("clash");
        assertPlainError(
                createUser(
                        admin,
                        "username",
                        name,
                        "email",
                        name + "@example.com",
                        "password",
                        PASSWORD,
                        "userId",
                        admin.user().id().toString()),
                409);
        assertThat(server.core().users.find(name)).isEmpty();
    }

    @Test
    void create_user_accepts_any_userid_string_and_answers_it_back() {
        Holder admin = admin();
        for (Object chosen : new Object[] {
            "not-a-uuid-" + UUID.randomUUID(),
            "auth0|" + System.nanoTime(),
            4242424242L,
            "00000000-0000-0000-0000-00000000000z-" + System.nanoTime()
        }) {
            String name = KeyFixtures.name("freeuid");
            Http.Response r = createUser(
                    admin, "username", name, "email", name + "@example.com", "password", PASSWORD, "userId", chosen);
            assertThat(r.status()).as(r.body()).isEqualTo(201);
            assertThat(r.json().get("userId").asText()).isEqualTo(chosen.toString());
            Http.Response found =
                    http().postJson("/api/getUser", json("type", "username", "value", name), admin.xApiKey());
            assertThat(found.json().get("userId").asText()).isEqualTo(chosen.toString());
            // the Panel's user routes take the client's id
            Http.Response instances =
                    http().postJson("/api/getUserInstance", json("userId", chosen.toString()), admin.xApiKey());
            assertThat(instances.status()).as(instances.body()).isEqualTo(200);
            assertThat(instances.json().isArray()).isTrue();
        }
        for (String bad : new String[] {"tab\tid", "nul\u0000id", "x".repeat(256)}) {
            String name = KeyFixtures.name("baduid");
            assertPlainError(
                    createUser(
                            admin,
                            "username",
                            name,
                            "email",
                            name + "@example.com",
                            "password",
                            PASSWORD,
                            "userId",
                            bad),
                    400);
            assertThat(server.core().users.find(name)).isEmpty();
        }
    }

    @Test
    void create_user_with_an_existing_username_or_email_is_409() {
        Holder admin = admin();
        String name = KeyFixtures.name("dup");
        assertThat(createUser(admin, "username", name, "email", name + "@example.com", "password", PASSWORD)
                        .status())
                .isEqualTo(201);
        int before = server.core().users.list().size();
        assertPlainError(
                createUser(admin, "username", name, "email", "other-" + name + "@example.com", "password", PASSWORD),
                409);
        assertPlainError(
                createUser(
                        admin,
                        "username",
                        name.toUpperCase(),
                        "email",
                        "third-" + name + "@example.com",
                        "password",
                        PASSWORD),
                409);
        assertPlainError(
                createUser(admin, "username", name + "-2", "email", name + "@example.com", "password", PASSWORD), 409);
        assertPlainError(
                createUser(
                        admin, "username", owner.name(), "email", "x-" + name + "@example.com", "password", PASSWORD),
                409);
        assertThat(server.core().users.list()).hasSize(before);
    }

    @Test
    void create_user_with_a_short_common_or_guessable_password_is_400() {
        Holder admin = admin();
        String name = KeyFixtures.name("short");
        assertThat(assertPlainError(
                        createUser(admin, "username", name, "email", name + "@example.com", "password", "Zq8!rT2"),
                        400))
                .contains("at least 8");
        assertPlainError(createUser(admin, "username", name, "email", name + "@example.com", "password", ""), 400);
        for (String weak :
                new String[] {"password1234", "aaaaaaaaaaaa", "qwertyuiop12", "iloveyou", name, "P@ssw0rd2024"}) {
            assertThat(assertPlainError(
                            createUser(admin, "username", name, "email", name + "@example.com", "password", weak), 400))
                    .as(weak)
                    .contains("too easy to guess");
        }
        assertThat(server.core().users.find(name)).isEmpty();
        // eight characters are enough when they are not guessable (every user has a TOTP factor too)
        assertThat(createUser(admin, "username", name, "email", name + "@example.com", "password", "xK9#mQ2p")
                        .status())
                .isEqualTo(201);
    }

    @Test
    void create_user_with_missing_fields_is_400() {
        Holder admin = admin();
        String name = KeyFixtures.name("missing");
        int before = server.core().users.list().size();
        for (String body : new String[] {
            "{}",
            json("username", name),
            json("username", name, "email", name + "@x.org"),
            json("username", name, "password", PASSWORD),
            json("email", name + "@x.org", "password", PASSWORD),
            json("username", "", "email", name + "@x.org", "password", PASSWORD),
            json("username", name, "email", "", "password", PASSWORD),
            json("username", name, "email", name + "@x.org", "password", null)
        }) {
            assertPlainError(http().postJson("/api/auth/create-user", body, admin.xApiKey()), 400);
        }
        assertThat(server.core().users.list()).hasSize(before);
    }

    @Test
    void create_user_with_hostile_or_mistyped_fields_is_400_never_500() {
        Holder admin = admin();
        int before = server.core().users.list().size();
        for (String body : new String[] {
            json("username", " leading-space", "email", "ab@example.com", "password", PASSWORD),
            json("username", "tab\tname", "email", "tab@example.com", "password", PASSWORD),
            json("username", "slash/name", "email", "slash@example.com", "password", PASSWORD),
            json("username", "<script>alert(1)</script>", "email", "s@example.com", "password", PASSWORD),
            json("username", "x".repeat(65), "email", "long@example.com", "password", PASSWORD),
            json("username", "ro\u0000ot", "email", "nul@example.com", "password", PASSWORD),
            json("username", "valid-name", "email", "not-an-email", "password", PASSWORD),
            json("username", "valid-name", "email", "a@b@c", "password", PASSWORD),
            json("username", 42, "email", "n@example.com", "password", PASSWORD),
            json("username", "valid-name", "email", List.of("e@example.com"), "password", PASSWORD),
            json("username", "valid-name", "email", "p@example.com", "password", 123456789012345L),
            json("username", "valid-name", "email", "p@example.com", "password", PASSWORD, "admin", "maybe"),
            json("username", "valid-name", "email", "p@example.com", "password", "p".repeat(2000)),
            "{",
            "[]",
            "null",
            "{\"username\":\"valid-name\",}",
        }) {
            Http.Response r = http().postJson("/api/auth/create-user", body, admin.xApiKey());
            assertPlainError(r, 400);
        }
        assertThat(server.core().users.list()).hasSize(before);
        assertThat(server.core().users.find("valid-name")).isEmpty();
    }

    @Test
    void create_user_with_a_body_over_one_mebibyte_is_413() {
        Holder admin = admin();
        String big = json("username", "huge", "email", "huge@example.com", "password", "p".repeat(KeyFixtures.MIB));
        assertPlainError(http().postJson("/api/auth/create-user", big, admin.xApiKey()), 413);
        assertThat(server.core().users.find("huge")).isEmpty();
    }

    @Test
    void without_a_key_the_panel_says_api_key_is_required() {
        for (Http.Response r : List.of(
                http().get("/api/users"),
                http().postJson("/api/getUser", json("type", "username", "value", owner.name())),
                http().postJson(
                                "/api/auth/create-user",
                                json("username", "x", "email", "x@example.com", "password", PASSWORD)),
                http().get("/api/users", "x-api-key", ""))) {
            assertThat(r.json()).isEqualTo(KeyFixtures.tree(json("error", "API key is required")));
            assertThat(r.status()).isEqualTo(401);
        }
    }

    @Test
    void with_a_bad_key_the_panel_says_api_key_invalid() {
        String typo = owner.key().substring(0, 40)
                + (owner.key().charAt(40) == 'A' ? 'B' : 'A')
                + owner.key().substring(41);
        for (String bad : new String[] {typo, KeyFormat.generate(), "not-a-key", "pier_", "x".repeat(300)}) {
            for (Http.Response r : List.of(
                    http().get("/api/users", "x-api-key", bad),
                    http().postJson("/api/getUser", json("type", "username", "value", owner.name()), "x-api-key", bad),
                    http().postJson(
                                    "/api/auth/create-user",
                                    json("username", "x", "email", "x@example.com", "password", PASSWORD),
                                    "x-api-key",
                                    bad))) {
                assertThat(r.status()).as(bad).isEqualTo(401);
                assertThat(r.json()).as(bad).isEqualTo(KeyFixtures.tree(json("error", "API Key Invalid")));
            }
        }
    }

    @Test
    void viewers_and_managers_keys_are_forbidden() {
        for (Role role : new Role[] {Role.VIEWER, Role.MANAGER}) {
            Holder h = KeyFixtures.holder(server, "pnope", role, AccessLevel.FULL);
            assertPlainError(http().get("/api/users", h.xApiKey()), 403);
            assertPlainError(
                    http().postJson("/api/getUser", json("type", "username", "value", h.name()), h.xApiKey()), 403);
            String name = KeyFixtures.name("pn");
            assertPlainError(
                    createUser(h, "username", name, "email", name + "@example.com", "password", PASSWORD), 403);
            assertThat(server.core().users.find(name)).isEmpty();
        }
    }

    @Test
    void a_user_created_through_the_panel_makes_a_key_with_its_password_and_logs_in_through_matrix() {
        String name = KeyFixtures.name("journey");
        Http.Response created =
                createUser(owner, "username", name, "email", name + "@example.com", "password", PASSWORD);
        assertThat(created.status()).isEqualTo(201);

        // Matrix: the owner fetches the pending enrolment, and hands the user the secret
        Http.Response setup = http().get("/api/v1/user/auth/setup/" + name, "Authorization", "Bearer " + owner.key());
        assertThat(setup.status()).as(setup.body()).isEqualTo(200);
        String secret = setup.json().get("secret").asText();
        int pad = secret.length() % 8 == 0 ? 0 : 8 - secret.length() % 8;
        byte[] raw = Base32.decode(secret + "=".repeat(pad));

        // User API keys: username + password + the current code (a password alone never mints a key)
        Http.Response alone = KeyFixtures.postMultipart(
                http(),
                "/api/user/create_apikey",
                "username",
                name,
                "password",
                PASSWORD,
                "access_level",
                "full",
                "comment",
                "first key");
        assertThat(alone.status()).as(alone.body()).isEqualTo(401);
        Http.Response key = KeyFixtures.postMultipart(
                http(),
                "/api/user/create_apikey",
                "username",
                name,
                "password",
                PASSWORD,
                "code",
                Totp.code(raw, Totp.step(server.clock.instant())),
                "access_level",
                "full",
                "comment",
                "first key");
        assertThat(key.status()).as(key.body()).isEqualTo(200);
        String newKey = key.json().at("/data/new_key").asText();
        Http.Response mine = http().get("/api/v1/api_tokens", "Token", newKey);
        assertThat(mine.status()).isEqualTo(200);
        assertThat(mine.json().get(0).get("owner").asText())
                .isEqualTo(created.json().get("userId").asText());

        // the secret is active now: never shown again; the user logs in through Matrix with a later code
        assertThat(http().get("/api/v1/user/auth/setup/" + name, "Authorization", "Bearer " + owner.key())
                        .status())
                .isEqualTo(409);
        server.clock.advance(java.time.Duration.ofSeconds(30));
        String code = Totp.code(raw, Totp.step(server.clock.instant()));
        Http.Response login = http().postJson("/api/v1/user/auth", json("username", name, "code", code));
        assertThat(login.status()).as(login.body()).isEqualTo(200);
        String access = login.json().get("access_token").asText();
        assertThat(http().get("/api/v1/api_tokens", "Authorization", "Bearer " + access)
                        .json()
                        .get(0)
                        .get("id")
                        .asText())
                .isEqualTo(mine.json().get(0).get("id").asText());
    }

    @Test
    void a_malformed_body_is_refused_in_the_panel_shape() {
        Holder admin = admin();
        for (String path : new String[] {"/api/getUser", "/api/auth/create-user"}) {
            for (String body : new String[] {"{", "[1,2]", "\"x\"", "{\"type\":\"username\" \"value\":\"x\"}"}) {
                assertPlainError(http().postJson(path, body, admin.xApiKey()), 400);
            }
        }
    }
}
