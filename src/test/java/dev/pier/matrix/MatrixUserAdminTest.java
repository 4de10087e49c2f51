package dev.pier.matrix;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Matrix;
import dev.pier.support.Shared;
import dev.pier.support.TestServer;
import dev.pier.users.Enrollment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.StreamSupport;

import static dev.pier.support.Matrix.REFRESH;
import static dev.pier.support.Matrix.assertError;
import static dev.pier.support.Matrix.assertTokens;
import static dev.pier.support.Matrix.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code GET /api/v1/user/list}, {@code POST /api/v1/user/add}, {@code DELETE /api/v1/user/delete/:user}:
 * admin and owner only, each answering with the updated list of {@code {_id, username, created, group}}.
 */
class MatrixUserAdminTest {
    private static final String LIST = "/api/v1/user/list";
    private static final String ADD = "/api/v1/user/add";
    private static final String DELETE = "/api/v1/user/delete/";
    private static final AtomicInteger SEQ = new AtomicInteger();
    /** Every response body this class saw, checked for secrets at the end. */
    private static final List<String> BODIES = java.util.Collections.synchronizedList(new ArrayList<>());

    private static final List<String> SECRETS = java.util.Collections.synchronizedList(new ArrayList<>());

    @Shared
    static TestServer server;

    static Http http;
    static Enrollment owner;

    @BeforeAll
    static void start() {
        http = server.http();
        owner = created(server.createUser("owner", Role.OWNER));
        // the test clock stands still until moved: make the owner strictly the oldest user
        server.clock.advance(Duration.ofSeconds(1));
    }

    private static Enrollment created(Enrollment e) {
        SECRETS.add(e.secretBase32());
        return e;
    }

    private static String name(String prefix) {
        return prefix + "-" + SEQ.incrementAndGet();
    }

    private static Enrollment user(Role role) {
        return created(server.createUser(name(role.wire()), role));
    }

    private static String token(Role role) {
        return role == Role.OWNER ? server.accessToken(owner) : server.accessToken(user(role));
    }

    private static Http.Response seen(Http.Response r) {
        BODIES.add(r.body());
        return r;
    }

    private static Http.Response list(String token) {
        return seen(http.get(LIST, Matrix.bearer(token)));
    }

    private static Http.Response add(String token, String body) {
        return seen(http.postJson(ADD, body, Matrix.bearer(token)));
    }

    private static Http.Response add(String token, String username, String group) {
        return add(token, json("username", username, "group", group));
    }

    private static Http.Response delete(String token, String username) {
        return seen(http.delete(DELETE + username, Matrix.bearer(token)));
    }

    private static List<Map<String, Object>> usersTable() {
        return server.core()
                .db
                .jdbi()
                .withHandle(h -> h.createQuery("SELECT * FROM users ORDER BY id")
                        .mapToMap()
                        .list());
    }

    /** Asserts the documented list shape and returns the entries by username. */
    private static Map<String, JsonNode> assertUserList(Http.Response r) {
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        JsonNode body = r.json();
        assertThat(body.isArray()).isTrue();
        Map<String, JsonNode> byName = new java.util.LinkedHashMap<>();
        for (JsonNode u : body) {
            assertThat(iterable(u.fieldNames())).containsExactly("_id", "username", "created", "group");
            UUID.fromString(u.get("_id").asText());
            Instant.parse(u.get("created").asText());
            assertThat(u.get("group").asText()).isIn("viewer", "manager", "admin", "owner");
            byName.put(u.get("username").asText(), u);
        }
        return byName;
    }

    private static List<String> iterable(java.util.Iterator<String> it) {
        List<String> l = new ArrayList<>();
        it.forEachRemaining(l::add);
        return l;
    }

    @Test
    void admin_and_owner_list_users_in_the_documented_shape() {
        Enrollment v = user(Role.VIEWER);
        for (Role role : new Role[] {Role.ADMIN, Role.OWNER}) {
            Map<String, JsonNode> users = assertUserList(list(token(role)));
            assertThat(users).containsKeys("owner", v.user().username());
            assertThat(users.get("owner").get("group").asText()).isEqualTo("owner");
            assertThat(users.get(v.user().username()).get("_id").asText())
                    .isEqualTo(v.user().id().toString());
            assertThat(users.get(v.user().username()).get("group").asText()).isEqualTo("viewer");
        }
    }

    @Test
    void list_starts_with_the_oldest_user() {
        JsonNode body = list(token(Role.ADMIN)).json();
        assertThat(body.get(0).get("username").asText()).isEqualTo("owner");
        List<Instant> created = StreamSupport.stream(body.spliterator(), false)
                .map(u -> Instant.parse(u.get("created").asText()))
                .toList();
        assertThat(created).isSorted();
    }

    @Test
    void viewer_and_manager_may_not_list_users() {
        assertError(list(token(Role.VIEWER)), 403, 912);
        assertError(list(token(Role.MANAGER)), 403, 912);
    }

    @Test
    void admin_adds_a_viewer_and_gets_the_updated_list() {
        String n = name("new-viewer");
        Map<String, JsonNode> users = assertUserList(add(token(Role.ADMIN), n, "viewer"));
        assertThat(users).containsKey(n);
        assertThat(users.get(n).get("group").asText()).isEqualTo("viewer");
        assertThat(assertUserList(list(token(Role.ADMIN)))).containsKey(n);
    }

    @Test
    void admin_adds_a_manager_and_owner_adds_an_admin() {
        String m = name("new-manager");
        assertThat(assertUserList(add(token(Role.ADMIN), m, "manager"))
                        .get(m)
                        .get("group")
                        .asText())
                .isEqualTo("manager");
        String a = name("new-admin");
        assertThat(assertUserList(add(token(Role.OWNER), a, "admin"))
                        .get(a)
                        .get("group")
                        .asText())
                .isEqualTo("admin");
    }

    @Test
    void add_accepts_a_form_body() {
        String n = name("form-user");
        Http.Response r =
                seen(http.postForm(ADD, "username=" + n + "&group=manager", Matrix.bearer(token(Role.ADMIN))));
        assertThat(assertUserList(r)).containsKey(n);
    }

    @Test
    void added_user_enrols_through_setup_and_logs_in() {
        String ownerToken = token(Role.OWNER);
        String n = name("fresh");
        assertUserList(add(ownerToken, n, "viewer"));
        Http.Response setup = seen(http.get("/api/v1/user/auth/setup/" + n, Matrix.bearer(ownerToken)));
        assertThat(setup.status()).isEqualTo(200);
        String secret = setup.json().get("secret").asText();
        SECRETS.add(secret);
        assertTokens(Matrix.login(http, n, Matrix.code(secret, server.clock.instant(), 0)));
    }

    @Test
    void client_cannot_choose_the_id_or_slip_in_another_role() {
        String n = name("sneaky");
        String body = json(
                "username",
                n,
                "group",
                "viewer",
                "_id",
                owner.user().id().toString(),
                "role",
                "owner",
                "admin",
                true,
                "created",
                "2000-01-01T00:00:00Z");
        JsonNode u = assertUserList(add(token(Role.ADMIN), body)).get(n);
        assertThat(u.get("_id").asText()).isNotEqualTo(owner.user().id().toString());
        assertThat(u.get("group").asText()).isEqualTo("viewer");
        assertThat(u.get("created").asText()).doesNotStartWith("2000");
    }

    @Test
    void viewer_and_manager_may_not_add_users() {
        List<Map<String, Object>> before = usersTable();
        assertError(add(token(Role.VIEWER), name("nope"), "viewer"), 403, 912);
        assertError(add(token(Role.MANAGER), name("nope"), "viewer"), 403, 912);
        // the two callers were created for this test; nobody else was
        assertThat(usersTable()).hasSize(before.size() + 2);
    }

    @ParameterizedTest
    @ValueSource(strings = {"superuser", "root", "guest", "owners", "1", "viewer;admin"})
    void add_with_an_unknown_group_is_refused_with_905(String group) {
        String n = name("grouped");
        assertError(add(token(Role.ADMIN), n, group), 400, 905);
        assertThat(server.core().users.find(n)).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "{}",
                "{\"username\":\"lonely\"}",
                "{\"group\":\"viewer\"}",
                "{\"username\":\"\",\"group\":\"viewer\"}",
                "{\"username\":\"lonely\",\"group\":\"\"}",
                "{\"username\":null,\"group\":\"viewer\"}",
                "{\"username\":\"  \",\"group\":\"viewer\"}"
            })
    void add_with_missing_fields_is_refused_with_913(String body) {
        String t = token(Role.OWNER);
        // taken after the login, which records the step of the code it used
        List<Map<String, Object>> before = usersTable();
        assertError(add(t, body), 400, 913);
        assertThat(usersTable()).isEqualTo(before);
    }

    @Test
    void add_with_no_body_is_refused_with_913() {
        String t = token(Role.OWNER);
        assertError(seen(http.send("POST", ADD, null, null, "Authorization", "Bearer " + t)), 400, 913);
    }

    @Test
    void add_with_a_taken_username_is_refused_with_914_whatever_the_case() {
        Enrollment v = user(Role.VIEWER);
        String t = token(Role.ADMIN);
        List<Map<String, Object>> before = usersTable();
        assertError(add(t, v.user().username(), "viewer"), 400, 914);
        assertError(add(t, v.user().username().toUpperCase(), "manager"), 400, 914);
        assertError(add(t, "OWNER", "viewer"), 400, 914);
        assertThat(usersTable()).isEqualTo(before);
    }

    @Test
    void parallel_adds_of_one_name_create_one_user() throws Exception {
        String t = token(Role.ADMIN);
        String n = name("twin");
        String body = json("username", n, "group", "viewer");
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Http.Response>> futures = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
            for (int i = 0; i < 8; i++) {
                futures.add(pool.submit(() -> {
                    go.await();
                    return add(t, body);
                }));
            }
            go.countDown();
            List<Http.Response> rs = new ArrayList<>();
            for (Future<Http.Response> f : futures) {
                rs.add(f.get());
            }
            assertThat(rs).filteredOn(r -> r.status() == 200).hasSize(1);
            assertThat(rs)
                    .filteredOn(r -> r.status() != 200)
                    .allSatisfy(r -> assertThat(r.json().get("errorId").asInt())
                            .as(r.body())
                            .isEqualTo(914));
        }
        long count = server.core()
                .db
                .jdbi()
                .withHandle(h -> h.createQuery("SELECT COUNT(*) FROM users WHERE username_key = :k")
                        .bind("k", n.toLowerCase())
                        .mapTo(Long.class)
                        .one());
        assertThat(count).isEqualTo(1);
    }

    @Test
    void adding_an_owner_is_refused_with_906() {
        String ownerToken = token(Role.OWNER);
        String adminToken = token(Role.ADMIN);
        List<Map<String, Object>> before = usersTable();
        assertError(add(ownerToken, name("second-owner"), "owner"), 403, 906);
        assertError(add(adminToken, name("second-owner"), "owner"), 403, 906);
        assertThat(usersTable()).isEqualTo(before);
    }

    @Test
    void admin_may_not_add_an_admin() {
        String n = name("peer-admin");
        assertError(add(token(Role.ADMIN), n, "admin"), 403, 912);
        assertThat(server.core().users.find(n)).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "has space",
                "slash/name",
                "semi;colon",
                "quote'name",
                "' OR 1=1 --",
                "ünïcödé",
                "a\u0000b",
                "tab\tname",
                "line\nbreak",
                "emoji\uD83D\uDE00",
                "<script>",
                "%41",
                "name@example.com",
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            })
    void invalid_usernames_are_refused_with_400_and_change_nothing(String bad) {
        String t = token(Role.OWNER);
        List<Map<String, Object>> before = usersTable();
        Http.Response r = add(t, bad, "viewer");
        assertError(r, 400, 400);
        assertThat(r.json().get("error").asText()).contains("username");
        assertThat(usersTable()).isEqualTo(before);
    }

    @Test
    void username_of_64_characters_is_accepted() {
        String n = ("max-" + SEQ.incrementAndGet() + "-").concat("x".repeat(64)).substring(0, 64);
        assertThat(assertUserList(add(token(Role.OWNER), n, "viewer"))).containsKey(n);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "{\"username\":123,\"group\":\"viewer\"}",
                "{\"username\":[\"x\"],\"group\":\"viewer\"}",
                "{\"username\":{\"a\":1},\"group\":\"viewer\"}",
                "{\"username\":\"typed\",\"group\":[\"viewer\"]}",
                "{\"username\":\"typed\",\"group\":true}",
                "{\"username\":\"typed\",\"group\":",
                "[{\"username\":\"typed\",\"group\":\"viewer\"}]"
            })
    void wrong_types_and_malformed_bodies_are_refused_with_400_and_change_nothing(String body) {
        String t = token(Role.OWNER);
        List<Map<String, Object>> before = usersTable();
        assertError(add(t, body), 400, 400);
        assertThat(usersTable()).isEqualTo(before);
    }

    @Test
    void oversize_add_body_is_refused_with_413() {
        String t = token(Role.OWNER);
        List<Map<String, Object>> before = usersTable();
        assertError(add(t, json("username", "big", "group", "viewer", "pad", "x".repeat(1100 * 1024))), 413, 413);
        assertThat(usersTable()).isEqualTo(before);
    }

    @Test
    void delete_returns_the_updated_list_without_the_user() {
        Enrollment v = user(Role.VIEWER);
        Map<String, JsonNode> users =
                assertUserList(delete(token(Role.ADMIN), v.user().username()));
        assertThat(users).doesNotContainKey(v.user().username()).containsKey("owner");
        assertThat(server.core().users.find(v.user().username())).isEmpty();
    }

    @Test
    void delete_matches_the_name_without_regard_to_case() {
        Enrollment v = user(Role.MANAGER);
        assertThat(assertUserList(delete(token(Role.ADMIN), v.user().username().toUpperCase())))
                .doesNotContainKey(v.user().username());
    }

    @Test
    void deleted_users_tokens_stop_working_at_once() {
        Enrollment victim = user(Role.ADMIN);
        JsonNode session = assertTokens(server.login(victim));
        server.clock.advance(Duration.ofSeconds(30));
        String access = session.get("access_token").asText();
        assertThat(list(access).status()).isEqualTo(200);

        assertUserList(delete(token(Role.OWNER), victim.user().username()));

        assertError(list(access), 401, 908);
        assertError(
                seen(http.postJson(
                        REFRESH,
                        json(
                                "grant_type",
                                "refresh_token",
                                "refresh_token",
                                session.get("refresh_token").asText()))),
                401,
                910);
        assertError(Matrix.login(http, victim.user().username(), server.code(victim)), 400, 902);
    }

    @Test
    void owner_cannot_be_deleted() {
        assertError(delete(token(Role.OWNER), "owner"), 403, 912);
        // an admin may not touch the owner: answered as for an unknown name
        assertError(delete(token(Role.ADMIN), "owner"), 400, 903);
        assertThat(server.core().users.find("owner")).isPresent();
        assertThat(list(token(Role.OWNER)).status()).isEqualTo(200);
    }

    @Test
    void admin_may_not_delete_an_admin_but_the_owner_may() {
        Enrollment other = user(Role.ADMIN);
        assertError(delete(token(Role.ADMIN), other.user().username()), 400, 903);
        assertThat(server.core().users.find(other.user().username())).isPresent();
        assertThat(assertUserList(delete(token(Role.OWNER), other.user().username())))
                .doesNotContainKey(other.user().username());
    }

    @Test
    void viewer_and_manager_may_not_delete_anyone_not_even_themselves() {
        for (Role role : new Role[] {Role.VIEWER, Role.MANAGER}) {
            Enrollment self = user(role);
            String t = server.accessToken(self);
            assertError(delete(t, self.user().username()), 403, 912);
            assertError(delete(t, user(Role.VIEWER).user().username()), 403, 912);
            assertThat(server.core().users.find(self.user().username())).isPresent();
        }
    }

    @Test
    void deleting_an_unknown_user_answers_903() {
        String t = token(Role.ADMIN);
        assertError(delete(t, "no-such-user"), 400, 903);
        assertError(delete(t, "y".repeat(300)), 400, 903);
        assertError(delete(t, "%27%3B%20DROP%20TABLE%20users%3B%20--"), 400, 903);
    }

    @Test
    void deleting_twice_answers_903_the_second_time() {
        Enrollment v = user(Role.VIEWER);
        String t = token(Role.ADMIN);
        assertUserList(delete(t, v.user().username()));
        assertError(delete(t, v.user().username()), 400, 903);
    }

    @Test
    void user_routes_without_a_token_answer_904() {
        assertError(seen(http.get(LIST)), 401, 904);
        assertError(seen(http.postJson(ADD, json("username", name("anon"), "group", "viewer"))), 401, 904);
        assertError(seen(http.delete(DELETE + "owner")), 401, 904);
    }

    /** Checks every body this class has seen so far, after a fresh round of each route. */
    @Test
    void no_secret_or_hash_appears_in_any_response() {
        String t = token(Role.OWNER);
        Enrollment v = user(Role.VIEWER);
        list(t);
        add(t, name("probe"), "manager");
        delete(t, v.user().username());
        List<String> stored = server.core()
                .db
                .jdbi()
                .withHandle(h -> h.createQuery(
                                "SELECT totp_secret FROM users UNION ALL SELECT password_hash FROM users WHERE password_hash IS NOT NULL "
                                        + "UNION ALL SELECT access_hash FROM sessions UNION ALL SELECT refresh_hash FROM sessions")
                        .mapTo(String.class)
                        .list());
        assertThat(stored).isNotEmpty();
        synchronized (BODIES) {
            assertThat(BODIES).isNotEmpty();
            for (String body : BODIES) {
                for (String s : stored) {
                    assertThat(body).doesNotContain(s);
                }
                for (String secret : List.copyOf(SECRETS)) {
                    // setup answers carry a secret by design; no other answer may
                    if (!body.contains("\"qr\"")) {
                        assertThat(body).doesNotContain(secret);
                    }
                }
                assertThat(body)
                        .doesNotContain("totp")
                        .doesNotContain("password")
                        .doesNotContain("v1:");
            }
        }
    }
}
