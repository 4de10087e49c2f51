package dev.pier.cli;

import dev.pier.App;
import dev.pier.Core;
import dev.pier.Preload;
import dev.pier.config.Config;
import io.javalin.Javalin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        description = "Run the Pier server (embedded SQLite in the data directory unless --db is given).")
final class ServeCommand implements Runnable {
    private static final Logger log = LoggerFactory.getLogger("pier");

    @Mixin
    DataOptions data;

    @Option(names = "--port", paramLabel = "N", description = "Port (default: $PIER_PORT or 1337)")
    Integer port;

    @Option(
            names = "--tls",
            paramLabel = "DIR",
            description = "Serve HTTPS with the *.crt and *.key in DIR (default: $PIER_TLS)")
    Path tls;

    @Override
    public void run() {
        Config config = data.load(port, tls);
        Core core = Core.forServer(config, Clock.systemUTC());
        Javalin app = App.create(core);
        CountDownLatch stopped = new CountDownLatch(1);
        ScheduledExecutorService housekeeping = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "pier-housekeeping");
            t.setDaemon(true);
            return t;
        });
        Runnable shutdown = new Runnable() {
            private boolean done;

            @Override
            public synchronized void run() {
                if (done) {
                    return;
                }
                done = true;
                log.info("shutting down: finishing requests in flight");
                housekeeping.shutdownNow();
                app.stop();
                core.close();
                stopped.countDown();
            }
        };
        // SIGTERM and SIGINT stop the server before the JVM begins its shutdown, so requests in flight
        // finish while the database and the runtimes are still open.
        for (String signal : new String[] {"TERM", "INT"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(signal), sig -> {
                    shutdown.run();
                    Preload.awaitFinished();
                    System.exit(0);
                });
            } catch (IllegalArgumentException unsupported) {
                log.debug("cannot handle SIG{}: {}", signal, unsupported.getMessage());
            }
        }
        Runtime.getRuntime().addShutdownHook(new Thread(shutdown, "pier-shutdown"));
        app.start();
        core.startReconciler();
        housekeeping.scheduleWithFixedDelay(
                () -> {
                    try {
                        core.auth.purgeExpired();
                        core.tickets.purgeExpired();
                        core.idempotency.purgeExpired();
                    } catch (RuntimeException e) {
                        log.warn(
                                "purging expired sessions, console tickets and idempotency keys failed: {}",
                                e.toString());
                    }
                },
                1,
                60,
                TimeUnit.MINUTES);
        log.info(
                "Pier listening on {}://{}:{} (data {}, database {})",
                config.tlsDir().isPresent() ? "https" : "http",
                config.host(),
                app.port(),
                config.dataDir().toAbsolutePath(),
                config.embedded() ? "embedded SQLite" : "PostgreSQL");
        if (core.users.list().stream().noneMatch(u -> u.role() == dev.pier.security.Role.OWNER)) {
            log.warn(
                    "No owner yet. Create one with: ./pier user create -u NAME -g owner --data {}",
                    config.dataDir().toAbsolutePath());
        }
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
