package dev.pier.userkeys;

import dev.pier.keys.KeyFixtures;
import dev.pier.keys.KeyFormat;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.TestServer;
import dev.pier.users.Enrollment;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static dev.pier.keys.KeyFixtures.assertUserKeysError;
import static dev.pier.keys.KeyFixtures.form;
import static dev.pier.keys.KeyFixtures.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * SPEC §4: password checks of create_apikey count toward the same brute-force limits as TOTP logins.
 * Each test has its own server, so the per-address bucket starts empty.
 */
class PasswordLockoutTest {
    static final String PASSWORD = "a long enough password";
    TestServer server;

    @BeforeEach
    void start() {
        server = TestServer.start();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private Enrollment userWithPassword() {
        Enrollment e = server.createUser(KeyFixtures.name("lock"), Role.VIEWER);
        server.core()
                .users
                .setPasswordHash(
                        Principal.system(),
                        e.user().username(),
                        server.core().passwords.hash(PASSWORD));
        return e;
    }

    private Http.Response createKey(String username, String password) {
        return server.http()
                .postForm(
                        "/api/user/create_apikey",
                        form("username", username, "password", password, "access_level", "full"));
    }

    /** The right password with the current code appended; the clock then moves on, since a code works once. */
    private Http.Response rightKey(Enrollment e) {
        Http.Response r = createKey(e.user().username(), PASSWORD + server.code(e));
        server.clock.advance(Duration.ofSeconds(30));
        return r;
    }

    private static long retryAfter(Http.Response r) {
        assertThat(r.status()).as(r.body()).isEqualTo(429);
        assertThat(r.header("Retry-After")).as("Retry-After header").isNotNull();
        return Long.parseLong(r.header("Retry-After"));
    }

    @Test
    void five_wrong_passwords_lock_the_user_out_even_with_the_right_password() {
        Enrollment e = userWithPassword();
        String name = e.user().username();
        for (int i = 0; i < 5; i++) {
            assertUserKeysError(createKey(name, "wrong password " + i), 401, "user/login-failed");
        }
        Http.Response locked = createKey(name, PASSWORD + server.code(e));
        assertThat(retryAfter(locked)).isBetween(1L, 60L);
        assertThat(locked.json().path("status").asText()).isEqualTo("error");
        assertThat(locked.body()).doesNotContain("new_key");

        server.clock.advance(Duration.ofSeconds(61));
        Http.Response ok = rightKey(e);
        assertThat(ok.status()).as(ok.body()).isEqualTo(200);
        assertThat(KeyFormat.isValid(ok.json().at("/data/new_key").asText())).isTrue();
    }

    @Test
    void each_further_failure_doubles_the_lock() {
        Enrollment e = userWithPassword();
        String name = e.user().username();
        for (int i = 0; i < 5; i++) {
            createKey(name, "wrong");
        }
        assertThat(retryAfter(createKey(name, PASSWORD + server.code(e)))).isBetween(59L, 60L);
        server.clock.advance(Duration.ofSeconds(61));
        assertUserKeysError(createKey(name, "wrong again"), 401, "user/login-failed");
        assertThat(retryAfter(createKey(name, PASSWORD + server.code(e)))).isBetween(119L, 120L);
    }

    @Test
    void a_success_resets_the_count() {
        Enrollment e = userWithPassword();
        String name = e.user().username();
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < 4; i++) {
                assertUserKeysError(createKey(name, "wrong"), 401, "user/login-failed");
            }
            assertThat(rightKey(e).status()).isEqualTo(200);
        }
    }

    @Test
    void wrong_passwords_lock_out_totp_logins_of_the_same_user() {
        Enrollment e = userWithPassword();
        for (int i = 0; i < 5; i++) {
            createKey(e.user().username(), "wrong");
        }
        Http.Response login = server.login(e);
        assertThat(login.status()).as(login.body()).isEqualTo(429);
        assertThat(login.header("Retry-After")).isNotNull();
    }

    @Test
    void wrong_totp_codes_lock_out_password_checks_of_the_same_user() {
        Enrollment e = userWithPassword();
        String wrong = server.code(e).equals("000000") ? "111111" : "000000";
        for (int i = 0; i < 5; i++) {
            Http.Response r = server.http()
                    .postJson("/api/v1/user/auth", json("username", e.user().username(), "code", wrong));
            assertThat(r.status()).isEqualTo(400);
        }
        retryAfter(createKey(e.user().username(), PASSWORD + server.code(e)));
    }

    @Test
    void one_locked_user_does_not_lock_another() {
        Enrollment aliceE = userWithPassword();
        String alice = aliceE.user().username();
        Enrollment bob = userWithPassword();
        for (int i = 0; i < 5; i++) {
            createKey(alice, "wrong");
        }
        retryAfter(createKey(alice, PASSWORD + server.code(aliceE)));
        assertThat(rightKey(bob).status()).isEqualTo(200);
    }

    @Test
    void thirty_failures_from_one_address_lock_the_address_for_ten_minutes() {
        Enrollment bob = userWithPassword();
        for (int i = 0; i < 30; i++) {
            // spread over many names, so no single user is locked
            Http.Response r = createKey(KeyFixtures.name("spray"), "wrong");
            assertThat(r.status()).as("attempt %d: %s", i, r.body()).isEqualTo(401);
        }
        assertThat(retryAfter(createKey(bob.user().username(), PASSWORD + server.code(bob))))
                .isBetween(500L, 600L);

        server.clock.advance(Duration.ofMinutes(10).plusSeconds(1));
        assertThat(rightKey(bob).status()).isEqualTo(200);
    }
}
