package dev.pier.userkeys;

import dev.pier.keys.KeyFixtures;
import dev.pier.keys.KeyFormat;
import dev.pier.security.AccessLevel;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Matrix;
import dev.pier.support.TestServer;
import dev.pier.users.Enrollment;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static dev.pier.keys.KeyFixtures.assertUserKeysError;
import static dev.pier.keys.KeyFixtures.form;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 7, item 1: one factor never mints a credential when the account has two. Every Pier user has a
 * TOTP secret, so {@code create_apikey} with username and password also needs the current code (a
 * {@code code} field, or six digits after the password); the code is consumed like a login's; failures
 * of either factor count toward the same lockout, and a success of one never clears the other's count.
 * Each test has its own server, so no failures are left over.
 */
class SecondFactorTest {
    static final String PASSWORD = "a long enough password";
    static final String CREATE = "/api/user/create_apikey";
    TestServer server;

    @BeforeEach
    void start() {
        server = TestServer.start();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private Enrollment user() {
        Enrollment e = server.createUser(KeyFixtures.name("twofa"), Role.VIEWER);
        server.core()
                .users
                .setPasswordHash(
                        Principal.system(),
                        e.user().username(),
                        server.core().passwords.hash(PASSWORD));
        return e;
    }

    private Http.Response create(String... fields) {
        String[] all = new String[fields.length + 2];
        System.arraycopy(fields, 0, all, 0, fields.length);
        all[fields.length] = "access_level";
        all[fields.length + 1] = "full";
        return server.http().postForm(CREATE, form(all));
    }

    private String wrongCode(Enrollment e) {
        for (int i = 0; ; i++) {
            String c = String.format("%06d", i);
            if (!c.equals(server.code(e, -1)) && !c.equals(server.code(e)) && !c.equals(server.code(e, 1))) {
                return c;
            }
        }
    }

    @Test
    void the_password_alone_mints_no_key() {
        Enrollment e = user();
        Http.Response r = create("username", e.user().username(), "password", PASSWORD);
        assertUserKeysError(r, 401, "user/login-failed");
        assertThat(r.body()).doesNotContain("new_key");
        assertThat(KeyFixtures.keyCount(server)).isZero();
    }

    @Test
    void the_password_with_the_current_code_mints_a_full_key_in_either_form() {
        Enrollment e = user();
        Http.Response field = create("username", e.user().username(), "password", PASSWORD, "code", server.code(e));
        assertThat(field.status()).as(field.body()).isEqualTo(200);
        assertThat(KeyFormat.isValid(field.json().at("/data/new_key").asText())).isTrue();
        server.clock.advance(Duration.ofSeconds(30));
        Http.Response appended = create("username", e.user().username(), "password", PASSWORD + server.code(e));
        assertThat(appended.status()).as(appended.body()).isEqualTo(200);
        assertThat(KeyFixtures.keyCount(server)).isEqualTo(2);
    }

    @Test
    void a_wrong_code_with_the_right_password_fails_like_a_wrong_password() {
        Enrollment e = user();
        Http.Response wrongCode = create("username", e.user().username(), "password", PASSWORD, "code", wrongCode(e));
        Http.Response wrongPassword =
                create("username", e.user().username(), "password", "not it", "code", server.code(e));
        assertUserKeysError(wrongCode, 401, "user/login-failed");
        assertThat(wrongCode.body()).isEqualTo(wrongPassword.body());
        assertThat(KeyFixtures.keyCount(server)).isZero();
    }

    @Test
    void a_code_works_once_here_and_is_spent_for_logins_too() {
        Enrollment e = user();
        String code = server.code(e);
        assertThat(create("username", e.user().username(), "password", PASSWORD, "code", code)
                        .status())
                .isEqualTo(200);
        assertUserKeysError(
                create("username", e.user().username(), "password", PASSWORD, "code", code), 401, "user/login-failed");
        // the same code at the Matrix login: already used (one atomic update consumed it)
        Matrix.assertError(Matrix.login(server.http(), e.user().username(), code), 400, 902);
        assertThat(KeyFixtures.keyCount(server)).isEqualTo(1);
    }

    @Test
    void five_wrong_codes_with_the_right_password_lock_the_user() {
        Enrollment e = user();
        for (int i = 0; i < 5; i++) {
            assertUserKeysError(
                    create("username", e.user().username(), "password", PASSWORD, "code", wrongCode(e)),
                    401,
                    "user/login-failed");
        }
        Http.Response locked = create("username", e.user().username(), "password", PASSWORD, "code", server.code(e));
        assertThat(locked.status()).as(locked.body()).isEqualTo(429);
        assertThat(Matrix.login(server.http(), e.user().username(), server.code(e))
                        .status())
                .isEqualTo(429);
    }

    /** Before the fix, a right password reset the count of wrong codes: the attacker got 4 guesses per reset. */
    @Test
    void a_successful_login_does_not_clear_the_count_of_wrong_passwords() {
        Enrollment e = user();
        for (int i = 0; i < 4; i++) {
            assertUserKeysError(
                    create("username", e.user().username(), "password", "guess " + i, "code", server.code(e)),
                    401,
                    "user/login-failed");
        }
        // a code-only Matrix login proves the code, not the password: the password failures stay counted
        Matrix.assertTokens(Matrix.login(server.http(), e.user().username(), server.code(e)));
        server.clock.advance(Duration.ofSeconds(30));
        assertUserKeysError(
                create("username", e.user().username(), "password", "guess 5", "code", server.code(e)),
                401,
                "user/login-failed");
        Http.Response locked = create("username", e.user().username(), "password", PASSWORD, "code", server.code(e));
        assertThat(locked.status()).as(locked.body()).isEqualTo(429);
    }

    @Test
    void a_success_with_both_factors_clears_both_counts() {
        Enrollment e = user();
        for (int i = 0; i < 2; i++) {
            create("username", e.user().username(), "password", "guess " + i, "code", server.code(e));
            create("username", e.user().username(), "password", PASSWORD, "code", wrongCode(e));
        }
        assertThat(create("username", e.user().username(), "password", PASSWORD, "code", server.code(e))
                        .status())
                .isEqualTo(200);
        server.clock.advance(Duration.ofSeconds(30));
        for (int i = 0; i < 4; i++) {
            create("username", e.user().username(), "password", "again " + i, "code", server.code(e));
        }
        assertThat(create("username", e.user().username(), "password", PASSWORD, "code", server.code(e))
                        .status())
                .isEqualTo(200);
    }

    /** Issue 8: create_apikey is authenticated by the one before-handler, and refuses two credentials at once. */
    @Test
    void a_key_and_a_password_together_are_refused() {
        Enrollment e = user();
        KeyFixtures.Holder h = KeyFixtures.withKey(server, e.user(), AccessLevel.FULL);
        int before = KeyFixtures.keyCount(server);
        Http.Response both = create(
                "apikey", h.key(), "username", e.user().username(), "password", PASSWORD, "code", server.code(e));
        assertUserKeysError(both, 400, "api/invalid-request");
        Http.Response headerAndPassword = server.http()
                .postForm(
                        CREATE,
                        form(
                                "username",
                                e.user().username(),
                                "password",
                                PASSWORD,
                                "code",
                                server.code(e),
                                "access_level",
                                "full"),
                        h.xApiKey());
        assertUserKeysError(headerAndPassword, 400, "api/invalid-request");
        assertThat(KeyFixtures.keyCount(server)).isEqualTo(before);
    }

    @Test
    void a_password_session_is_audited_as_a_password_login() {
        Enrollment e = user();
        assertThat(create("username", e.user().username(), "password", PASSWORD, "code", server.code(e))
                        .status())
                .isEqualTo(200);
        assertThat(KeyFixtures.audit(server, "auth.password", e.user().username()))
                .extracting(r -> r.get("outcome"))
                .containsExactly("success");
        assertThat(KeyFixtures.rows(server, "SELECT credential_id FROM audit_log WHERE action = 'key.create'"))
                .extracting(r -> r.get("credential_id"))
                .containsExactly("password");
    }
}
