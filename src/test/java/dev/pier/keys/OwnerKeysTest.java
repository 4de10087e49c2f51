package dev.pier.keys;

import dev.pier.security.AccessLevel;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Matrix;
import dev.pier.support.Shared;
import dev.pier.support.TestDatabases;
import dev.pier.support.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.UUID;

import static dev.pier.keys.KeyFixtures.assertPlainError;
import static dev.pier.keys.KeyFixtures.assertUserKeysError;
import static dev.pier.keys.KeyFixtures.form;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 7, item 11: the owner's sessions and keys are ended only by the owner. An admin who tries to
 * delete or disable one of the owner's keys is answered exactly as for an unknown id, and the key keeps
 * working; admins still manage everyone else's keys (SPEC §1), other admins' included.
 */
class OwnerKeysTest {
    @Shared
    static TestServer server;

    static Http http;

    @BeforeAll
    static void start() {
        http = server.http();
    }

    private static boolean works(KeyFixtures.Holder h) {
        return http.get("/api/v1/api_tokens", h.xApiKey()).status() == 200;
    }

    @Test
    void an_admin_cannot_delete_or_disable_the_owners_key_and_is_told_it_does_not_exist() {
        KeyFixtures.Holder owner = KeyFixtures.owner(server);
        KeyFixtures.Holder admin = KeyFixtures.holder(server, "keyadmin", Role.ADMIN, AccessLevel.FULL);
        String unknown = UUID.randomUUID().toString();

        Http.Response delete = http.delete("/api/v1/api_tokens/" + owner.keyId(), admin.xApiKey());
        Http.Response deleteUnknown = http.delete("/api/v1/api_tokens/" + unknown, admin.xApiKey());
        assertPlainError(delete, 404);
        assertThat(delete.body())
                .isEqualTo(deleteUnknown.body().replace(unknown, owner.keyId().toString()));

        Http.Response disable = http.send(
                "PATCH",
                "/api/v1/api_tokens/" + owner.keyId(),
                "application/json",
                Matrix.json("enabled", false),
                admin.xApiKey());
        Http.Response disableUnknown = http.send(
                "PATCH",
                "/api/v1/api_tokens/" + unknown,
                "application/json",
                Matrix.json("enabled", false),
                admin.xApiKey());
        assertPlainError(disable, 404);
        assertThat(disable.body())
                .isEqualTo(disableUnknown.body().replace(unknown, owner.keyId().toString()));

        Http.Response byFilebin = http.postForm(
                "/api/user/delete_apikey",
                form("apikey", admin.key(), "delete_key", owner.keyId().toString()));
        Http.Response byFilebinValue =
                http.postForm("/api/user/delete_apikey", form("apikey", admin.key(), "delete_key", owner.key()));
        Http.Response byFilebinUnknown =
                http.postForm("/api/user/delete_apikey", form("apikey", admin.key(), "delete_key", unknown));
        assertUserKeysError(byFilebin, 400, "user/delete_apikey/failed");
        assertThat(byFilebin.body()).isEqualTo(byFilebinUnknown.body()).isEqualTo(byFilebinValue.body());

        assertThat(works(owner)).as("the owner's key still works").isTrue();
        assertThat(KeyFixtures.rows(server, "SELECT enabled FROM api_keys WHERE id = ?", owner.keyId()))
                .extracting(r -> r.get("enabled"))
                .containsExactly(TestDatabases.postgres() ? true : 1);
    }

    @Test
    void the_owner_ends_their_own_key() {
        KeyFixtures.Holder owner = KeyFixtures.owner(server);
        KeyFixtures.Holder second = KeyFixtures.withKey(server, owner.user(), AccessLevel.FULL);
        assertThat(http.delete("/api/v1/api_tokens/" + second.keyId(), owner.xApiKey())
                        .status())
                .isEqualTo(200);
        assertThat(works(second)).isFalse();
    }

    @Test
    void an_admin_still_manages_another_admins_and_a_viewers_keys() {
        KeyFixtures.Holder admin = KeyFixtures.holder(server, "keyadmin", Role.ADMIN, AccessLevel.FULL);
        KeyFixtures.Holder otherAdmin = KeyFixtures.holder(server, "keyadmin2", Role.ADMIN, AccessLevel.FULL);
        KeyFixtures.Holder viewer = KeyFixtures.holder(server, "keyviewer", Role.VIEWER, AccessLevel.FULL);
        assertThat(http.send(
                                "PATCH",
                                "/api/v1/api_tokens/" + otherAdmin.keyId(),
                                "application/json",
                                Matrix.json("enabled", false),
                                admin.xApiKey())
                        .status())
                .isEqualTo(200);
        assertThat(works(otherAdmin)).isFalse();
        assertThat(http.delete("/api/v1/api_tokens/" + viewer.keyId(), admin.xApiKey())
                        .status())
                .isEqualTo(200);
        assertThat(works(viewer)).isFalse();
    }

    @Test
    void an_admin_cannot_end_the_owners_sessions_but_the_owner_can() {
        KeyFixtures.Holder owner = KeyFixtures.owner(server);
        KeyFixtures.Holder admin = KeyFixtures.holder(server, "sessadmin", Role.ADMIN, AccessLevel.FULL);
        Http.Response r = http.delete("/api/v1/user/auth/revoke/" + owner.name(), admin.xApiKey());
        Http.Response unknown = http.delete("/api/v1/user/auth/revoke/no-such-owner", admin.xApiKey());
        Matrix.assertError(r, 400, 903);
        assertThat(r.body()).isEqualTo(unknown.body().replace("no-such-owner", owner.name()));
        assertThat(http.delete("/api/v1/user/auth/revoke/" + owner.name(), owner.xApiKey())
                        .status())
                .isEqualTo(200);
    }
}
