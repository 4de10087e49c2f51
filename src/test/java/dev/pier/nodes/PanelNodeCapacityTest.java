package dev.pier.nodes;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.errors.PierException;
import dev.pier.instances.InstanceFixture;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.pier.instances.InstanceFixture.bearer;
import static dev.pier.instances.InstanceFixture.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Panel {@code POST /api/nodes/create}: {@code ram} and {@code disk} as the document's specification strings. */
class PanelNodeCapacityTest {
    @Shared
    static InstanceFixture pier;

    static String adminKey;
    static String managerKey;

    @BeforeAll
    static void start() {
        adminKey = pier.http()
                .postJson("/api/v1/api_tokens", json("description", "panel"), bearer(pier.admin))
                .json()
                .path("key")
                .asText();
        managerKey = pier.http()
                .postJson("/api/v1/api_tokens", json("description", "panel"), bearer(pier.manager))
                .json()
                .path("key")
                .asText();
    }

    @Test
    void specifications_are_read_as_mib() {
        Map<String, Long> cases = Map.ofEntries(
                Map.entry("2048", 2048L),
                Map.entry("2GB", 2048L),
                Map.entry("2 GiB", 2048L),
                Map.entry("512M", 512L),
                Map.entry("1.5G", 1536L),
                Map.entry("512 MiB", 512L),
                Map.entry("1T", 1024L * 1024),
                Map.entry("2048K", 2L),
                Map.entry("3gb", 3072L),
                Map.entry(" 64 mb ", 64L),
                Map.entry("100.9", 100L));
        cases.forEach(
                (spec, mib) -> assertThat(Capacity.mib(spec, "ram")).as(spec).isEqualTo(mib));
        for (String bad : List.of(
                "",
                "lots",
                "2 GB RAM",
                "-1",
                "0",
                "0.0001M",
                "1.5.1G",
                "2XB",
                "1e3",
                "2 G B",
                "99999999999999G",
                "0x10")) {
            assertThatThrownBy(() -> Capacity.mib(bad, "ram"))
                    .as(bad)
                    .isInstanceOf(PierException.Invalid.class)
                    .hasMessageContaining("ram");
        }
    }

    @Test
    void nodes_create_takes_ram_and_disk_as_specifications() {
        Http.Response r = pier.http()
                .postJson(
                        "/api/nodes/create",
                        json(
                                "name",
                                "sized",
                                "tags",
                                "t",
                                "ram",
                                "2 GiB",
                                "disk",
                                "1.5G",
                                "processor",
                                "p",
                                "address",
                                "127.0.0.1",
                                "port",
                                "1"),
                        "x-api-key",
                        adminKey);
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        assertThat(r.json().path("ram").asLong()).isEqualTo(2048);
        assertThat(r.json().path("disk").asLong()).isEqualTo(1536);
        Http.Response number = pier.http()
                .postJson(
                        "/api/nodes/create",
                        json("name", "numeric", "ram", 4096, "disk", 10240, "address", "127.0.0.1", "port", 2),
                        "x-api-key",
                        adminKey);
        assertThat(number.status()).as(number.body()).isEqualTo(201);
        assertThat(number.json().path("ram").asLong()).isEqualTo(4096);

        record Case(String body, String mentions) {}
        for (Case c : List.of(
                new Case(json("name", "a", "ram", "lots", "disk", "1G", "address", "127.0.0.1", "port", 3), "ram"),
                new Case(json("name", "b", "ram", "1G", "disk", "0", "address", "127.0.0.1", "port", 3), "disk"),
                new Case(
                        json("name", "c", "ram", Map.of("size", 1), "disk", "1G", "address", "127.0.0.1", "port", 3),
                        "ram"),
                new Case(json("name", "d", "ram", "-2GB", "disk", "1G", "address", "127.0.0.1", "port", 3), "ram"),
                new Case(json("name", "e", "disk", "1G", "address", "127.0.0.1", "port", 3), "Missing parameters"))) {
            Http.Response bad = pier.http().postJson("/api/nodes/create", c.body(), "x-api-key", adminKey);
            assertThat(bad.status()).as(c.body() + " " + bad.body()).isEqualTo(400);
            assertThat(bad.json().path("error").asText()).as(c.body()).contains(c.mentions());
        }
        Http.Response denied = pier.http()
                .postJson(
                        "/api/nodes/create",
                        json("name", "f", "ram", "1G", "disk", "1G", "address", "127.0.0.1", "port", 3),
                        "x-api-key",
                        managerKey);
        assertThat(denied.status()).as(denied.body()).isIn(401, 403);
        JsonNode all = pier.http().get("/api/nodes", "x-api-key", adminKey).json();
        assertThat(all.findValuesAsText("name")).containsExactlyInAnyOrder("local", "sized", "numeric");
    }
}
