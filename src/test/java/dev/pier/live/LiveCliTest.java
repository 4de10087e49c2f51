package dev.pier.live;

import dev.pier.cli.PierCommand;
import dev.pier.instances.InstanceFixture;
import dev.pier.instances.TestEngine;
import dev.pier.support.Http;
import dev.pier.support.Shared;
import dev.pier.support.TestDatabases;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.pier.instances.InstanceFixture.bearer;
import static dev.pier.instances.InstanceFixture.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The live view in the CLI, on the server's own data: logs, stats and an interactive console. */
class LiveCliTest {
    @Shared
    static InstanceFixture pier;

    @BeforeAll
    static void start() throws IOException {
        if (TestDatabases.postgres()) {
            var c = pier.server.config();
            Files.writeString(
                    pier.server.dataDir().resolve("pier.properties"),
                    "db.url=" + c.dbUrl().orElseThrow() + "\n" + "db.user=" + c.dbUser() + "\n" + "db.password="
                            + c.dbPassword() + "\n");
        }
        Ticker.register(pier);
        Http.Response r = pier.http()
                .postJson(
                        "/api/v1/images",
                        json(
                                "name",
                                "cli-echoer",
                                "reference",
                                TestEngine.BUSYBOX,
                                "command",
                                List.of("/bin/sh", "-c", "while read line; do echo \"got $line\"; done"),
                                "stdin",
                                true),
                        bearer(pier.admin));
        assertThat(r.status()).as(r.body()).isEqualTo(201);
    }

    private static String cli(String... args) {
        CommandLine cl = PierCommand.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--data");
        all.add(pier.server.dataDir().toString());
        int exit = cl.execute(all.toArray(String[]::new));
        assertThat(exit).as("pier %s: %s %s", String.join(" ", args), out, err).isZero();
        return out.toString();
    }

    private static String nameOf(String id) {
        return pier.http()
                .get("/api/v1/instances/" + id, bearer(pier.viewer))
                .json()
                .path("name")
                .asText();
    }

    @Test
    void logs_and_stats() {
        String name = nameOf(Ticker.deploy(pier));
        await().atMost(Duration.ofSeconds(20))
                .until(() -> cli("instance", "logs", name, "--tail", "all", "--stream", "stdout")
                                .lines()
                                .count()
                        >= 10);
        List<String> five = cli("instance", "logs", name, "--tail", "5").lines().toList();
        assertThat(five).hasSize(5).allMatch(l -> l.matches("(out|err) \\d+"));
        List<String> errs = cli("instance", "logs", name, "--tail", "3", "--stream", "stderr", "--timestamps")
                .lines()
                .toList();
        assertThat(errs).hasSize(3).allMatch(l -> l.matches("\\d{4}-\\d\\d-\\d\\dT\\S+Z err \\d+"));
        assertThat(cli("instance", "logs", name, "--tail", "2", "--grep", "out 1")
                        .lines())
                .hasSize(2)
                .allMatch(l -> l.startsWith("out 1"));
        String stats = cli("instance", "stats", name);
        assertThat(stats.lines().toList()).hasSize(2);
        assertThat(stats.lines().toList().get(1)).startsWith(name);
        assertThat(cli("instance", "stats")).contains(name);
    }

    @Test
    void events_prints_each_change_as_it_happens_until_interrupted() throws Exception {
        CommandLine cl = PierCommand.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        Thread session = Thread.ofPlatform()
                .daemon()
                .start(() -> cl.execute(
                        "events", "--json", "--data", pier.server.dataDir().toString()));
        try {
            await().atMost(Duration.ofSeconds(20)).until(() -> err.toString().contains("following events"));
            String id = pier.deployQuiet("cli-ev").path("id").asText();
            // what the server did, as the CLI (another process's view of the same database) saw it
            await().atMost(Duration.ofSeconds(30))
                    .untilAsserted(() -> assertThat(out.toString()
                                    .lines()
                                    .map(Http::parse)
                                    .filter(e -> e.path("instance_id").asText().equals(id))
                                    .map(e -> e.path("event").asText() + " "
                                            + e.path("state").asText()))
                            .contains("instance.state running")
                            .anyMatch(e -> e.startsWith("instance.created ")));
            assertThat(pier.action(pier.manager, id, "stop").status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> out.toString()
                            .lines()
                            .map(Http::parse)
                            .anyMatch(e -> e.path("instance_id").asText().equals(id)
                                    && e.path("state").asText().equals("stopped")));
            assertThat(out.toString().lines().map(Http::parse))
                    .allSatisfy(e -> assertThat(e.path("id").asText()).isNotEmpty());
        } finally {
            session.interrupt();
            session.join(10_000);
        }
        assertThat(session.isAlive()).as("the command ends when interrupted").isFalse();
    }

    @Test
    void a_console_session_types_into_the_process_and_ctrl_bracket_detaches() throws Exception {
        String id = pier.deploy(pier.manager, "name", InstanceFixture.name("cli-echo"), "image", "cli-echoer")
                .path("id")
                .asText();
        String name = nameOf(id);
        InputStream stdin = System.in;
        PrintStream stdout = System.out;
        Keyboard typing = new Keyboard();
        ByteArrayOutputStream screen = new ByteArrayOutputStream();
        try {
            System.setIn(typing);
            System.setOut(new PrintStream(screen, true, StandardCharsets.UTF_8));
            CompletableFuture<String> session = CompletableFuture.supplyAsync(
                    () -> cli("instance", "console", name),
                    r -> Thread.ofPlatform().daemon().start(r));
            // typed until the echo shows: the attachment is made a moment after the command starts
            await().atMost(Duration.ofSeconds(20))
                    .pollInterval(Duration.ofMillis(300))
                    .until(() -> {
                        typing.type("hello\n".getBytes(StandardCharsets.UTF_8));
                        return screen.toString(StandardCharsets.UTF_8).contains("got hello");
                    });
            typing.type(new byte[] {0x1d});
            session.get(10, TimeUnit.SECONDS);
        } finally {
            System.setIn(stdin);
            System.setOut(stdout);
        }
        // detaching left the instance running
        assertThat(pier.http()
                        .get("/api/v1/instances/" + id, bearer(pier.viewer))
                        .json()
                        .path("observed_state")
                        .asText())
                .isEqualTo("running");
    }

    /**
     * What a user types, as System.in: bytes handed over from any thread (a pipe would fail its reader once
     * the thread that wrote last has ended).
     */
    static final class Keyboard extends InputStream {
        private final java.util.concurrent.LinkedBlockingQueue<Integer> keys =
                new java.util.concurrent.LinkedBlockingQueue<>();

        void type(byte[] bytes) {
            for (byte b : bytes) {
                keys.add(b & 0xff);
            }
        }

        @Override
        public int read() throws IOException {
            try {
                return keys.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException();
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            b[off] = (byte) read();
            int n = 1;
            Integer next;
            while (n < len && (next = keys.poll()) != null) {
                b[off + n++] = (byte) next.intValue();
            }
            return n;
        }
    }
}
