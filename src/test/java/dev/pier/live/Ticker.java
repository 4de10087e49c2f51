package dev.pier.live;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.instances.InstanceFixture;
import dev.pier.instances.TestEngine;

import java.util.List;

/** An image whose container prints a numbered line to stdout and one to stderr ten times a second. */
final class Ticker {
    static final String IMAGE = "ticker";

    private Ticker() {}

    static void register(InstanceFixture pier) {
        pier.registerImage(
                pier.admin,
                IMAGE,
                TestEngine.BUSYBOX,
                List.of(
                        "/bin/sh",
                        "-c",
                        "i=0; while true; do echo \"out $i\"; echo \"err $i\" >&2; i=$((i+1)); sleep 0.1; done"),
                List.of(),
                false);
    }

    /** Deploys a ticker as the manager; its id. */
    static String deploy(InstanceFixture pier) {
        JsonNode i = pier.deploy(
                pier.manager, "name", InstanceFixture.name("tick"), "image", IMAGE, "memory_mib", 32, "cpu", 0.25);
        return i.path("id").asText();
    }
}
