package dev.pier.db;

import dev.pier.support.DatabaseFree;
import dev.pier.support.Http;
import dev.pier.support.ServerProcess;
import dev.pier.support.TestDatabases;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The embedded store on a disk that fills up (a 24 MiB tmpfs made by the test): writes fail promptly
 * with 507 and a clear message, never a 2xx that is later lost; reads keep working; once space is back
 * the writes work again without a restart, and everything answered 2xx survives {@code kill -9}.
 * (Pier 0.1 on H2 answered 2xx for a minute, then 500 on everything, and lost 115 acknowledged keys.)
 */
@DatabaseFree
class FullDiskTest {
    private static final Logger log = LoggerFactory.getLogger(FullDiskTest.class);

    @Test
    void a_full_disk_refuses_writes_promptly_keeps_reads_and_recovers_by_itself() throws Exception {
        Path mount = Files.createTempDirectory("pier-full-disk");
        if (!run("mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", mount.toString())) {
            TestDatabases.requireOrSkip("cannot mount a tmpfs (needs root)");
        }
        try (ServerProcess server = ServerProcess.on(mount.resolve("data"), Map.of())) {
            String token = server.ownerToken();
            Http http = server.http();
            List<String> acknowledged = new ArrayList<>();
            acknowledged.add(create(http, token, "before").body());

            Path filler = mount.resolve("filler");
            fill(filler);
            int refused = 0;
            int accepted = 0;
            long slowest = 0;
            for (int i = 0; i < 40; i++) {
                long t0 = System.nanoTime();
                Http.Response r = create(http, token, "while-full-" + i);
                long ms = (System.nanoTime() - t0) / 1_000_000;
                slowest = Math.max(slowest, ms);
                if (r.status() == 200) {
                    accepted++; // the store still had room in a page it owns: then it must last
                    acknowledged.add(r.body());
                } else {
                    assertThat(r.status()).as(r.body()).isEqualTo(507);
                    assertThat(r.header("Retry-After")).isNotNull();
                    assertThat(r.json().get("error").asText()).contains("no space left");
                    refused++;
                }
            }
            log.info(
                    "full disk: {} writes refused with 507, {} accepted; slowest answer {} ms",
                    refused,
                    accepted,
                    slowest);
            assertThat(refused).as("writes refused while the disk is full").isGreaterThan(30);
            assertThat(slowest).as("ms to answer a write on a full disk").isLessThan(3000);
            // reads work on a full disk
            assertThat(http.get("/api/v1/api_tokens", "Authorization", "Bearer " + token)
                            .status())
                    .isEqualTo(200);
            assertThat(http.get("/readyz").status()).isIn(200, 503);

            Files.delete(filler);
            Http.Response after = null;
            for (int i = 0; i < 50; i++) {
                after = create(http, token, "after");
                if (after.status() == 200) {
                    break;
                }
                Thread.sleep(100);
            }
            assertThat(after.status())
                    .as("a write once space is back: " + after.body())
                    .isEqualTo(200);
            acknowledged.add(after.body());

            server.kill9();
            server.restart();
            for (String body : acknowledged) {
                String key = Http.parse(body).get("key").asText();
                assertThat(server.http().get("/api/v1/api_tokens", "Token", key).status())
                        .as(body)
                        .isEqualTo(200);
            }
            assertThat(server.log()).contains("database full");
        } finally {
            run("umount", "-l", mount.toString());
            Files.deleteIfExists(mount);
        }
    }

    private static Http.Response create(Http http, String token, String description) {
        return http.postJson(
                "/api/v1/api_tokens", "{\"description\":\"" + description + "\"}", "Authorization", "Bearer " + token);
    }

    /** Writes zeros until the file system says it is full. */
    private static void fill(Path file) throws IOException {
        byte[] block = new byte[64 * 1024];
        try (OutputStream out = Files.newOutputStream(file)) {
            while (true) {
                out.write(block);
            }
        } catch (IOException full) {
            if (!String.valueOf(full.getMessage()).contains("space")) {
                throw full;
            }
        }
        // the last partial blocks too
        try (OutputStream out = Files.newOutputStream(file, java.nio.file.StandardOpenOption.APPEND)) {
            while (true) {
                out.write(0);
                out.flush();
            }
        } catch (IOException full) {
            // full to the byte
        }
    }

    private static boolean run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor() == 0;
    }
}
