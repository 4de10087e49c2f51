package dev.pier.images;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.instances.InstanceFixture;
import dev.pier.instances.TestEngine;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.UUID;

import static dev.pier.instances.InstanceFixture.bearer;
import static dev.pier.instances.InstanceFixture.json;
import static org.assertj.core.api.Assertions.assertThat;

/** The native images API: admins register templates whose reference the engine has (or can pull). */
class ImagesApiTest {
    @Shared
    static InstanceFixture pier;

    private static Http http() {
        return pier.http();
    }

    /** A problem+json answer with {@code status}; returns its detail. */
    static String assertProblem(Http.Response r, int status) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.header("Content-Type")).startsWith("application/problem+json");
        JsonNode b = r.json();
        assertThat(b.path("status").asInt()).isEqualTo(status);
        assertThat(b.path("title").asText()).isNotBlank();
        assertThat(b.path("detail").asText()).isNotBlank();
        return b.path("detail").asText();
    }

    private static int imageCount() {
        return pier.server.core().images.list().size();
    }

    @Test
    void an_admin_registers_reads_changes_and_deletes_an_image() {
        String name = InstanceFixture.name("web");
        Http.Response created = http().postJson(
                        "/api/v1/images",
                        json(
                                "name",
                                name,
                                "reference",
                                TestEngine.SLEEPER,
                                "command",
                                List.of("/bin/sleep", "600"),
                                "ports",
                                List.of(80, 443),
                                "variables",
                                Map.of("MODE", "prod"),
                                "description",
                                "a web server"),
                        bearer(pier.admin));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        JsonNode img = created.json();
        String id = img.path("id").asText();
        UUID.fromString(id);
        assertThat(img.path("name").asText()).isEqualTo(name);
        assertThat(img.path("reference").asText()).isEqualTo(TestEngine.SLEEPER);
        assertThat(img.path("command")).extracting(JsonNode::asText).containsExactly("/bin/sleep", "600");
        assertThat(img.path("ports")).extracting(JsonNode::asInt).containsExactly(80, 443);
        assertThat(img.path("variables").path("MODE").asText()).isEqualTo("prod");
        assertThat(img.path("description").asText()).isEqualTo("a web server");
        assertThat(img.path("default").asBoolean()).isFalse();

        Http.Response one = http().get("/api/v1/images/" + id, bearer(pier.viewer));
        assertThat(one.status()).isEqualTo(200);
        assertThat(one.json()).isEqualTo(img);

        Http.Response list = http().get("/api/v1/images", bearer(pier.viewer));
        assertThat(list.status()).isEqualTo(200);
        assertThat(list.json().path("total").asInt()).isEqualTo(imageCount());
        assertThat(list.json().path("items").findValuesAsText("name")).contains(name, InstanceFixture.DEFAULT_IMAGE);
        Http.Response page = http().get("/api/v1/images?limit=1&offset=1", bearer(pier.viewer));
        assertThat(page.json().path("items")).hasSize(1);
        assertThat(page.json().path("limit").asInt()).isEqualTo(1);
        assertThat(page.json().path("offset").asInt()).isEqualTo(1);

        Http.Response patched = http().send(
                        "PATCH",
                        "/api/v1/images/" + id,
                        "application/json",
                        json("description", "changed", "ports", List.of(8080)),
                        bearer(pier.admin));
        assertThat(patched.status()).as(patched.body()).isEqualTo(200);
        assertThat(patched.json().path("description").asText()).isEqualTo("changed");
        assertThat(patched.json().path("ports")).extracting(JsonNode::asInt).containsExactly(8080);
        assertThat(patched.json().path("name").asText()).isEqualTo(name);
        assertThat(patched.json().path("command")).hasSize(2);
        assertThat(http().get("/api/v1/images/" + id, bearer(pier.viewer))
                        .json()
                        .path("description")
                        .asText())
                .isEqualTo("changed");

        // it deploys with its defaults
        JsonNode inst = pier.deploy(
                pier.manager, "name", InstanceFixture.name("from-img"), "image", name, "memory_mib", 32, "ports", "");
        assertThat(inst.path("command")).extracting(JsonNode::asText).containsExactly("/bin/sleep", "600");
        assertThat(inst.path("variables").path("MODE").asText()).isEqualTo("prod");
        assertThat(pier.inspectInstance(inst.path("id").asText()).getConfig().getCmd())
                .containsExactly("/bin/sleep", "600");

        Http.Response deleted = http().delete("/api/v1/images/" + id, bearer(pier.admin));
        assertThat(deleted.status()).as(deleted.body()).isEqualTo(204);
        assertProblem(http().get("/api/v1/images/" + id, bearer(pier.viewer)), 404);
        assertProblem(http().delete("/api/v1/images/" + id, bearer(pier.admin)), 404);
        assertProblem(
                http().send(
                                "PATCH",
                                "/api/v1/images/" + id,
                                "application/json",
                                json("description", "x"),
                                bearer(pier.admin)),
                404);
        // the instance made from it lives on
        assertThat(http().get("/api/v1/instances/" + inst.path("id").asText(), bearer(pier.viewer))
                        .status())
                .isEqualTo(200);
    }

    @Test
    void stdin_is_false_unless_given_and_is_kept_until_changed() {
        String name = InstanceFixture.name("console");
        Http.Response created = http().postJson(
                        "/api/v1/images",
                        json("name", name, "reference", TestEngine.SLEEPER, "stdin", true),
                        bearer(pier.admin));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        assertThat(created.json().path("stdin").isBoolean()).isTrue();
        assertThat(created.json().path("stdin").asBoolean()).isTrue();
        String id = created.json().path("id").asText();
        assertThat(http().get("/api/v1/images/" + id, bearer(pier.viewer))
                        .json()
                        .path("stdin")
                        .asBoolean())
                .isTrue();
        assertThat(pier.server.core().images.require(UUID.fromString(id)).stdin())
                .isTrue();

        // a change that does not name it keeps it; one that does, changes it
        Http.Response other = http().send(
                        "PATCH",
                        "/api/v1/images/" + id,
                        "application/json",
                        json("description", "x"),
                        bearer(pier.admin));
        assertThat(other.status()).as(other.body()).isEqualTo(200);
        assertThat(other.json().path("stdin").asBoolean()).isTrue();
        Http.Response off = http().send(
                        "PATCH", "/api/v1/images/" + id, "application/json", json("stdin", false), bearer(pier.admin));
        assertThat(off.status()).as(off.body()).isEqualTo(200);
        assertThat(off.json().path("stdin").asBoolean()).isFalse();
        assertThat(http().get("/api/v1/images/" + id, bearer(pier.viewer))
                        .json()
                        .path("stdin")
                        .asBoolean())
                .isFalse();

        // a wrong type is a 400 naming the field, and changes nothing
        for (Object bad : List.of("maybe", 2, List.of(true), Map.of("on", true))) {
            String detail = assertProblem(
                    http().send(
                                    "PATCH",
                                    "/api/v1/images/" + id,
                                    "application/json",
                                    json("stdin", bad, "description", "changed"),
                                    bearer(pier.admin)),
                    400);
            assertThat(detail).as("for %s", bad).contains("stdin");
        }
        JsonNode now = http().get("/api/v1/images/" + id, bearer(pier.viewer)).json();
        assertThat(now.path("stdin").asBoolean()).isFalse();
        assertThat(now.path("description").asText()).isEqualTo("x");

        // without it, an image has none
        Http.Response plain = http().postJson(
                        "/api/v1/images",
                        json("name", InstanceFixture.name("plain"), "reference", TestEngine.SLEEPER),
                        bearer(pier.admin));
        assertThat(plain.status()).as(plain.body()).isEqualTo(201);
        assertThat(plain.json().path("stdin").isBoolean()).isTrue();
        assertThat(plain.json().path("stdin").asBoolean()).isFalse();
    }

    @Test
    void a_new_default_image_replaces_the_old_default() {
        String name = InstanceFixture.name("dflt");
        Http.Response r = http().postJson(
                        "/api/v1/images",
                        json("name", name, "reference", TestEngine.BUSYBOX, "default", true),
                        bearer(pier.admin));
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        assertThat(r.json().path("default").asBoolean()).isTrue();
        List<String> defaults = pier.server.core().images.list().stream()
                .filter(Image::isDefault)
                .map(Image::name)
                .toList();
        assertThat(defaults).containsExactly(name);

        // hand it back, so the other tests keep their default
        Http.Response back = http().get("/api/v1/images?limit=500", bearer(pier.viewer));
        String sleeperId = null;
        for (JsonNode i : back.json().path("items")) {
            if (i.path("name").asText().equals(InstanceFixture.DEFAULT_IMAGE)) {
                sleeperId = i.path("id").asText();
            }
        }
        Http.Response p = http().send(
                        "PATCH",
                        "/api/v1/images/" + sleeperId,
                        "application/json",
                        json("default", true),
                        bearer(pier.admin));
        assertThat(p.status()).as(p.body()).isEqualTo(200);
        assertThat(http().delete("/api/v1/images/" + r.json().path("id").asText(), bearer(pier.admin))
                        .status())
                .isEqualTo(204);
        assertThat(pier.server.core().images.defaultImage())
                .hasValueSatisfying(i -> assertThat(i.name()).isEqualTo(InstanceFixture.DEFAULT_IMAGE));
    }

    @Test
    void a_reference_that_is_neither_on_a_node_nor_pullable_is_a_400() {
        int before = imageCount();
        for (String ref : List.of("pier-test/does-not-exist:1", "localhost:1/pier/nothing:latest")) {
            String detail = assertProblem(
                    http().postJson(
                                    "/api/v1/images",
                                    json("name", InstanceFixture.name("ghost"), "reference", ref),
                                    bearer(pier.admin)),
                    400);
            assertThat(detail).contains(ref);
        }
        // changing an existing image to such a reference is refused the same way, and changes nothing
        String id = pier.server
                .core()
                .images
                .resolve(InstanceFixture.QUIET_IMAGE)
                .orElseThrow()
                .id()
                .toString();
        assertProblem(
                http().send(
                                "PATCH",
                                "/api/v1/images/" + id,
                                "application/json",
                                json("reference", "pier-test/does-not-exist:2"),
                                bearer(pier.admin)),
                400);
        assertThat(http().get("/api/v1/images/" + id, bearer(pier.viewer))
                        .json()
                        .path("reference")
                        .asText())
                .isEqualTo(TestEngine.SLEEPER);
        assertThat(imageCount()).isEqualTo(before);
    }

    @Test
    void references_are_checked_by_dockers_grammar_in_the_api_and_the_cli() throws Exception {
        int before = imageCount();
        String sha = "sha256:" + "a".repeat(64);
        for (String ref : List.of(
                "img@sha256:zz",
                "img@sha256:" + "a".repeat(40),
                "Debian:12",
                "owner/MyApp",
                "https://x/y",
                "debian 12",
                "a//b",
                ":12",
                "debian:",
                "a".repeat(64),
                "img@md5:" + "a".repeat(32))) {
            String detail = assertProblem(
                    http().postJson(
                                    "/api/v1/images",
                                    json("name", InstanceFixture.name("bad"), "reference", ref),
                                    bearer(pier.admin)),
                    400);
            assertThat(detail).as(ref).startsWith("reference");
        }
        String id = pier.server
                .core()
                .images
                .resolve(InstanceFixture.QUIET_IMAGE)
                .orElseThrow()
                .id()
                .toString();
        assertProblem(
                http().send(
                                "PATCH",
                                "/api/v1/images/" + id,
                                "application/json",
                                json("reference", "img@sha256:zz"),
                                bearer(pier.admin)),
                400);
        // a well-formed digest reference passes the grammar and fails only for not being pullable here
        assertThat(assertProblem(
                        http().postJson(
                                        "/api/v1/images",
                                        json(
                                                "name",
                                                InstanceFixture.name("dig"),
                                                "reference",
                                                "localhost:1/pier/app@" + sha),
                                        bearer(pier.admin)),
                        400))
                .contains("could not be pulled");
        assertThat(imageCount()).isEqualTo(before);

        // the CLI's image registration goes through the same check: exit 2 with the reason
        if (dev.pier.support.TestDatabases.postgres()) {
            var c = pier.server.config();
            java.nio.file.Files.writeString(
                    pier.server.dataDir().resolve("pier.properties"),
                    "db.url=" + c.dbUrl().orElseThrow() + "\n" + "db.user=" + c.dbUser() + "\n" + "db.password="
                            + c.dbPassword() + "\n");
        }
        var cl = dev.pier.cli.PierCommand.commandLine();
        var err = new java.io.StringWriter();
        cl.setErr(new java.io.PrintWriter(err, true));
        cl.setOut(new java.io.PrintWriter(new java.io.StringWriter(), true));
        List<String> args = new java.util.ArrayList<>(List.of(
                "image",
                "add",
                "clibad",
                "img@sha256:zz",
                "--data",
                pier.server.dataDir().toString()));
        pier.server.config().dbUrl().ifPresent(url -> {
            args.add("--db");
            args.add(url);
        });
        assertThat(cl.execute(args.toArray(String[]::new))).as(err.toString()).isEqualTo(2);
        assertThat(err.toString()).contains("reference").contains("not a Docker image reference");
        assertThat(imageCount()).isEqualTo(before);
    }

    @Test
    void a_failed_pull_is_reported_in_piers_words() {
        // the engine's own answer ("Get \"https://localhost:1/v2/\": dial tcp …: connect: connection refused")
        // goes to the server log; the client hears what happened in Pier's words
        String ref = "localhost:1/pier/nothing:latest";
        String detail = assertProblem(
                http().postJson(
                                "/api/v1/images",
                                json("name", InstanceFixture.name("ghost"), "reference", ref),
                                bearer(pier.admin)),
                400);
        assertThat(detail)
                .contains(ref)
                .contains("could not be pulled")
                .doesNotContain("dial tcp")
                .doesNotContain("connection refused")
                .doesNotContain("https://")
                .doesNotContain("/v2/");
    }

    @Test
    void only_admins_register_change_or_delete_images() {
        int before = imageCount();
        String id = pier.server
                .core()
                .images
                .resolve(InstanceFixture.QUIET_IMAGE)
                .orElseThrow()
                .id()
                .toString();
        for (String token : List.of(pier.viewer, pier.manager)) {
            assertProblem(
                    http().postJson(
                                    "/api/v1/images",
                                    json("name", InstanceFixture.name("mine"), "reference", TestEngine.SLEEPER),
                                    bearer(token)),
                    403);
            assertProblem(
                    http().send(
                                    "PATCH",
                                    "/api/v1/images/" + id,
                                    "application/json",
                                    json("description", "mine"),
                                    bearer(token)),
                    403);
            assertProblem(http().delete("/api/v1/images/" + id, bearer(token)), 403);
        }
        assertProblem(http().postJson("/api/v1/images", json("name", "anon", "reference", TestEngine.SLEEPER)), 401);
        assertThat(imageCount()).isEqualTo(before);
        assertThat(http().get("/api/v1/images/" + id, bearer(pier.viewer))
                        .json()
                        .path("description")
                        .asText())
                .isNotEqualTo("mine");
    }

    @Test
    void wrong_types_and_bad_values_are_400s_that_name_the_field() {
        int before = imageCount();
        record Case(String body, String mentions) {}
        for (Case c : List.of(
                new Case(json("name", 5, "reference", TestEngine.SLEEPER), "name"),
                new Case(json("reference", TestEngine.SLEEPER), "name"),
                new Case(json("name", "no-ref"), "reference"),
                new Case(json("name", "-dash", "reference", TestEngine.SLEEPER), "name"),
                new Case(json("name", "x".repeat(65), "reference", TestEngine.SLEEPER), "name"),
                new Case(json("name", "bad-ref", "reference", "Not A Reference!"), "reference"),
                new Case(json("name", "cmd", "reference", TestEngine.SLEEPER, "command", "sleep 1"), "command"),
                new Case(json("name", "cmd2", "reference", TestEngine.SLEEPER, "command", List.of(1, 2)), "command"),
                new Case(json("name", "prt", "reference", TestEngine.SLEEPER, "ports", List.of("80")), "ports"),
                new Case(json("name", "prt2", "reference", TestEngine.SLEEPER, "ports", List.of(0)), "ports"),
                new Case(json("name", "prt3", "reference", TestEngine.SLEEPER, "ports", List.of(70000)), "ports"),
                new Case(json("name", "prt4", "reference", TestEngine.SLEEPER, "ports", 80), "ports"),
                new Case(
                        json("name", "var", "reference", TestEngine.SLEEPER, "variables", List.of("A=1")), "variables"),
                new Case(json("name", "var2", "reference", TestEngine.SLEEPER, "variables", Map.of("1X", "a")), "1X"),
                new Case(
                        json("name", "var3", "reference", TestEngine.SLEEPER, "variables", Map.of("A", "x\u0000y")),
                        "variable A"),
                new Case(json("name", "dfl", "reference", TestEngine.SLEEPER, "default", "maybe"), "default"),
                new Case(json("name", "std", "reference", TestEngine.SLEEPER, "stdin", "maybe"), "stdin"),
                new Case(json("name", "std2", "reference", TestEngine.SLEEPER, "stdin", List.of(true)), "stdin"),
                new Case(
                        json("name", "desc", "reference", TestEngine.SLEEPER, "description", "d".repeat(1025)),
                        "description"),
                new Case("{not json", "JSON"),
                new Case("[]", "object"))) {
            String detail = assertProblem(http().postJson("/api/v1/images", c.body(), bearer(pier.admin)), 400);
            assertThat(detail).as("for %s", c.body()).containsIgnoringCase(c.mentions());
        }
        assertThat(imageCount()).isEqualTo(before);

        String id = pier.server
                .core()
                .images
                .resolve(InstanceFixture.QUIET_IMAGE)
                .orElseThrow()
                .id()
                .toString();
        assertProblem(
                http().send(
                                "PATCH",
                                "/api/v1/images/" + id,
                                "application/json",
                                json("ports", "80"),
                                bearer(pier.admin)),
                400);
        assertProblem(http().get("/api/v1/images/not-a-uuid", bearer(pier.viewer)), 404);
        assertProblem(http().get("/api/v1/images?limit=0", bearer(pier.viewer)), 400);
        assertProblem(http().get("/api/v1/images?offset=-1", bearer(pier.viewer)), 400);
    }

    @Test
    void two_images_may_not_share_a_name() {
        String name = InstanceFixture.name("twin");
        assertThat(http().postJson(
                                "/api/v1/images",
                                json("name", name, "reference", TestEngine.SLEEPER),
                                bearer(pier.admin))
                        .status())
                .isEqualTo(201);
        assertProblem(
                http().postJson(
                                "/api/v1/images",
                                json("name", name, "reference", TestEngine.BUSYBOX),
                                bearer(pier.admin)),
                409);
        String other = InstanceFixture.name("twin");
        String otherId = http().postJson(
                        "/api/v1/images", json("name", other, "reference", TestEngine.SLEEPER), bearer(pier.admin))
                .json()
                .path("id")
                .asText();
        assertProblem(
                http().send(
                                "PATCH",
                                "/api/v1/images/" + otherId,
                                "application/json",
                                json("name", name),
                                bearer(pier.admin)),
                409);
    }
}
