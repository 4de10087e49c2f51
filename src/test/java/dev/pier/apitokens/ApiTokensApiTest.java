package dev.pier.apitokens;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.keys.KeyFixtures;
import dev.pier.keys.KeyFixtures.Holder;
import dev.pier.keys.KeyFormat;
import dev.pier.security.AccessLevel;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import dev.pier.support.TestServer;
import dev.pier.users.Enrollment;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static dev.pier.keys.KeyFixtures.assertPlainError;
import static dev.pier.keys.KeyFixtures.json;
import static org.assertj.core.api.Assertions.assertThat;

/** The API tokens family (seeds/kriten-api-tokens.txt): /api/v1/api_tokens. */
class ApiTokensApiTest {
    static final String PATH = "/api/v1/api_tokens";
    static final String NEVER = "0001-01-01T00:00:00Z";

    @Shared
    static TestServer server;

    private static Http http() {
        return server.http();
    }

    private static Http.Response create(Holder as, String body) {
        return http().postJson(PATH, body, as.bearer());
    }

    private static Http.Response patch(Holder as, String id, String body) {
        return http().send("PATCH", PATH + "/" + id, "application/json", body, as.bearer());
    }

    private static Holder viewer() {
        return KeyFixtures.holder(server, "tok", Role.VIEWER, AccessLevel.FULL);
    }

    private static String future(Duration d) {
        return server.clock.instant().plus(d).truncatedTo(ChronoUnit.SECONDS).toString();
    }

    @Test
    void creating_a_token_returns_the_token_object_with_its_key_this_once() {
        Holder alice = viewer();
        String expires = future(Duration.ofDays(30));
        Http.Response r =
                create(alice, json("description", "My personal API Token", "enabled", true, "expires", expires));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        JsonNode t = r.json();
        assertThat(t.properties())
                .extracting(java.util.Map.Entry::getKey)
                .containsExactlyInAnyOrder(
                        "id",
                        "owner",
                        "key",
                        "description",
                        "created_at",
                        "updated_at",
                        "expires",
                        "enabled",
                        "access_level",
                        "last_used_at",
                        "fingerprint");
        UUID id = UUID.fromString(t.get("id").asText());
        assertThat(t.get("owner").asText()).isEqualTo(alice.user().id().toString());
        assertThat(KeyFormat.isValid(t.get("key").asText())).isTrue();
        assertThat(t.get("description").asText()).isEqualTo("My personal API Token");
        assertThat(Instant.parse(t.get("expires").asText())).isEqualTo(Instant.parse(expires));
        assertThat(t.get("enabled").asBoolean()).isTrue();
        assertThat(t.get("access_level").asText()).isEqualTo("full");
        assertThat(t.get("last_used_at").isNull()).isTrue();
        Instant createdAt = Instant.parse(t.get("created_at").asText());
        assertThat(createdAt).isBetween(server.clock.instant().minusSeconds(1), server.clock.instant());
        assertThat(t.get("updated_at").asText()).isEqualTo(t.get("created_at").asText());

        String key = t.get("key").asText();
        Http.Response one = http().get(PATH + "/" + id, alice.bearer());
        assertThat(one.status()).isEqualTo(200);
        assertThat(one.json().has("key")).isFalse();
        assertThat(one.body()).doesNotContain(key);
        assertThat(one.json().get("description").asText()).isEqualTo("My personal API Token");
        Http.Response list = http().get(PATH, alice.bearer());
        assertThat(list.body()).doesNotContain(key);
        for (JsonNode each : list.json()) {
            assertThat(each.has("key")).isFalse();
        }
        // and the key works, in the document's own curl form
        assertThat(http().get(PATH, "Token", key).status()).isEqualTo(200);
    }

    @Test
    void a_token_created_with_no_fields_is_enabled_full_and_never_expires() {
        Holder alice = viewer();
        for (Http.Response r : List.of(
                create(alice, "{}"), create(alice, ""), http().send("POST", PATH, null, null, alice.bearer()))) {
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            JsonNode t = r.json();
            assertThat(t.get("enabled").asBoolean()).isTrue();
            assertThat(t.get("expires").asText()).isEqualTo(NEVER);
            assertThat(t.get("access_level").asText()).isEqualTo("full");
            assertThat(t.get("description").asText()).isEmpty();
        }
    }

    @Test
    void the_documents_zero_date_and_null_mean_never_expires() {
        Holder alice = viewer();
        List<String> keys = new ArrayList<>();
        for (Object never : new Object[] {"0000-01-01T00:00:00Z", NEVER, "0001-01-01T00:00:00.000Z", "", null}) {
            Http.Response r = create(alice, json("expires", never));
            assertThat(r.status()).as("%s: %s", never, r.body()).isEqualTo(200);
            assertThat(r.json().get("expires").asText()).isEqualTo(NEVER);
            keys.add(r.json().get("key").asText());
        }
        server.clock.advance(Duration.ofDays(3650));
        for (String key : keys) {
            assertThat(http().get(PATH, "Token", key).status()).isEqualTo(200);
        }
    }

    @Test
    void a_token_carries_the_access_level_asked_for() {
        Holder admin = KeyFixtures.holder(server, "lvl", Role.ADMIN, AccessLevel.FULL);
        for (String level : new String[] {"basic", "apikey", "full"}) {
            Http.Response r = create(admin, json("access_level", level));
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.json().get("access_level").asText()).isEqualTo(level);
            String key = r.json().get("key").asText();
            int writeStatus = http().postJson(PATH, "{}", "Authorization", "Bearer " + key)
                    .status();
            assertThat(writeStatus).as(level).isEqualTo(level.equals("full") ? 200 : 403);
            assertThat(http().get("/api/v1/user/list", "Authorization", "Bearer " + key)
                            .status())
                    .isEqualTo(200);
        }
        assertPlainError(create(admin, json("access_level", "root")), 400);
        assertPlainError(create(admin, json("access_level", "")), 400);
    }

    @Test
    void a_disabled_token_can_be_created_and_is_refused_as_not_enabled() {
        Holder alice = viewer();
        Http.Response r = create(alice, json("enabled", false));
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("enabled").asBoolean()).isFalse();
        Http.Response use = http().get(PATH, "Token", r.json().get("key").asText());
        assertThat(use.status()).isEqualTo(401);
        assertThat(use.json()).isEqualTo(KeyFixtures.tree(json("error", "token not enabled")));
    }

    @Test
    void listing_shows_only_your_own_tokens() {
        Holder alice = viewer();
        Holder bob = viewer();
        String a =
                create(alice, json("description", "alice's")).json().get("id").asText();
        String b = create(bob, json("description", "bob's")).json().get("id").asText();

        List<String> aliceSees = ids(http().get(PATH, alice.bearer()));
        assertThat(aliceSees)
                .contains(a, alice.keyId().toString())
                .doesNotContain(b, bob.keyId().toString());
        List<String> bobSees = ids(http().get(PATH, bob.bearer()));
        assertThat(bobSees).contains(b).doesNotContain(a);
        for (JsonNode t : http().get(PATH, alice.bearer()).json()) {
            assertThat(t.get("owner").asText()).isEqualTo(alice.user().id().toString());
        }
    }

    private static List<String> ids(Http.Response r) {
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        List<String> ids = new ArrayList<>();
        r.json().forEach(t -> ids.add(t.get("id").asText()));
        return ids;
    }

    @Test
    void listing_all_tokens_is_for_admins() {
        Holder alice = viewer();
        Holder manager = KeyFixtures.holder(server, "mgr", Role.MANAGER, AccessLevel.FULL);
        Holder admin = KeyFixtures.holder(server, "adm", Role.ADMIN, AccessLevel.FULL);

        List<String> all = ids(http().get(PATH + "/all", admin.bearer()));
        assertThat(all)
                .contains(
                        alice.keyId().toString(),
                        manager.keyId().toString(),
                        admin.keyId().toString());
        assertThat(http().get(PATH + "/all", admin.bearer()).body()).doesNotContain(alice.key());

        assertThat(assertPlainError(http().get(PATH + "/all", alice.bearer()), 403))
                .isNotBlank();
        assertPlainError(http().get(PATH + "/all", manager.bearer()), 403);
        assertPlainError(http().get(PATH + "/all"), 401);
    }

    @Test
    void anothers_token_is_not_found_for_a_non_admin_and_visible_to_an_admin() {
        Holder alice = viewer();
        Holder mallory = KeyFixtures.holder(server, "mal", Role.MANAGER, AccessLevel.FULL);
        Holder admin = KeyFixtures.holder(server, "adm", Role.ADMIN, AccessLevel.FULL);
        String id =
                create(alice, json("description", "private")).json().get("id").asText();

        String notFound = assertPlainError(http().get(PATH + "/" + id, mallory.bearer()), 404);
        String unknown = assertPlainError(http().get(PATH + "/" + UUID.randomUUID(), mallory.bearer()), 404);
        assertThat(notFound).isEqualTo(unknown.replaceAll("[0-9a-f-]{36}", id));
        assertPlainError(patch(mallory, id, json("enabled", false)), 404);
        assertPlainError(http().delete(PATH + "/" + id, mallory.bearer()), 404);

        Http.Response seen = http().get(PATH + "/" + id, admin.bearer());
        assertThat(seen.status()).isEqualTo(200);
        assertThat(seen.json().get("owner").asText())
                .isEqualTo(alice.user().id().toString());
        assertThat(seen.json().get("description").asText()).isEqualTo("private");
        assertThat(seen.json().get("enabled").asBoolean())
                .as("mallory changed nothing")
                .isTrue();
    }

    @Test
    void an_admin_may_change_and_delete_a_users_token() {
        Holder alice = viewer();
        Holder admin = KeyFixtures.holder(server, "adm", Role.ADMIN, AccessLevel.FULL);
        Http.Response patched = patch(admin, alice.keyId().toString(), json("enabled", false));
        assertThat(patched.status()).isEqualTo(200);
        assertThat(http().get(PATH, alice.bearer()).status()).isEqualTo(401);
        assertThat(http().delete(PATH + "/" + alice.keyId(), admin.bearer()).status())
                .isEqualTo(200);
        assertPlainError(http().get(PATH + "/" + alice.keyId(), admin.bearer()), 404);
    }

    @Test
    void unknown_and_malformed_ids_are_not_found() {
        Holder alice = viewer();
        for (String id : new String[] {
            UUID.randomUUID().toString(),
            "not-a-uuid",
            "12345",
            "%20",
            "00000000-0000-0000-0000-00000000000g",
            "'%20OR%201=1--"
        }) {
            assertPlainError(http().get(PATH + "/" + id, alice.bearer()), 404);
            assertPlainError(patch(alice, id, json("description", "x")), 404);
            assertPlainError(http().delete(PATH + "/" + id, alice.bearer()), 404);
        }
    }

    @Test
    void patch_changes_description_enabled_and_expires_and_nothing_else() {
        Holder alice = viewer();
        JsonNode t = create(alice, json("description", "before", "access_level", "apikey"))
                .json();
        String id = t.get("id").asText();
        server.clock.advance(Duration.ofSeconds(5));

        String expires = future(Duration.ofDays(7));
        Http.Response r = patch(alice, id, json("description", "after", "enabled", false, "expires", expires));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        JsonNode u = r.json();
        assertThat(u.has("key")).isFalse();
        assertThat(u.get("id").asText()).isEqualTo(id);
        assertThat(u.get("description").asText()).isEqualTo("after");
        assertThat(u.get("enabled").asBoolean()).isFalse();
        assertThat(Instant.parse(u.get("expires").asText())).isEqualTo(Instant.parse(expires));
        assertThat(u.get("access_level").asText()).isEqualTo("apikey");
        assertThat(u.get("owner").asText()).isEqualTo(t.get("owner").asText());
        assertThat(u.get("created_at").asText()).isEqualTo(t.get("created_at").asText());
        assertThat(Instant.parse(u.get("updated_at").asText()))
                .isAfter(Instant.parse(t.get("created_at").asText()));

        // absent fields stay as they are
        Http.Response onlyDesc = patch(alice, id, json("description", "third"));
        assertThat(onlyDesc.json().get("enabled").asBoolean()).isFalse();
        assertThat(Instant.parse(onlyDesc.json().get("expires").asText())).isEqualTo(Instant.parse(expires));
        Http.Response empty = patch(alice, id, "{}");
        assertThat(empty.status()).isEqualTo(200);
        assertThat(empty.json().get("description").asText()).isEqualTo("third");

        // the zero date makes it never expire again; the key re-enabled works
        Http.Response never = patch(alice, id, json("expires", NEVER, "enabled", true));
        assertThat(never.json().get("expires").asText()).isEqualTo(NEVER);
        assertThat(http().get(PATH + "/" + id, alice.bearer())
                        .json()
                        .get("expires")
                        .asText())
                .isEqualTo(NEVER);
        // fields that patch does not change are ignored
        Http.Response level = patch(
                alice,
                id,
                json("access_level", "full", "owner", UUID.randomUUID().toString()));
        assertThat(level.status()).isIn(200, 400);
        JsonNode after = http().get(PATH + "/" + id, alice.bearer()).json();
        assertThat(after.get("access_level").asText()).isEqualTo("apikey");
        assertThat(after.get("owner").asText()).isEqualTo(alice.user().id().toString());
    }

    @Test
    void an_expired_token_is_refused_as_token_expired() {
        Holder alice = viewer();
        Http.Response r = create(alice, json("expires", future(Duration.ofHours(1))));
        String key = r.json().get("key").asText();
        assertThat(http().get(PATH, "Token", key).status()).isEqualTo(200);

        server.clock.advance(Duration.ofHours(2));

        for (Http.Response refused :
                List.of(http().get(PATH, "Token", key), http().get(PATH, "Authorization", "Bearer " + key))) {
            assertThat(refused.status()).isEqualTo(401);
            assertThat(refused.json()).isEqualTo(KeyFixtures.tree(json("error", "token expired")));
        }
        // still listed for its owner, who may extend it
        String id = r.json().get("id").asText();
        assertThat(patch(alice, id, json("expires", future(Duration.ofDays(1)))).status())
                .isEqualTo(200);
        assertThat(http().get(PATH, "Token", key).status()).isEqualTo(200);
    }

    @Test
    void a_token_disabled_by_patch_is_refused_as_token_not_enabled_and_can_be_enabled_again() {
        Holder alice = viewer();
        JsonNode t = create(alice, json("description", "toggle")).json();
        String key = t.get("key").asText();
        String id = t.get("id").asText();
        assertThat(http().get(PATH, "Token", key).status()).isEqualTo(200);

        assertThat(patch(alice, id, json("enabled", false)).status()).isEqualTo(200);
        Http.Response refused = http().get(PATH, "Token", key);
        assertThat(refused.status()).isEqualTo(401);
        assertThat(refused.json()).isEqualTo(KeyFixtures.tree(json("error", "token not enabled")));
        // a token cannot re-enable itself
        assertThat(http().send("PATCH", PATH + "/" + id, "application/json", json("enabled", true), "Token", key)
                        .status())
                .isEqualTo(401);

        assertThat(patch(alice, id, json("enabled", true)).status()).isEqualTo(200);
        assertThat(http().get(PATH, "Token", key).status()).isEqualTo(200);
    }

    @Test
    void an_expiry_in_the_past_is_refused_on_create_and_on_patch() {
        Holder alice = viewer();
        int before = KeyFixtures.keyCount(server);
        String past = server.clock.instant().minusSeconds(60).toString();
        assertThat(assertPlainError(create(alice, json("expires", past)), 400)).contains("expires");
        assertPlainError(
                create(
                        alice,
                        json(
                                "expires",
                                server.clock
                                        .instant()
                                        .truncatedTo(ChronoUnit.MICROS)
                                        .toString())),
                400);
        assertPlainError(create(alice, json("expires", "2024-09-13T13:54:06Z")), 400);
        assertThat(KeyFixtures.keyCount(server)).isEqualTo(before);

        String id = alice.keyId().toString();
        assertPlainError(patch(alice, id, json("expires", past, "description", "should not stick")), 400);
        JsonNode unchanged = http().get(PATH + "/" + id, alice.bearer()).json();
        assertThat(unchanged.get("expires").asText()).isEqualTo(NEVER);
        assertThat(unchanged.get("description").asText()).isEqualTo("fixture");
    }

    @Test
    void expires_accepts_rfc3339_with_offsets_and_fractions() {
        Holder alice = viewer();
        Instant target = server.clock.instant().plus(Duration.ofDays(2)).truncatedTo(ChronoUnit.SECONDS);
        String withOffset = target.atOffset(java.time.ZoneOffset.ofHours(2)).toString();
        Http.Response r = create(alice, json("expires", withOffset));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(Instant.parse(r.json().get("expires").asText())).isEqualTo(target);

        Http.Response frac =
                create(alice, json("expires", target.plusMillis(283).toString()));
        assertThat(Instant.parse(frac.json().get("expires").asText())).isEqualTo(target.plusMillis(283));
    }

    @Test
    void an_expiry_beyond_rfc3339s_four_digit_years_is_refused_never_a_500() {
        Holder alice = viewer();
        Http.Response last = create(alice, json("expires", "9999-12-31T23:59:59Z"));
        assertThat(last.status()).as(last.body()).isEqualTo(200);
        assertThat(last.json().get("expires").asText()).isEqualTo("9999-12-31T23:59:59Z");
        int before = KeyFixtures.keyCount(server);
        for (String far : new String[] {
            "+10000-01-01T00:00:00Z",
            "+294277-01-01T00:00:00Z",
            "+999999999-12-31T23:59:59Z",
            "+1000000000-01-01T00:00:00Z"
        }) {
            assertThat(assertPlainError(create(alice, json("expires", far)), 400))
                    .as(far)
                    .contains("expires");
            assertThat(assertPlainError(patch(alice, alice.keyId().toString(), json("expires", far)), 400))
                    .as(far)
                    .contains("expires");
        }
        assertThat(KeyFixtures.keyCount(server)).isEqualTo(before);
        assertThat(http().get(PATH + "/" + alice.keyId(), alice.bearer())
                        .json()
                        .get("expires")
                        .asText())
                .isEqualTo(NEVER);
    }

    @Test
    void a_description_longer_than_255_characters_is_refused() {
        Holder alice = viewer();
        assertThat(create(alice, json("description", "d".repeat(255))).status()).isEqualTo(200);
        int before = KeyFixtures.keyCount(server);
        assertThat(assertPlainError(create(alice, json("description", "d".repeat(256))), 400))
                .contains("255");
        assertThat(KeyFixtures.keyCount(server)).isEqualTo(before);
        assertPlainError(patch(alice, alice.keyId().toString(), json("description", "d".repeat(256))), 400);
        assertThat(http().get(PATH + "/" + alice.keyId(), alice.bearer())
                        .json()
                        .get("description")
                        .asText())
                .isEqualTo("fixture");
    }

    @Test
    void fields_of_the_wrong_type_are_refused_never_a_500() {
        Holder alice = viewer();
        int before = KeyFixtures.keyCount(server);
        String[] bodies = {
            json("enabled", "maybe"),
            json("enabled", 5),
            json("enabled", List.of()),
            json("expires", 5),
            json("expires", true),
            json("expires", "tomorrow"),
            json("expires", "2030-13-45"),
            json("expires", java.util.Map.of("at", "2030-01-01")),
            json("description", 42),
            json("description", List.of("a")),
            json("description", "line\nbreak"),
            json("description", "nul\u0000byte"),
        };
        for (String body : bodies) {
            assertThat(assertPlainError(create(alice, body), 400)).as(body).isNotBlank();
            assertThat(assertPlainError(patch(alice, alice.keyId().toString(), body), 400))
                    .as(body)
                    .isNotBlank();
        }
        // the level is set at creation only (patch ignores it)
        for (String body : new String[] {json("access_level", 3), json("access_level", List.of("full"))}) {
            assertThat(assertPlainError(create(alice, body), 400)).as(body).isNotBlank();
        }
        assertThat(KeyFixtures.keyCount(server)).isEqualTo(before);
        JsonNode unchanged =
                http().get(PATH + "/" + alice.keyId(), alice.bearer()).json();
        assertThat(unchanged.get("enabled").asBoolean()).isTrue();
        assertThat(unchanged.get("description").asText()).isEqualTo("fixture");
    }

    @Test
    void a_malformed_body_is_refused_in_the_familys_shape() {
        Holder alice = viewer();
        int before = KeyFixtures.keyCount(server);
        for (String body : new String[] {
            "{",
            "{\"description\":",
            "not json",
            "[]",
            "[{\"description\":\"x\"}]",
            "\"string\"",
            "42",
            "null",
            "{\"description\":\"x\"} trailing",
            "{'description':'x'}",
            "[".repeat(5000) + "]".repeat(5000)
        }) {
            assertPlainError(create(alice, body), 400);
            assertPlainError(patch(alice, alice.keyId().toString(), body), 400);
        }
        assertThat(KeyFixtures.keyCount(server)).isEqualTo(before);
    }

    @Test
    void a_body_over_one_mebibyte_is_refused_with_413() {
        Holder alice = viewer();
        int before = KeyFixtures.keyCount(server);
        String big = KeyFixtures.bigJson(KeyFixtures.MIB + 1);
        assertPlainError(create(alice, big), 413);
        assertPlainError(patch(alice, alice.keyId().toString(), big), 413);
        assertThat(KeyFixtures.keyCount(server)).isEqualTo(before);
        // just under the limit is read (and refused for its long description)
        assertPlainError(create(alice, KeyFixtures.bigJson(KeyFixtures.MIB - 16)), 400);
    }

    /** The document's family speaks JSON: a form (which any web page can post cross-site) is refused, 415. */
    @Test
    void a_form_encoded_body_is_refused_with_415() {
        Holder alice = viewer();
        int before = KeyFixtures.keyCount(server);
        Http.Response r = http().postForm(
                        PATH, KeyFixtures.form("description", "from a form", "enabled", "false"), alice.bearer());
        assertThat(assertPlainError(r, 415)).contains("application/json");
        assertThat(KeyFixtures.keyCount(server)).isEqualTo(before);
    }

    @Test
    void deleting_a_token_stops_it_at_once() {
        Holder alice = viewer();
        JsonNode t = create(alice, json("description", "short-lived")).json();
        String id = t.get("id").asText();
        String key = t.get("key").asText();
        assertThat(http().get(PATH, "Token", key).status()).isEqualTo(200);

        Http.Response d = http().delete(PATH + "/" + id, alice.bearer());
        assertThat(d.status()).as(d.body()).isEqualTo(200);
        assertThat(http().get(PATH, "Token", key).status()).isEqualTo(401);
        assertPlainError(http().get(PATH + "/" + id, alice.bearer()), 404);
        assertPlainError(http().delete(PATH + "/" + id, alice.bearer()), 404);
        assertThat(ids(http().get(PATH, alice.bearer()))).doesNotContain(id);
    }

    @Test
    void a_token_may_delete_itself() {
        Holder alice = viewer();
        assertThat(http().delete(PATH + "/" + alice.keyId(), alice.bearer()).status())
                .isEqualTo(200);
        assertPlainError(http().get(PATH, alice.bearer()), 401);
    }

    @Test
    void a_session_manages_tokens_too() {
        Enrollment e = server.createUser(KeyFixtures.name("sess"), Role.VIEWER);
        String access = server.accessToken(e);
        Http.Response r =
                http().postJson(PATH, json("description", "made by a session"), "Authorization", "Bearer: " + access);
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("owner").asText()).isEqualTo(e.user().id().toString());
        assertThat(ids(http().get(PATH, "Authorization", "Bearer " + access)))
                .contains(r.json().get("id").asText());
    }

    @Test
    void a_never_expiring_token_shows_gos_zero_time() {
        Holder alice = viewer();
        JsonNode t = http().get(PATH + "/" + alice.keyId(), alice.bearer()).json();
        assertThat(t.get("expires").asText()).isEqualTo(NEVER);
    }
}
