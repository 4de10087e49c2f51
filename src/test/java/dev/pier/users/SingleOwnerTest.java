package dev.pier.users;

import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.support.Shared;
import dev.pier.support.TestServer;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * SPEC §1: exactly one owner, enforced by the database itself, so that neither a race between two
 * creators nor a hand-written SQL statement can make a second. Each test starts with no users at all.
 */
class SingleOwnerTest {
    @Shared
    static TestServer server;

    @BeforeEach
    void noUsers() {
        jdbi().useHandle(h -> h.execute("DELETE FROM users"));
    }

    private static Jdbi jdbi() {
        return server.core().db.jdbi();
    }

    private void insertRaw(String username, String role, Integer ownerSlot) {
        jdbi().useHandle(h -> h.createUpdate("""
                        INSERT INTO users (id, username, username_key, role, owner_slot, totp_secret, totp_last_step,
                                           created_at, updated_at)
                        VALUES (:id, :u, :k, :r, :slot, 'v1:AAAA', 0, :now, :now)""")
                .bind("id", UUID.randomUUID())
                .bind("u", username)
                .bind("k", username.toLowerCase())
                .bind("r", role)
                .bind("slot", ownerSlot)
                .bind("now", Instant.now())
                .execute());
    }

    private long owners() {
        return jdbi().withHandle(h -> h.createQuery("SELECT COUNT(*) FROM users WHERE role = 'owner'")
                .mapTo(Long.class)
                .one());
    }

    @Test
    void second_owner_row_inserted_by_hand_is_refused_by_the_database() {
        server.createUser("first-owner", Role.OWNER);
        assertThatThrownBy(() -> insertRaw("second-owner", "owner", 1)).isInstanceOf(RuntimeException.class);
        assertThat(owners()).isEqualTo(1);
    }

    @Test
    void owner_row_without_the_owner_slot_is_refused_by_the_database() {
        server.createUser("first-owner", Role.OWNER);
        // NULLs never collide in a unique index, so only the check constraint can stop this row
        assertThatThrownBy(() -> insertRaw("slotless-owner", "owner", null)).isInstanceOf(RuntimeException.class);
        assertThat(owners()).isEqualTo(1);
    }

    @Test
    void owner_row_with_another_slot_value_is_refused_by_the_database() {
        server.createUser("first-owner", Role.OWNER);
        assertThatThrownBy(() -> insertRaw("slot-two-owner", "owner", 2)).isInstanceOf(RuntimeException.class);
        assertThat(owners()).isEqualTo(1);
    }

    @Test
    void promoting_an_admin_to_owner_by_hand_is_refused_by_the_database() {
        server.createUser("first-owner", Role.OWNER);
        Enrollment admin = server.createUser("ambitious", Role.ADMIN);
        assertThatThrownBy(() -> jdbi().useHandle(h -> h.createUpdate("UPDATE users SET role = 'owner' WHERE id = :id")
                        .bind("id", admin.user().id())
                        .execute()))
                .isInstanceOf(RuntimeException.class);
        assertThat(owners()).isEqualTo(1);
    }

    @Test
    void promoting_an_admin_into_the_owner_slot_by_hand_is_refused_by_the_database() {
        server.createUser("first-owner", Role.OWNER);
        Enrollment admin = server.createUser("ambitious", Role.ADMIN);
        assertThatThrownBy(() -> jdbi().useHandle(
                                h -> h.createUpdate("UPDATE users SET role = 'owner', owner_slot = 1 WHERE id = :id")
                                        .bind("id", admin.user().id())
                                        .execute()))
                .isInstanceOf(RuntimeException.class);
        assertThat(owners()).isEqualTo(1);
    }

    @Test
    void first_owner_may_be_inserted_by_hand_and_a_non_owner_needs_no_slot() {
        insertRaw("hand-made-owner", "owner", 1);
        insertRaw("hand-made-viewer", "viewer", null);
        assertThat(owners()).isEqualTo(1);
        assertThatThrownBy(() -> insertRaw("viewer-with-slot", "viewer", 1)).isInstanceOf(RuntimeException.class);
    }

    @Test
    void parallel_owner_creations_make_exactly_one_owner() throws Exception {
        int threads = 8;
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Object>> results = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            for (int i = 0; i < threads; i++) {
                String name = "claimant-" + i;
                results.add(pool.submit(() -> {
                    go.await();
                    try {
                        return server.core()
                                .users
                                .create(
                                        Principal.system(),
                                        new UserService.NewUser(null, name, Role.OWNER, null, null));
                    } catch (PierException e) {
                        return e;
                    }
                }));
            }
            go.countDown();
            int created = 0;
            for (Future<Object> f : results) {
                Object r = f.get();
                if (r instanceof Enrollment) {
                    created++;
                } else {
                    assertThat(r).isInstanceOf(PierException.class);
                    assertThat(((PierException) r).reason()).isEqualTo(Reason.OWNER_EXISTS);
                }
            }
            assertThat(created).isEqualTo(1);
        }
        assertThat(owners()).isEqualTo(1);
    }

    @Test
    void owner_cannot_be_deleted_through_the_service_even_by_the_system() {
        server.createUser("the-owner", Role.OWNER);
        assertThatThrownBy(() -> server.core().users.delete(Principal.system(), "the-owner"))
                .isInstanceOf(PierException.Denied.class);
        assertThat(owners()).isEqualTo(1);
    }
}
