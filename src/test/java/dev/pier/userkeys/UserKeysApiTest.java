package dev.pier.userkeys;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.keys.KeyFixtures;
import dev.pier.keys.KeyFixtures.Holder;
import dev.pier.keys.KeyFormat;
import dev.pier.security.AccessLevel;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import dev.pier.support.TestServer;
import dev.pier.users.Enrollment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static dev.pier.keys.KeyFixtures.assertUserKeysError;
import static dev.pier.keys.KeyFixtures.form;
import static dev.pier.keys.KeyFixtures.json;
import static dev.pier.keys.KeyFixtures.postMultipart;
import static org.assertj.core.api.Assertions.assertThat;

/** The User API keys family (seeds/filebin-user-api.md), unversioned and under version prefixes. */
class UserKeysApiTest {
    static final String PASSWORD = "a long enough password";

    @Shared
    static TestServer server;

    private static Http http() {
        return server.http();
    }

    private static Holder viewer() {
        return KeyFixtures.holder(server, "fb", Role.VIEWER, AccessLevel.FULL);
    }

    private static Holder withPassword(Holder h) {
        server.core()
                .users
                .setPasswordHash(
                        Principal.system(), h.name(), server.core().passwords.hash(PASSWORD));
        return h;
    }

    /** A user with a password, and the enrolment whose codes go with it. */
    private static Enrollment passwordUser() {
        Enrollment e = server.createUser(KeyFixtures.name("fbpw"), Role.VIEWER);
        server.core()
                .users
                .setPasswordHash(
                        Principal.system(),
                        e.user().username(),
                        server.core().passwords.hash(PASSWORD));
        return e;
    }

    /** What a client holding {@code key} computes to find it in a listing: sha256: + 16 hex digits. */
    static String fingerprint(String key) {
        return "sha256:" + dev.pier.crypto.Hashing.sha256Hex(key).substring(0, 16);
    }

    private static JsonNode success(Http.Response r) {
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        JsonNode b = r.json();
        assertThat(b.path("status").asText()).as(r.body()).isEqualTo("success");
        assertThat(b.has("data")).isTrue();
        return b.get("data");
    }

    @ParameterizedTest
    @ValueSource(strings = {"/api/user", "/api/v2.1.0/user", "/api/v1/user", "/api/v2/user", "/api/v1.2/user"})
    void apikeys_lists_your_keys_under_their_ids(String prefix) {
        Holder alice = viewer();
        server.clock.advance(java.time.Duration.ofSeconds(2));
        String second = success(postMultipart(
                        http(),
                        prefix + "/create_apikey",
                        "apikey",
                        alice.key(),
                        "access_level",
                        "basic",
                        "comment",
                        "fb-client flo@Marin"))
                .get("new_key")
                .asText();
        Holder other = viewer();

        for (Http.Response r : List.of(
                postMultipart(http(), prefix + "/apikeys", "apikey", alice.key()),
                http().get(prefix + "/apikeys", alice.xApiKey()),
                http().postForm(prefix + "/apikeys", form("apikey", alice.key())))) {
            JsonNode keys = success(r).get("apikeys");
            assertThat(keys.size()).as(r.body()).isEqualTo(2);
            assertThat(r.body())
                    .doesNotContain(alice.key())
                    .doesNotContain(second)
                    .doesNotContain(other.keyId().toString());
            Iterator<Map.Entry<String, JsonNode>> it = keys.properties().iterator();
            Map.Entry<String, JsonNode> first = it.next();
            assertThat(first.getKey()).isEqualTo(alice.keyId().toString());
            assertThat(first.getValue().get("key").asText()).isEqualTo(first.getKey());
            assertThat(first.getValue().get("comment").asText()).isEqualTo("fixture");
            assertThat(first.getValue().get("access_level").asText()).isEqualTo("full");
            Map.Entry<String, JsonNode> next = it.next();
            UUID.fromString(next.getKey());
            assertThat(next.getValue().get("key").asText()).isEqualTo(next.getKey());
            assertThat(next.getValue().get("comment").asText()).isEqualTo("fb-client flo@Marin");
            assertThat(next.getValue().get("access_level").asText()).isEqualTo("basic");
            JsonNode created = next.getValue().get("created");
            assertThat(created.isIntegralNumber())
                    .as("created is epoch seconds: %s", created)
                    .isTrue();
            assertThat(created.asLong())
                    .isBetween(
                            server.clock.instant().getEpochSecond() - 5,
                            server.clock.instant().getEpochSecond());
            assertThat(next.getValue().properties())
                    .extracting(Map.Entry::getKey)
                    .containsExactlyInAnyOrder("key", "created", "comment", "access_level", "id", "fingerprint");
            // a client holding a key finds it by the fingerprint it computes from the key
            assertThat(next.getValue().get("fingerprint").asText()).isEqualTo(fingerprint(second));
            assertThat(first.getValue().get("fingerprint").asText()).isEqualTo(fingerprint(alice.key()));
            assertThat(next.getValue().get("id").asText()).isEqualTo(next.getKey());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"multipart", "urlencoded", "json"})
    void create_apikey_with_an_apikey_in_each_encoding(String encoding) {
        Holder alice = viewer();
        String path = "/api/v2.1.0/user/create_apikey";
        Http.Response r = switch (encoding) {
            case "multipart" ->
                postMultipart(
                        http(), path, "apikey", alice.key(), "access_level", "apikey", "comment", "This is a test key");
            case "urlencoded" ->
                http().postForm(
                                path,
                                form("apikey", alice.key(), "access_level", "apikey", "comment", "This is a test key"));
            default ->
                http().postJson(
                                path,
                                json("apikey", alice.key(), "access_level", "apikey", "comment", "This is a test key"));
        };
        JsonNode data = success(r);
        assertThat(data.properties()).extracting(Map.Entry::getKey).containsExactly("new_key", "id", "fingerprint");
        String key = data.get("new_key").asText();
        assertThat(KeyFormat.isValid(key)).isTrue();
        assertThat(data.get("fingerprint").asText()).isEqualTo(fingerprint(key));

        JsonNode listed = success(http().postForm("/api/user/apikeys", form("apikey", alice.key())))
                .get("apikeys");
        assertThat(listed.size()).isEqualTo(2);
        boolean found = false;
        for (JsonNode k : listed) {
            if (k.get("comment").asText().equals("This is a test key")) {
                assertThat(k.get("access_level").asText()).isEqualTo("apikey");
                found = true;
            }
        }
        assertThat(found).isTrue();
        // the new key has the level asked for: it may not list keys
        assertUserKeysError(
                http().postForm("/api/user/apikeys", form("apikey", key)), 403, "api/insufficient-permissions");
    }

    /** The password path needs the current TOTP code: in a code field, or as six digits after the password. */
    @ParameterizedTest
    @ValueSource(strings = {"multipart", "urlencoded", "json", "code-appended"})
    void create_apikey_with_username_password_and_code(String encoding) {
        Enrollment alice = passwordUser();
        String name = alice.user().username();
        String code = server.code(alice);
        String path = "/api/user/create_apikey";
        Http.Response r = switch (encoding) {
            case "multipart" ->
                postMultipart(
                        http(),
                        path,
                        "username",
                        name,
                        "password",
                        PASSWORD,
                        "code",
                        code,
                        "access_level",
                        "full",
                        "comment",
                        "by password");
            case "urlencoded" ->
                http().postForm(
                                path,
                                form(
                                        "username",
                                        name,
                                        "password",
                                        PASSWORD,
                                        "code",
                                        code,
                                        "access_level",
                                        "full",
                                        "comment",
                                        "by password"));
            case "json" ->
                http().postJson(
                                path,
                                json(
                                        "username",
                                        name,
                                        "password",
                                        PASSWORD,
                                        "code",
                                        code,
                                        "access_level",
                                        "full",
                                        "comment",
                                        "by password"));
            default ->
                http().postForm(
                                path,
                                form(
                                        "username",
                                        name,
                                        "password",
                                        PASSWORD + code,
                                        "access_level",
                                        "full",
                                        "comment",
                                        "by password"));
        };
        String key = success(r).get("new_key").asText();
        JsonNode listed = success(http().postForm("/api/user/apikeys", form("apikey", key)))
                .get("apikeys");
        assertThat(listed.size()).isEqualTo(1);
        assertThat(http().get("/api/v1/api_tokens", "Token", key).status()).isEqualTo(200);
    }

    @Test
    void create_apikey_with_a_session_token() {
        Enrollment e = server.createUser(KeyFixtures.name("fbsess"), Role.VIEWER);
        String access = server.accessToken(e);
        Http.Response r = http().postForm(
                        "/api/user/create_apikey", form("access_level", "basic"), "Authorization", "Bearer " + access);
        assertThat(KeyFormat.isValid(success(r).get("new_key").asText())).isTrue();
    }

    @Test
    void a_wrong_password_is_a_failed_login() {
        Holder alice = withPassword(viewer());
        int before = KeyFixtures.keyCount(server);
        JsonNode err = assertUserKeysError(
                http().postForm(
                                "/api/user/create_apikey",
                                form("username", alice.name(), "password", PASSWORD + "!", "access_level", "full")),
                401,
                "user/login-failed");
        Http.Response unknown = http().postForm(
                        "/api/user/create_apikey",
                        form("username", KeyFixtures.name("ghost"), "password", PASSWORD, "access_level", "full"));
        assertThat(unknown.body())
                .as("unknown user and wrong password look the same")
                .isEqualTo(err.toString());
        assertThat(KeyFixtures.keyCount(server)).isEqualTo(before);
        // the failure is audited, without the password
        List<Map<String, Object>> failures = KeyFixtures.audit(server, "auth.password", alice.name());
        assertThat(failures).extracting(m -> m.get("outcome")).containsExactly("failure");
        assertThat(failures.toString()).doesNotContain(PASSWORD);
    }

    @Test
    void a_user_without_a_password_cannot_log_in_with_one() {
        Holder alice = viewer();
        assertUserKeysError(
                http().postForm(
                                "/api/user/create_apikey",
                                form("username", alice.name(), "password", "", "access_level", "full")),
                400,
                "api/invalid-request");
        assertUserKeysError(
                http().postForm(
                                "/api/user/create_apikey",
                                form("username", alice.name(), "password", PASSWORD, "access_level", "full")),
                401,
                "user/login-failed");
    }

    @Test
    void a_disabled_user_cannot_create_a_key_with_the_right_password() {
        Holder alice = withPassword(viewer());
        server.core().users.setDisabled(Principal.system(), alice.name(), true);
        assertUserKeysError(
                http().postForm(
                                "/api/user/create_apikey",
                                form("username", alice.name(), "password", PASSWORD, "access_level", "full")),
                401,
                "user/login-failed");
    }

    @Test
    void username_without_password_or_password_without_username_is_refused() {
        Holder alice = withPassword(viewer());
        assertUserKeysError(
                http().postForm("/api/user/create_apikey", form("username", alice.name(), "access_level", "full")),
                400,
                "api/invalid-request");
        assertUserKeysError(
                http().postForm("/api/user/create_apikey", form("password", PASSWORD, "access_level", "full")),
                400,
                "api/invalid-request");
    }

    @Test
    void an_invalid_access_level_is_refused() {
        Holder alice = viewer();
        int before = KeyFixtures.keyCount(server);
        for (String level : new String[] {"admin", "", "FULL!", "owner"}) {
            assertUserKeysError(
                    http().postForm("/api/user/create_apikey", form("apikey", alice.key(), "access_level", level)),
                    400,
                    "user/validation/access_level/invalid");
        }
        assertUserKeysError(
                http().postForm("/api/user/create_apikey", form("apikey", alice.key())),
                400,
                "user/validation/access_level/invalid");
        assertThat(KeyFixtures.keyCount(server)).isEqualTo(before);
    }

    @Test
    void a_comment_longer_than_255_characters_is_refused() {
        Holder alice = viewer();
        int before = KeyFixtures.keyCount(server);
        assertUserKeysError(
                postMultipart(
                        http(),
                        "/api/user/create_apikey",
                        "apikey",
                        alice.key(),
                        "access_level",
                        "full",
                        "comment",
                        "c".repeat(256)),
                400,
                "user/validation/comment/too-long");
        assertThat(KeyFixtures.keyCount(server)).isEqualTo(before);
        success(postMultipart(
                http(),
                "/api/user/create_apikey",
                "apikey",
                alice.key(),
                "access_level",
                "full",
                "comment",
                "c".repeat(255)));
    }

    @Test
    void no_credential_is_not_authenticated() {
        for (String path : new String[] {
            "/api/user/apikeys", "/api/user/create_apikey", "/api/user/delete_apikey", "/api/v2.1.0/user/create_apikey"
        }) {
            assertUserKeysError(
                    http().postForm(path, form("access_level", "full", "delete_key", "x")),
                    401,
                    "api/not-authenticated");
            assertUserKeysError(postMultipart(http(), path, "access_level", "full"), 401, "api/not-authenticated");
        }
        assertUserKeysError(http().get("/api/user/apikeys"), 401, "api/not-authenticated");
    }

    @Test
    void a_bad_key_is_not_authenticated() {
        Holder alice = viewer();
        String typo = alice.key().substring(0, 49) + (alice.key().charAt(49) == 'z' ? 'y' : 'z');
        for (String bad : new String[] {typo, KeyFormat.generate(), "Sa71PVwKthRrrIEUIacqN9PNTouVQAWz"}) {
            assertUserKeysError(
                    http().postForm("/api/user/apikeys", form("apikey", bad)), 401, "api/not-authenticated");
            assertUserKeysError(
                    http().postForm("/api/user/create_apikey", form("apikey", bad, "access_level", "full")),
                    401,
                    "api/not-authenticated");
            assertUserKeysError(
                    http().postForm(
                                    "/api/user/delete_apikey",
                                    form(
                                            "apikey",
                                            bad,
                                            "delete_key",
                                            alice.keyId().toString())),
                    401,
                    "api/not-authenticated");
        }
        assertThat(http().postForm("/api/user/apikeys", form("apikey", alice.key()))
                        .status())
                .isEqualTo(200);
    }

    @Test
    void a_key_below_full_has_insufficient_permissions() {
        Holder viewer = viewer();
        for (AccessLevel level : new AccessLevel[] {AccessLevel.BASIC, AccessLevel.APIKEY}) {
            Holder h = KeyFixtures.withKey(server, viewer.user(), level);
            assertUserKeysError(
                    http().postForm("/api/user/apikeys", form("apikey", h.key())), 403, "api/insufficient-permissions");
            assertUserKeysError(
                    http().postForm("/api/user/create_apikey", form("apikey", h.key(), "access_level", "basic")),
                    403,
                    "api/insufficient-permissions");
            assertUserKeysError(
                    http().postForm(
                                    "/api/user/delete_apikey",
                                    form(
                                            "apikey",
                                            h.key(),
                                            "delete_key",
                                            h.keyId().toString())),
                    403,
                    "api/insufficient-permissions");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"/api/user", "/api/v2.1.0/user", "/api/v1/user"})
    void delete_apikey_by_id(String prefix) {
        Holder alice = viewer();
        Holder doomed = KeyFixtures.withKey(server, alice.user(), AccessLevel.FULL);
        String id = doomed.keyId().toString();
        JsonNode data =
                success(postMultipart(http(), prefix + "/delete_apikey", "apikey", alice.key(), "delete_key", id));
        assertThat(data).isEqualTo(KeyFixtures.tree(json("deleted_keys", Map.of(id, Map.of("key", id)))));
        assertUserKeysError(
                http().postForm("/api/user/apikeys", form("apikey", doomed.key())), 401, "api/not-authenticated");
        assertThat(success(http().postForm("/api/user/apikeys", form("apikey", alice.key())))
                        .get("apikeys")
                        .has(id))
                .isFalse();
    }

    @Test
    void delete_apikey_by_the_key_itself() {
        Holder alice = viewer();
        Holder doomed = KeyFixtures.withKey(server, alice.user(), AccessLevel.BASIC);
        String id = doomed.keyId().toString();
        JsonNode data = success(
                http().postForm("/api/user/delete_apikey", form("apikey", alice.key(), "delete_key", doomed.key())));
        // keyed by what the client sent, as in the document's example (the client holds that key anyway)
        assertThat(data)
                .isEqualTo(KeyFixtures.tree(json("deleted_keys", Map.of(doomed.key(), Map.of("key", doomed.key())))));
        assertThat(data.toString()).doesNotContain(id);
        assertThat(http().get("/api/v1/user/list", doomed.bearer()).status()).isEqualTo(401);
    }

    @Test
    void a_key_may_delete_itself() {
        Holder alice = viewer();
        success(http().postJson("/api/user/delete_apikey", json("apikey", alice.key(), "delete_key", alice.key())));
        assertUserKeysError(
                http().postForm("/api/user/apikeys", form("apikey", alice.key())), 401, "api/not-authenticated");
    }

    @Test
    void deleting_someone_elses_key_fails_and_leaves_it_working() {
        Holder alice = viewer();
        Holder bob = viewer();
        int before = KeyFixtures.keyCount(server);
        for (String target : new String[] {bob.keyId().toString(), bob.key()}) {
            assertUserKeysError(
                    http().postForm("/api/user/delete_apikey", form("apikey", alice.key(), "delete_key", target)),
                    400,
                    "user/delete_apikey/failed");
        }
        assertThat(KeyFixtures.keyCount(server)).isEqualTo(before);
        assertThat(http().postForm("/api/user/apikeys", form("apikey", bob.key()))
                        .status())
                .isEqualTo(200);
    }

    @Test
    void deleting_an_unknown_or_garbled_key_fails() {
        Holder alice = viewer();
        int before = KeyFixtures.keyCount(server);
        String typo = alice.key().substring(0, 6)
                + (alice.key().charAt(6) == 'x' ? 'w' : 'x')
                + alice.key().substring(7);
        for (String target : new String[] {
            UUID.randomUUID().toString(), KeyFormat.generate(), typo, "garbage", "o0fDrc0LF8Kemqb9qzXXaScGsz9XCegj", " "
        }) {
            assertUserKeysError(
                    http().postForm("/api/user/delete_apikey", form("apikey", alice.key(), "delete_key", target)),
                    400,
                    "user/delete_apikey/failed");
        }
        assertUserKeysError(
                http().postForm("/api/user/delete_apikey", form("apikey", alice.key())),
                400,
                "user/delete_apikey/failed");
        assertThat(KeyFixtures.keyCount(server)).isEqualTo(before);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "/api/vx/user/apikeys",
                "/api/v1.2.3.4/user/apikeys",
                "/api/version/user/apikeys",
                "/api/2.1.0/user/apikeys",
                "/api/v/user/apikeys",
                "/api/vx/user/create_apikey"
            })
    void an_invalid_version_prefix_is_not_found(String path) {
        Holder alice = viewer();
        Http.Response r = http().postForm(path, form("apikey", alice.key(), "access_level", "full"));
        assertThat(r.status()).as(r.body()).isEqualTo(404);
        assertThat(KeyFixtures.keyCount(server)).isPositive();
        assertThat(success(http().postForm("/api/user/apikeys", form("apikey", alice.key())))
                        .get("apikeys")
                        .size())
                .as("no key was created through the invalid prefix")
                .isEqualTo(1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"/api/vx/user/apikeys", "/api/v1.2.3.4/user/delete_apikey", "/api/version/user/apikeys"})
    void an_invalid_version_prefix_is_not_found_even_without_a_credential(String path) {
        // not a route of any family: the same 404 as any unknown path, not a demand for a credential
        Http.Response r = http().postForm(path, form("delete_key", "x"));
        assertThat(r.status()).as(r.body()).isEqualTo(404);
    }

    @Test
    void a_malformed_body_is_refused_in_the_familys_shape() {
        Holder alice = viewer();
        int before = KeyFixtures.keyCount(server);
        for (String body : new String[] {
            "{",
            "{\"apikey\":",
            "[]",
            "\"x\"",
            "{\"access_level\":\"full\"} extra",
            "{\"apikey\":\"" + alice.key() + "\",}"
        }) {
            // the body carries the credential, so it must be read: a malformed one is refused before anything else
            for (String path :
                    new String[] {"/api/user/apikeys", "/api/user/create_apikey", "/api/user/delete_apikey"}) {
                assertUserKeysError(http().postJson(path, body), 400, "api/invalid-request");
            }
            // with the credential in a header, the routes that read fields refuse it too
            for (String path : new String[] {"/api/user/create_apikey", "/api/user/delete_apikey"}) {
                assertUserKeysError(http().postJson(path, body, alice.xApiKey()), 400, "api/invalid-request");
            }
        }
        assertThat(KeyFixtures.keyCount(server)).isEqualTo(before);
    }

    @Test
    void fields_of_the_wrong_type_are_refused_never_a_500() {
        Holder alice = viewer();
        int before = KeyFixtures.keyCount(server);
        for (String body : new String[] {
            json("apikey", alice.key(), "access_level", 3),
            json("apikey", alice.key(), "access_level", List.of("full")),
            json("apikey", alice.key(), "access_level", "full", "comment", Map.of("a", 1)),
            json("apikey", alice.key(), "access_level", "full", "comment", 7),
            json("username", List.of(alice.name()), "password", PASSWORD, "access_level", "full"),
            json("username", alice.name(), "password", 123456789012L, "access_level", "full")
        }) {
            Http.Response r = http().postJson("/api/user/create_apikey", body);
            assertThat(r.status()).as(body + " -> " + r.body()).isBetween(400, 499);
            assertThat(r.json().path("status").asText()).isEqualTo("error");
        }
        for (String body : new String[] {
            json("apikey", alice.key(), "delete_key", List.of("x")),
            json("apikey", alice.key(), "delete_key", Map.of("key", alice.key()))
        }) {
            assertUserKeysError(http().postJson("/api/user/delete_apikey", body), 400, "api/invalid-request");
        }
        assertThat(KeyFixtures.keyCount(server)).isEqualTo(before);
    }

    @Test
    void a_body_over_one_mebibyte_is_refused_with_413() {
        Holder alice = viewer();
        String big = KeyFixtures.bigJson(KeyFixtures.MIB + 1);
        assertUserKeysError(
                http().postJson("/api/user/create_apikey", big, alice.xApiKey()), 413, "api/request-too-large");
        assertUserKeysError(
                postMultipart(
                        http(),
                        "/api/user/create_apikey",
                        "apikey",
                        alice.key(),
                        "access_level",
                        "full",
                        "comment",
                        "c".repeat(KeyFixtures.MIB)),
                413,
                "api/request-too-large");
    }
}
