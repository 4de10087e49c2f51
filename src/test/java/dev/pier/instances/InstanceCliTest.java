package dev.pier.instances;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.cli.PierCommand;
import dev.pier.support.Shared;
import dev.pier.support.TestDatabases;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static dev.pier.instances.InstanceFixture.bearer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Instances made and removed by the CLI, in its own process state against the running server's data: the
 * server's lists follow (each record write signals the instances' change counter in its transaction, which
 * the server polls), and its reconciler leaves the CLI's container alone.
 */
class InstanceCliTest {
    @Shared
    static InstanceFixture pier;

    @BeforeAll
    static void start() throws IOException {
        // the CLI reads its settings as an operator's would: the file helpers run the local test image
        String settings = "helper_image=" + TestEngine.BUSYBOX + "\n";
        if (TestDatabases.postgres()) {
            var c = pier.server.config();
            settings += "db.url=" + c.dbUrl().orElseThrow() + "\n" + "db.user=" + c.dbUser() + "\n" + "db.password="
                    + c.dbPassword() + "\n";
        }
        Files.writeString(pier.server.dataDir().resolve("pier.properties"), settings);
    }

    private static int cli(String... args) {
        return cli(new StringWriter(), args);
    }

    private static int cli(StringWriter out, String... args) {
        CommandLine cl = PierCommand.commandLine();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--data");
        all.add(pier.server.dataDir().toString());
        pier.server.config().dbUrl().ifPresent(url -> {
            all.add("--db");
            all.add(url);
        });
        int exit = cl.execute(all.toArray(String[]::new));
        assertThat(exit).as("pier %s: %s %s", String.join(" ", args), out, err).isZero();
        return exit;
    }

    private static List<String> listed() {
        JsonNode items =
                pier.http().get("/api/v1/instances", bearer(pier.viewer)).json().path("items");
        List<String> names = new ArrayList<>();
        items.forEach(i -> names.add(i.path("name").asText()));
        return names;
    }

    @Test
    void an_instance_deployed_and_deleted_by_the_cli_shows_in_the_server_s_lists() {
        assertThat(listed()).isEmpty(); // the server's list is now cached
        String name = InstanceFixture.name("by-cli");
        cli(
                "instance",
                "deploy",
                "--name",
                name,
                "--image",
                InstanceFixture.QUIET_IMAGE,
                "--memory",
                "32",
                "--cpu",
                "0.25");

        await().atMost(Duration.ofSeconds(5)).until(() -> listed().contains(name));
        JsonNode droplets =
                pier.http().get("/api/v1/droplet/list", bearer(pier.viewer)).json();
        assertThat(droplets.findValuesAsText("name")).contains(name);
        String id = pier.server.core().instances.list().getFirst().id().toString();
        String cid = pier.containersOf(id).getFirst().getId();
        // the server's reconciler takes it for one of its own, not for an orphan
        pier.server.core().reconciler.passAll();
        assertThat(pier.running(cid)).isTrue();

        cli("instance", "delete", name);
        await().atMost(Duration.ofSeconds(5)).until(() -> !listed().contains(name));
        assertThat(pier.containersOf(id)).isEmpty();
    }

    @Test
    void the_cli_copies_files_in_and_out_lists_them_and_reinstalls_keeping_them() throws IOException {
        JsonNode i = pier.deployQuiet("cli-files");
        String name = i.path("name").asText();
        String id = i.path("id").asText();
        java.nio.file.Path dir = Files.createTempDirectory("pier-cp");
        java.nio.file.Path local = dir.resolve("in.txt");
        Files.writeString(local, "from the cli\n");

        cli("instance", "cp", local.toString(), name + ":/in.txt");
        assertThat(pier.sh(id, "cat /data/in.txt")).isEqualTo("from the cli\n");
        pier.sh(id, "mkdir /data/logs && echo from-the-container > /data/logs/out.txt");
        StringWriter listing = new StringWriter();
        cli(listing, "instance", "files", name);
        assertThat(listing.toString()).contains("logs/", "in.txt", "directory", "file");

        cli("instance", "reinstall", name, "--image", InstanceFixture.ECHO_IMAGE);
        java.nio.file.Path out = dir.resolve("out.txt");
        cli("instance", "cp", name + ":logs/out.txt", out.toString());
        assertThat(Files.readString(out)).isEqualTo("from-the-container\n");
        assertThat(pier.inspectInstance(id).getConfig().getImage()).isEqualTo(TestEngine.BUSYBOX);

        // a backup made, listed, downloaded and restored by the CLI
        StringWriter made = new StringWriter();
        cli(made, "backup", "create", name, "--note", "by the cli");
        assertThat(made.toString()).contains("completed");
        String backup = made.toString().replaceAll("(?s).*Backup ([0-9a-f-]{36}) completed.*", "$1");
        StringWriter listed = new StringWriter();
        cli(listed, "backup", "list", name);
        assertThat(listed.toString()).contains(backup, "completed", "by the cli");
        java.nio.file.Path archive = dir.resolve("backup.tar.gz");
        cli("backup", "download", backup, archive.toString());
        assertThat(Files.size(archive)).isPositive();
        pier.sh(id, "rm -rf /data/logs");
        cli("backup", "restore", backup);
        assertThat(pier.sh(id, "cat /data/logs/out.txt")).isEqualTo("from-the-container\n");
        cli("backup", "delete", backup);
        StringWriter none = new StringWriter();
        cli(none, "backup", "list", name);
        assertThat(none.toString()).doesNotContain(backup);
    }
}
