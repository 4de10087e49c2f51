package dev.pier.live;

import dev.pier.Core;
import dev.pier.audit.AuditLog;
import dev.pier.crypto.Hashing;
import dev.pier.errors.PierException;
import dev.pier.instances.Instance;
import dev.pier.instances.InstanceFixture;
import dev.pier.keys.ApiKeyService;
import dev.pier.keys.CreatedKey;
import dev.pier.security.AccessLevel;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.support.Shared;
import dev.pier.users.Enrollment;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Console tickets on the real database: one use, one instance, 30 seconds, while their credential holds. */
class ConsoleTicketsTest {
    private static final String ADDR = "203.0.113.7";

    @Shared
    static InstanceFixture pier;

    private static Core core() {
        return pier.server.core();
    }

    private static ConsoleTickets tickets() {
        return core().tickets;
    }

    private static Principal principal(String credential) {
        return core().authenticator.resolve(credential, "127.0.0.1", false);
    }

    private static Instance instance(String prefix) {
        return core().instances
                .require(UUID.fromString(pier.deployQuiet(prefix).path("id").asText()));
    }

    private static void assertRefused(String ticket, UUID instance) {
        assertThatThrownBy(() -> tickets().redeem(ticket, instance, ADDR))
                .isInstanceOf(PierException.Unauthenticated.class)
                .hasMessage("console ticket invalid, used or expired");
    }

    /** The ticket's row, by its hash: used_at, or empty when there is no row. */
    private static Optional<Map<String, Object>> row(String ticket) {
        return core().db
                .jdbi()
                .withHandle(h -> h.createQuery("SELECT * FROM console_tickets WHERE token_hash = :hash")
                        .bind("hash", Hashing.sha256Hex(ticket))
                        .mapToMap()
                        .findOne());
    }

    @Test
    void a_ticket_opens_one_console_once_for_the_session_that_asked() {
        Instance inst = instance("tkt");
        Principal manager = principal(pier.manager);
        ConsoleTickets.Issued issued = tickets().issue(manager, inst);

        assertThat(issued.ticket()).matches("[A-Za-z0-9_-]{43}");
        assertThat(issued.expiresAt())
                .isEqualTo(pier.server
                        .clock
                        .instant()
                        .truncatedTo(ChronoUnit.MICROS)
                        .plus(ConsoleTickets.TTL));
        assertThat(issued.toString()).doesNotContain(issued.ticket());
        assertThat(tickets().issue(manager, inst).ticket()).isNotEqualTo(issued.ticket());

        // stored as its hash only, with the credential that asked for it
        Map<String, Object> stored = row(issued.ticket()).orElseThrow();
        assertThat(stored.values()).extracting(String::valueOf).doesNotContain(issued.ticket());
        assertThat(stored.get("credential_kind")).isEqualTo("ACCESS_TOKEN");
        assertThat(stored.get("credential_id")).isEqualTo(manager.credentialId());
        assertThat(stored.get("used_at")).isNull();

        Principal p = tickets().redeem(issued.ticket(), inst.id(), ADDR);
        assertThat(p.userId()).isEqualTo(pier.managerUser.user().id());
        assertThat(p.username()).isEqualTo(pier.managerUser.user().username());
        assertThat(p.role()).isEqualTo(Role.MANAGER);
        assertThat(p.level()).isEqualTo(AccessLevel.FULL);
        assertThat(p.kind()).isEqualTo(Principal.Kind.ACCESS_TOKEN);
        assertThat(p.credentialId()).isEqualTo(manager.credentialId());
        assertThat(p.clientAddr()).isEqualTo(ADDR);
        assertThat(row(issued.ticket()).orElseThrow().get("used_at")).isNotNull();

        assertRefused(issued.ticket(), inst.id());

        // the issue is audited, never the ticket
        List<AuditLog.Entry> audited = core().audit.recent(50, Long.MAX_VALUE, Map.of("action", "console.ticket"));
        assertThat(audited).anySatisfy(e -> {
            assertThat(e.target()).isEqualTo(inst.name());
            assertThat(e.actorName()).isEqualTo(pier.managerUser.user().username());
            assertThat(e.credentialId()).isEqualTo(manager.credentialId());
            assertThat(e.outcome()).isEqualTo("success");
        });
        assertThat(audited)
                .allSatisfy(
                        e -> assertThat(String.valueOf(e.detail()) + e.target()).doesNotContain(issued.ticket()));
    }

    @Test
    void a_ticket_is_for_its_own_instance_only() {
        Instance mine = instance("tkt-mine");
        Instance other = instance("tkt-other");
        ConsoleTickets.Issued issued = tickets().issue(principal(pier.manager), mine);

        assertRefused(issued.ticket(), other.id());
        assertRefused(issued.ticket(), UUID.randomUUID());
        // a try at another instance does not use it up
        assertThat(tickets().redeem(issued.ticket(), mine.id(), ADDR).userId())
                .isEqualTo(pier.managerUser.user().id());

        // deleting the instance takes its tickets along
        ConsoleTickets.Issued another = tickets().issue(principal(pier.manager), other);
        core().instances.delete(Principal.system(), other.id(), true);
        assertThat(row(another.ticket())).isEmpty();
        assertRefused(another.ticket(), other.id());
    }

    @Test
    void a_ticket_expires_after_thirty_seconds() {
        Instance inst = instance("tkt-exp");
        Principal manager = principal(pier.manager);
        ConsoleTickets.Issued early = tickets().issue(manager, inst);
        ConsoleTickets.Issued late = tickets().issue(manager, inst);

        pier.server.clock.advance(ConsoleTickets.TTL.minusSeconds(1));
        assertThat(tickets().redeem(early.ticket(), inst.id(), ADDR).userId()).isEqualTo(manager.userId());
        pier.server.clock.advance(Duration.ofSeconds(1));
        assertRefused(late.ticket(), inst.id());
        assertThat(row(late.ticket()).orElseThrow().get("used_at")).isNull();
    }

    @Test
    void a_ticket_is_refused_once_the_session_that_asked_for_it_is_revoked() {
        Enrollment user = pier.server.createUser(InstanceFixture.name("tkt-rev"), Role.MANAGER);
        String token = pier.server.accessToken(user);
        Instance inst = instance("tkt-rev");
        Principal p = principal(token);
        ConsoleTickets.Issued issued = tickets().issue(p, inst);

        core().auth.revokeAll(Principal.system(), user.user().username());

        assertRefused(issued.ticket(), inst.id());
    }

    @Test
    void a_key_s_ticket_carries_the_key_s_level_and_dies_with_the_key() {
        Enrollment user = pier.server.createUser(InstanceFixture.name("tkt-key"), Role.MANAGER);
        CreatedKey key = core().keys
                .create(
                        Principal.system(),
                        user.user().username(),
                        new ApiKeyService.NewKey("console", true, null, AccessLevel.APIKEY));
        Instance inst = instance("tkt-key");
        Principal viaKey = principal(key.value());

        Principal p = tickets().redeem(tickets().issue(viaKey, inst).ticket(), inst.id(), ADDR);
        assertThat(p.kind()).isEqualTo(Principal.Kind.API_KEY);
        assertThat(p.credentialId()).isEqualTo(key.key().id().toString());
        assertThat(p.level()).isEqualTo(AccessLevel.APIKEY);
        assertThat(p.role()).isEqualTo(Role.MANAGER);

        ConsoleTickets.Issued issued = tickets().issue(viaKey, inst);
        core().keys.update(Principal.system(), key.key().id(), null, false, null);
        assertRefused(issued.ticket(), inst.id());

        core().keys.update(Principal.system(), key.key().id(), null, true, null);
        assertThat(tickets()
                        .redeem(tickets().issue(viaKey, inst).ticket(), inst.id(), ADDR)
                        .kind())
                .isEqualTo(Principal.Kind.API_KEY);
        ConsoleTickets.Issued afterDelete = tickets().issue(viaKey, inst);
        core().keys.delete(Principal.system(), key.key().id());
        assertRefused(afterDelete.ticket(), inst.id());
    }

    @Test
    void malformed_tickets_are_refused_alike() {
        Instance inst = instance("tkt-bad");
        String good = tickets().issue(principal(pier.manager), inst).ticket();
        List<String> malformed = new ArrayList<>(List.of(
                "",
                "abc",
                good.substring(1),
                good + "A",
                good + "=",
                good.substring(1) + "+",
                good.substring(1) + "/",
                good.substring(1) + "é",
                good.substring(0, 20) + " " + good.substring(21),
                Hashing.sha256Hex(good),
                "x".repeat(10_000)));
        malformed.add(null);
        for (String t : malformed) {
            assertRefused(t, inst.id());
        }
        assertRefused(good, null);
        // and none of that used the good one up
        assertThat(tickets().redeem(good, inst.id(), ADDR).userId())
                .isEqualTo(pier.managerUser.user().id());
    }

    @Test
    void of_fifty_redeems_of_one_ticket_at_once_exactly_one_succeeds() throws Exception {
        Instance inst = instance("tkt-race");
        String ticket = tickets().issue(principal(pier.manager), inst).ticket();
        int n = 50;
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Boolean>> results = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(n)) {
            for (int i = 0; i < n; i++) {
                results.add(pool.submit(() -> {
                    go.await();
                    try {
                        tickets().redeem(ticket, inst.id(), ADDR);
                        return true;
                    } catch (PierException.Unauthenticated refused) {
                        assertThat(refused).hasMessage("console ticket invalid, used or expired");
                        return false;
                    }
                }));
            }
            go.countDown();
            int won = 0;
            for (Future<Boolean> f : results) {
                won += f.get() ? 1 : 0;
            }
            assertThat(won).isEqualTo(1);
        }
    }

    @Test
    void purge_deletes_tickets_expired_over_a_minute_ago_and_keeps_the_rest() {
        Instance inst = instance("tkt-purge");
        Principal manager = principal(pier.manager);
        ConsoleTickets.Issued old = tickets().issue(manager, inst);
        pier.server.clock.advance(Duration.ofSeconds(60));
        ConsoleTickets.Issued recent = tickets().issue(manager, inst);
        pier.server.clock.advance(Duration.ofSeconds(31));
        ConsoleTickets.Issued fresh = tickets().issue(manager, inst);
        // old expired 61 s ago, recent 1 s ago

        assertThat(tickets().purgeExpired()).isGreaterThanOrEqualTo(1);

        assertThat(row(old.ticket())).isEmpty();
        assertThat(row(recent.ticket())).isPresent();
        assertThat(row(fresh.ticket())).isPresent();
        assertRefused(recent.ticket(), inst.id());
        assertThat(tickets().redeem(fresh.ticket(), inst.id(), ADDR).userId()).isEqualTo(manager.userId());
    }

    @Test
    void only_a_session_or_an_api_key_gets_a_ticket() {
        Instance inst = instance("tkt-kind");
        Principal manager = principal(pier.manager);
        for (Principal.Kind kind :
                List.of(Principal.Kind.SYSTEM, Principal.Kind.REFRESH_TOKEN, Principal.Kind.PASSWORD)) {
            Principal p = new Principal(
                    manager.userId(),
                    manager.username(),
                    manager.role(),
                    manager.level(),
                    kind,
                    manager.credentialId(),
                    manager.clientAddr());
            assertThatThrownBy(() -> tickets().issue(p, inst)).isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> tickets().issue(Principal.system(), inst))
                .isInstanceOf(IllegalArgumentException.class);
        int stored = core().db
                .jdbi()
                .withHandle(h -> h.createQuery("SELECT COUNT(*) FROM console_tickets WHERE instance_id = :id")
                        .bind("id", inst.id())
                        .mapTo(Integer.class)
                        .one());
        assertThat(stored).isZero();
    }
}
