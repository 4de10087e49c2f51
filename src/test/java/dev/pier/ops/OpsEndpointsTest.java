package dev.pier.ops;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Matrix;
import dev.pier.support.Shared;
import dev.pier.support.TestServer;
import dev.pier.users.Enrollment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.pier.support.Matrix.assertTokens;
import static dev.pier.support.Matrix.json;
import static org.assertj.core.api.Assertions.assertThat;

/** SPEC §5 operations endpoints, and what the server writes to its log and metrics about requests. */
class OpsEndpointsTest {
    /** The routes this suite knows the server has, as OpenAPI writes them. */
    private static final List<String> KNOWN_OPERATIONS = List.of(
            "get /healthz",
            "get /readyz",
            "get /metrics",
            "get /openapi.json",
            "post /api/v1/user/auth",
            "post /api/v1/user/auth/refresh",
            "delete /api/v1/user/auth/revoke/{user}",
            "get /api/v1/user/auth/setup/{user}",
            "get /api/v1/user/list",
            "post /api/v1/user/add",
            "delete /api/v1/user/delete/{user}");

    private static final List<String> OPEN_OPERATIONS = List.of(
            "get /healthz",
            "get /readyz",
            "get /metrics",
            "get /openapi.json",
            "post /api/v1/user/auth",
            "post /api/v1/user/auth/refresh");

    @Shared
    static TestServer server;

    static Http http;
    static Enrollment owner;

    @BeforeAll
    static void start() {
        http = server.http();
        owner = server.createUser("operator", Role.OWNER);
    }

    @Test
    void healthz_answers_200() {
        Http.Response r = http.get("/healthz");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("status").asText()).isEqualTo("ok");
    }

    @Test
    void readyz_answers_200_with_the_database_reachable() {
        Http.Response r = http.get("/readyz");
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.json().get("database").asText()).isEqualTo("ok");
        // keys in a fixed order, the same in every run (Map.of's order changes from one JVM to the next)
        assertThat(r.body()).startsWith("{\"status\":\"ready\",\"database\":\"ok\",\"nodes\":{\"local\":{\"status\":");
        assertThat(r.json().get("nodes").get("local").get("stale").asBoolean()).isFalse();
        assertThat(r.json()
                        .get("nodes")
                        .get("local")
                        .get("last_pass_age_seconds")
                        .isNumber())
                .isTrue();
    }

    @Test
    void metrics_count_requests_and_logins() {
        server.accessToken(owner);
        Matrix.login(http, "operator", "not-a-code");
        Http.Response r = http.get("/metrics");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("Content-Type")).startsWith("text/plain");
        assertThat(r.body())
                .contains("pier_http_requests_seconds_count")
                .contains("pier_logins_total")
                .containsPattern("pier_logins_total\\{[^}]*outcome=\"success\"[^}]*} [1-9]")
                .containsPattern("pier_logins_total\\{[^}]*outcome=\"failure\"[^}]*} [1-9]")
                .containsPattern("pier_http_requests_seconds_count\\{[^}]*route=\"/api/v1/user/auth\"");
    }

    @Test
    void totp_and_password_logins_are_counted_side_by_side() {
        // a TOTP login (Matrix) and a password check (User API keys) both count in pier_logins_total
        server.accessToken(owner);
        Http.Response password =
                http.postForm("/api/user/create_apikey", "username=operator&password=wrong&access_level=basic");
        assertThat(password.status()).as(password.body()).isBetween(400, 499);
        Http.Response totp = Matrix.login(http, "operator", "not-a-code");
        assertThat(totp.status()).as(totp.body()).isEqualTo(400);
        String body = http.get("/metrics").body();
        assertThat(body).containsPattern("pier_logins_total\\{[^}]*method=\"password\"[^}]*} [1-9]");
        assertThat(body).containsPattern("pier_logins_total\\{[^}]*outcome=\"failure\"[^}]*} [1-9]");
        assertThat(body.lines().filter(l -> l.startsWith("pier_logins_total{")).count())
                .as("success and failure of each kind: %s", body)
                .isGreaterThanOrEqualTo(3);
    }

    @Test
    void metrics_label_routes_by_pattern_not_by_the_names_in_the_path() {
        String token = server.accessToken(owner);
        http.delete("/api/v1/user/auth/revoke/metric-probe-name", Matrix.bearer(token));
        http.get("/api/v1/user/unknown-metric-probe");
        String body = http.get("/metrics").body();
        assertThat(body).contains("route=\"/api/v1/user/auth/revoke/{user}\"");
        assertThat(body)
                .doesNotContain("metric-probe-name")
                .doesNotContain("unknown-metric-probe")
                .doesNotContain(token);
    }

    @Test
    void openapi_is_an_openapi_3_document_listing_every_known_route() {
        Http.Response r = http.get("/openapi.json");
        assertThat(r.status()).isEqualTo(200);
        JsonNode doc = r.json();
        assertThat(doc.get("openapi").asText()).startsWith("3.");
        assertThat(doc.get("info").get("title").asText()).isNotBlank();
        assertThat(doc.get("info").get("version").asText()).isNotBlank();
        List<String> documented = operations(doc);
        assertThat(documented).containsAll(KNOWN_OPERATIONS);
        assertThat(documented).doesNotHaveDuplicates();

        JsonNode revoke =
                doc.get("paths").get("/api/v1/user/auth/revoke/{user}").get("delete");
        assertThat(revoke.get("parameters").get(0).get("name").asText()).isEqualTo("user");
        assertThat(revoke.get("parameters").get(0).get("in").asText()).isEqualTo("path");
        assertThat(revoke.get("security")).isNotEmpty();
        assertThat(doc.get("paths").get("/api/v1/user/auth").get("post").get("security"))
                .isEmpty();
        assertThat(doc.get("components")
                        .get("securitySchemes")
                        .get("bearer")
                        .get("scheme")
                        .asText())
                .isEqualTo("bearer");
    }

    @Test
    void every_documented_operation_is_a_real_route_and_says_who_may_call_it() {
        JsonNode doc = http.get("/openapi.json").json();
        for (String op : operations(doc)) {
            String method = op.substring(0, op.indexOf(' '));
            String path = op.substring(op.indexOf(' ') + 1);
            JsonNode operation = doc.get("paths").get(path).get(method);
            assertThat(operation.get("summary").asText()).as(op).isNotBlank();
            assertThat(operation.get("responses").has("200")
                            || operation.get("responses").has("201"))
                    .as(op)
                    .isTrue();
            // no credential and no body: every real route refuses or answers, none is "Route not found"
            Http.Response r = http.send(
                    method.toUpperCase(), path.replace("{version}", "v2.1.0").replaceAll("\\{[^}]+}", "x"), null, null);
            if (r.status() == 404) {
                // a real route may answer 404 for an unknown id, but never "no such route"
                assertThat(r.body())
                        .as(op)
                        .doesNotContainIgnoringCase("route not found")
                        .doesNotContain("route_not_found")
                        .doesNotContain("invalid-endpoint");
            }
            assertThat(r.status()).as("%s answered %s", op, r.body()).isLessThan(500);
            if (!OPEN_OPERATIONS.contains(op) && operation.has("x-pier-min-role")) {
                assertThat(r.status()).as("%s without a credential", op).isIn(400, 401);
            }
        }
    }

    @Test
    void request_log_never_holds_a_token_or_secret() {
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        appender.start();
        root.addAppender(appender);
        List<String> secrets = new ArrayList<>();
        try {
            Enrollment e = server.createUser("logged", Role.ADMIN);
            secrets.add(e.secretBase32());
            JsonNode t = assertTokens(server.login(e));
            server.clock.advance(Duration.ofSeconds(30));
            String access = t.get("access_token").asText();
            String refresh = t.get("refresh_token").asText();
            secrets.add(access);
            secrets.add(refresh);
            http.get("/api/v1/user/list", Matrix.bearer(access));
            http.get("/api/v1/user/list?access_token=" + access);
            http.send("GET", "/api/v1/user/list", "application/json", json("access_token", access));
            http.get("/api/v1/user/auth/setup/logged", Matrix.bearer(server.accessToken(owner)));
            JsonNode next = assertTokens(
                    http.postJson(Matrix.REFRESH, json("grant_type", "refresh_token", "refresh_token", refresh)));
            secrets.add(next.get("access_token").asText());
            secrets.add(next.get("refresh_token").asText());
            http.postJson(Matrix.REFRESH, json("grant_type", "refresh_token", "refresh_token", refresh));
            http.delete(
                    "/api/v1/user/auth/revoke/logged",
                    Matrix.bearer(next.get("refresh_token").asText()));
            http.get("/api/v1/user/list", Matrix.bearer(access));
        } finally {
            root.detachAppender(appender);
            appender.stop();
        }
        List<ILoggingEvent> events = List.copyOf(appender.list);
        assertThat(events).as("the requests were logged").isNotEmpty();
        assertThat(events).anySatisfy(ev -> assertThat(ev.getFormattedMessage()).contains("/api/v1/user/list"));
        for (ILoggingEvent ev : events) {
            StringBuilder text = new StringBuilder(ev.getFormattedMessage());
            for (Map.Entry<String, String> m : ev.getMDCPropertyMap().entrySet()) {
                text.append(' ').append(m.getValue());
            }
            for (IThrowableProxy tp = ev.getThrowableProxy(); tp != null; tp = tp.getCause()) {
                text.append(' ').append(tp.getMessage());
            }
            for (String s : secrets) {
                assertThat(text.toString()).doesNotContain(s);
            }
        }
    }

    @Test
    void a_wrong_method_is_405_with_allow_in_the_native_api_and_the_families_own_404_elsewhere() {
        Http.Response health = http.send("POST", "/healthz", "application/json", "{}");
        assertThat(health.status()).isEqualTo(405);
        assertThat(health.headers().get("Allow")).isNotNull();
        assertThat(String.join(",", health.headers().get("Allow"))).contains("GET");
        assertThat(health.json().get("status").asInt()).isEqualTo(405);
        assertThat(health.json().get("code").asText()).isEqualTo("method_not_allowed");

        Http.Response instances = http.send("PUT", "/api/v1/instances", "application/json", "{}");
        assertThat(instances.status()).isEqualTo(405);
        assertThat(String.join(",", instances.headers().get("Allow")))
                .contains("GET")
                .contains("POST");

        // the Matrix document answers any unknown route, whatever the method, with its 404
        Http.Response matrix = http.send("PUT", "/api/v1/user/list", "application/json", "{}");
        assertThat(matrix.status()).isEqualTo(404);
        assertThat(matrix.json().get("errorId").asInt()).isEqualTo(404);
        assertThat(matrix.json().get("error").asText()).isEqualTo("Route not found");
    }

    @Test
    void a_request_refused_by_role_is_logged_with_the_refused_user() {
        Enrollment viewer = server.createUser("log-viewer", Role.VIEWER);
        String token = server.accessToken(viewer);
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        appender.start();
        root.addAppender(appender);
        try {
            assertThat(http.get("/api/v1/audit", Matrix.bearer(token)).status()).isEqualTo(403);
        } finally {
            root.detachAppender(appender);
            appender.stop();
        }
        assertThat(appender.list)
                .anySatisfy(ev -> assertThat(ev.getFormattedMessage())
                        .contains("GET /api/v1/audit 403")
                        .contains("user=log-viewer"));
    }

    private static List<String> operations(JsonNode doc) {
        List<String> ops = new ArrayList<>();
        doc.get("paths")
                .properties()
                .forEach(p -> p.getValue().properties().forEach(m -> ops.add(m.getKey() + " " + p.getKey())));
        return ops;
    }
}
