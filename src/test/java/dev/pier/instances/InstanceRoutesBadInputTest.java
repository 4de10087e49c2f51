package dev.pier.instances;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static dev.pier.instances.InstanceFixture.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every instance route of every family (native, Matrix droplets, Panel) against missing and wrong-typed
 * fields, malformed bodies, unknown ids and the wrong role: each answer is the expected 4xx in the
 * family's own error shape, never a 500, and nothing is recorded or changed. The cases run as one table
 * so that a run lists every route that misbehaves, not just the first.
 */
class InstanceRoutesBadInputTest {
    @Shared
    static InstanceFixture pier;

    static String adminKey;
    static String managerKey;
    static String id;
    static String name;

    enum Shape {
        NATIVE,
        MATRIX,
        PANEL
    }

    record Case(Shape shape, String method, String path, String body, String[] credential, int status) {}

    @BeforeAll
    static void start() {
        adminKey = key(pier.admin);
        managerKey = key(pier.manager);
        JsonNode i = pier.deployQuiet("target");
        id = i.path("id").asText();
        name = i.path("name").asText();
    }

    private static String key(String session) {
        Http.Response r = pier.http()
                .postJson("/api/v1/api_tokens", json("description", "bad input"), InstanceFixture.bearer(session));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json().path("key").asText();
    }

    private static String body(Object... pairs) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i + 1 < pairs.length; i += 2) {
            m.put((String) pairs[i], pairs[i + 1]);
        }
        return json(m.entrySet().stream()
                .flatMap(e -> java.util.stream.Stream.of(e.getKey(), e.getValue()))
                .toArray());
    }

    private static String[] bearer(String token) {
        return InstanceFixture.bearer(token);
    }

    private static String[] apiKey(String key) {
        return new String[] {"x-api-key", key};
    }

    /** What a deploy of each family needs, so that each case breaks one thing only. */
    private static String nativeDeploy(Object... override) {
        return merged(
                new Object[] {"name", "bad-input", "image", InstanceFixture.QUIET_IMAGE, "memory_mib", 32, "cpu", 0.25},
                override);
    }

    private static String matrixDeploy(Object... override) {
        return merged(
                new Object[] {"name", "bad-input", "image", InstanceFixture.QUIET_IMAGE, "memory", 32, "cpu", 0.25},
                override);
    }

    private static String panelDeploy(Object... override) {
        return merged(
                new Object[] {
                    "name",
                    "Bad input",
                    "image",
                    InstanceFixture.QUIET_IMAGE,
                    "memory",
                    "32",
                    "cpu",
                    "0.25",
                    "nodeId",
                    pier.localNode.toString(),
                    "user",
                    pier.managerUser.user().id().toString(),
                    "ports",
                    ""
                },
                override);
    }

    private static String merged(Object[] base, Object[] override) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i + 1 < base.length; i += 2) {
            m.put((String) base[i], base[i + 1]);
        }
        for (int i = 0; i + 1 < override.length; i += 2) {
            m.put((String) override[i], override[i + 1]);
        }
        List<Object> pairs = new ArrayList<>();
        m.forEach((k, v) -> {
            pairs.add(k);
            pairs.add(v);
        });
        return body(pairs.toArray());
    }

    private static List<Case> cases() {
        String[] manager = bearer(pier.manager);
        String[] viewer = bearer(pier.viewer);
        String[] none = new String[0];
        String random = UUID.randomUUID().toString();
        List<Case> c = new ArrayList<>();
        Shape n = Shape.NATIVE;
        // native: list, get
        c.add(new Case(n, "GET", "/api/v1/instances?limit=abc", null, viewer, 400));
        c.add(new Case(n, "GET", "/api/v1/instances?limit=0", null, viewer, 400));
        c.add(new Case(n, "GET", "/api/v1/instances?offset=-1", null, viewer, 400));
        c.add(new Case(n, "GET", "/api/v1/instances?state=exploded", null, viewer, 400));
        c.add(new Case(n, "GET", "/api/v1/instances?node=nowhere", null, viewer, 404));
        c.add(new Case(n, "GET", "/api/v1/instances", null, none, 401));
        c.add(new Case(n, "GET", "/api/v1/instances/not-a-uuid", null, viewer, 404));
        c.add(new Case(n, "GET", "/api/v1/instances/" + random, null, viewer, 404));
        c.add(new Case(n, "GET", "/api/v1/instances/" + id, null, none, 401));
        // native: create
        c.add(new Case(n, "POST", "/api/v1/instances", "[1,2]", manager, 400));
        c.add(new Case(n, "POST", "/api/v1/instances", "{oops", manager, 400));
        c.add(new Case(n, "POST", "/api/v1/instances", "\"text\"", manager, 400));
        for (Object[] bad : new Object[][] {
            {"name", 5},
            {"name", "Bad Name"},
            {"name", "a".repeat(64)},
            {"name", List.of("x")},
            {"image", 5},
            {"image", "no-such-image"},
            {"node", 5},
            {"owner_id", 5},
            {"owner_id", "nobody"},
            {"owner_id", random},
            {"memory_mib", "lots"},
            {"memory_mib", 1.5},
            {"memory_mib", 1e30},
            {"memory_mib", 8},
            {"memory_mib", Map.of()},
            {"cpu", "x"},
            {"cpu", -1},
            {"cpu", "NaN"},
            {"cpu", List.of()},
            {"disk_mib", -5},
            {"disk_mib", "x"},
            {"ports", List.of(80)},
            {"ports", Map.of()},
            {"ports", "abc"},
            {"ports", "0:20001"},
            {"ports", "80:99999"},
            {"ports", "80:20001,81:20001"},
            {"primary_port", 70000},
            {"primary_port", "x"},
            {"primary_port", 81},
            {"variables", List.of()},
            {"variables", Map.of("1BAD", "x")},
            {"variables", Map.of("A", Map.of())},
            {"variables", "not json"},
            {"display_name", 5},
            {"display_name", ""},
            {"display_name", "x".repeat(65)},
            {"stdin", "maybe"},
            {"stdin", 2},
            {"stdin", List.of(true)}
        }) {
            c.add(new Case(n, "POST", "/api/v1/instances", nativeDeploy(bad), manager, 400));
        }
        c.add(new Case(n, "POST", "/api/v1/instances", nativeDeploy("node", "nowhere"), manager, 404));
        c.add(new Case(n, "POST", "/api/v1/instances", nativeDeploy(), viewer, 403));
        c.add(new Case(n, "POST", "/api/v1/instances", nativeDeploy(), none, 401));
        // native: delete, actions, logs
        c.add(new Case(n, "DELETE", "/api/v1/instances/not-a-uuid", null, manager, 404));
        c.add(new Case(n, "DELETE", "/api/v1/instances/" + random, null, manager, 404));
        c.add(new Case(n, "DELETE", "/api/v1/instances/" + id, null, viewer, 403));
        String actions = "/api/v1/instances/" + id + "/actions";
        c.add(new Case(n, "POST", actions, "{}", manager, 400));
        c.add(new Case(n, "POST", actions, body("type", 5), manager, 400));
        c.add(new Case(n, "POST", actions, body("type", "explode"), manager, 400));
        c.add(new Case(n, "POST", actions, "[]", manager, 400));
        c.add(new Case(n, "POST", actions, body("type", "start"), viewer, 403));
        c.add(new Case(n, "POST", actions, body("type", "suspend"), manager, 403));
        c.add(new Case(n, "POST", "/api/v1/instances/" + random + "/actions", body("type", "start"), manager, 404));
        c.add(new Case(n, "POST", "/api/v1/instances/not-a-uuid/actions", body("type", "stop"), manager, 404));
        c.add(new Case(n, "GET", "/api/v1/instances/" + id + "/logs?tail=x", null, viewer, 400));
        c.add(new Case(n, "GET", "/api/v1/instances/" + id + "/logs?tail=-1", null, viewer, 400));
        c.add(new Case(n, "GET", "/api/v1/instances/" + id + "/logs?follow=maybe", null, viewer, 400));
        c.add(new Case(n, "GET", "/api/v1/instances/" + id + "/logs?since=yesterday", null, viewer, 400));
        c.add(new Case(n, "GET", "/api/v1/instances/" + id + "/logs?tail=99999999999", null, viewer, 400));
        c.add(new Case(n, "GET", "/api/v1/instances/" + random + "/logs", null, viewer, 404));
        c.add(new Case(n, "GET", "/api/v1/instances/" + id + "/logs", null, none, 401));

        // Matrix droplets
        Shape m = Shape.MATRIX;
        c.add(new Case(m, "GET", "/api/v1/droplet/list", null, none, 401));
        c.add(new Case(m, "POST", "/api/v1/droplet/add", "{oops", manager, 400));
        c.add(new Case(m, "POST", "/api/v1/droplet/add", "[1]", manager, 400));
        for (Object[] bad : new Object[][] {
            {"name", 5},
            {"name", "Bad Name"},
            {"memory", "lots"},
            {"memory", 8},
            {"cpu", "x"},
            {"ports", List.of(1)},
            {"ports", "80:1"},
            {"variables", List.of()},
            {"image", "no-such-image"},
            {"image", 7}
        }) {
            c.add(new Case(m, "POST", "/api/v1/droplet/add", matrixDeploy(bad), manager, 400));
        }
        c.add(new Case(m, "POST", "/api/v1/droplet/add", matrixDeploy("node", "nowhere"), manager, 404));
        c.add(new Case(m, "POST", "/api/v1/droplet/add", matrixDeploy(), viewer, 403));
        for (String action : new String[] {"stop", "start", "restart"}) {
            c.add(new Case(m, "PATCH", "/api/v1/droplet/" + action + "/no-such-droplet", null, manager, 404));
            c.add(new Case(m, "PATCH", "/api/v1/droplet/" + action + "/" + random, null, manager, 404));
            c.add(new Case(m, "PATCH", "/api/v1/droplet/" + action + "/" + name, null, viewer, 403));
            c.add(new Case(m, "PATCH", "/api/v1/droplet/" + action + "/" + name, null, none, 401));
        }
        c.add(new Case(m, "DELETE", "/api/v1/droplet/delete/no-such-droplet", null, manager, 404));
        c.add(new Case(m, "DELETE", "/api/v1/droplet/delete/" + name, null, viewer, 403));

        // Panel (admin keys only); unknown ids are 400 in its document
        Shape p = Shape.PANEL;
        String[] admin = apiKey(adminKey);
        String[] managerK = apiKey(managerKey);
        c.add(new Case(p, "GET", "/api/instances", null, managerK, 403));
        c.add(new Case(p, "GET", "/api/instances", null, none, 401));
        for (Object[] bad : new Object[][] {
            {"nodeId", 5},
            {"nodeId", "nowhere"},
            {"user", Map.of()},
            {"user", "nobody"},
            {"user", UUID.randomUUID().toString()},
            {"primary", "x"},
            {"primary", 70000},
            {"ports", List.of(1)},
            {"ports", "80:80"},
            {"cpu", true},
            {"memory", "lots"},
            {"variables", List.of()},
            {"image", "no-such-image"},
            {"name", ""},
            {"name", 5}
        }) {
            c.add(new Case(p, "POST", "/api/instances/deploy", panelDeploy(bad), admin, 400));
        }
        c.add(new Case(p, "POST", "/api/instances/deploy", panelDeploy(), managerK, 403));
        c.add(new Case(p, "DELETE", "/api/instance/delete", body("id", 5), admin, 400));
        c.add(new Case(p, "DELETE", "/api/instance/delete", body("id", id, "force", "maybe"), admin, 400));
        c.add(new Case(p, "DELETE", "/api/instance/delete", body("id", List.of()), admin, 400));
        c.add(new Case(p, "DELETE", "/api/instance/delete", body("id", id), managerK, 403));
        c.add(new Case(p, "POST", "/api/getUserInstance", body("userId", Map.of()), admin, 400));
        c.add(new Case(p, "POST", "/api/getUserInstance", "[1]", admin, 400));
        c.add(new Case(
                p,
                "POST",
                "/api/getUserInstance",
                body("userId", pier.managerUser.user().id().toString()),
                managerK,
                403));
        c.add(new Case(p, "POST", "/api/getInstance", body("id", List.of()), admin, 400));
        c.add(new Case(p, "POST", "/api/getInstance", body("id", random), admin, 400));
        c.add(new Case(p, "POST", "/api/getInstance", body("id", id), managerK, 403));
        for (String s : new String[] {"suspend", "unsuspend"}) {
            c.add(new Case(p, "POST", "/api/instances/" + s + "/" + random, "{}", admin, 400));
            c.add(new Case(p, "POST", "/api/instances/" + s + "/not-an-id", "{}", admin, 400));
            c.add(new Case(p, "POST", "/api/instances/" + s + "/" + id, "{}", managerK, 403));
        }
        return c;
    }

    /** Null when the answer is right; what is wrong otherwise. */
    private static String check(Case c, Http.Response r) {
        String what = c.method() + " " + c.path() + (c.body() == null ? "" : " " + c.body()) + " -> " + r.status() + " "
                + r.body();
        if (r.status() != c.status()) {
            return "expected " + c.status() + ": " + what;
        }
        JsonNode b;
        try {
            b = r.json();
        } catch (RuntimeException e) {
            return "not JSON: " + what;
        }
        return switch (c.shape()) {
            case NATIVE ->
                r.header("Content-Type") != null
                                && r.header("Content-Type").startsWith("application/problem+json")
                                && b.path("status").asInt() == c.status()
                                && !b.path("detail").asText().isBlank()
                        ? null
                        : "not problem+json: " + what;
            case MATRIX ->
                b.size() == 2
                                && b.path("error").isTextual()
                                && b.path("errorId").isInt()
                        ? null
                        : "not the Matrix shape: " + what;
            case PANEL -> b.size() == 1 && b.path("error").isTextual() ? null : "not the Panel shape: " + what;
        };
    }

    @Test
    void every_instance_route_answers_bad_input_with_its_family_s_4xx_and_changes_nothing() {
        int records = pier.records();
        String container = pier.containersOf(id).getFirst().getId();
        List<String> wrong = new ArrayList<>();
        List<Case> all = cases();
        for (Case c : all) {
            String type = c.body() == null ? null : "application/json";
            Http.Response r = pier.http().send(c.method(), c.path(), type, c.body(), c.credential());
            String problem = check(c, r);
            if (problem != null) {
                wrong.add(problem);
            }
        }
        assertThat(wrong).as("of %s cases", all.size()).isEmpty();
        assertThat(pier.records()).isEqualTo(records);
        assertThat(pier.containers()).hasSize(1);
        assertThat(pier.running(container)).isTrue();
    }
}
