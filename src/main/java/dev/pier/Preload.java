package dev.pier;

import dev.pier.http.Json;
import io.javalin.Javalin;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Warms, on a second core, the code a server start runs later on the first: JSON, the HTTP server and
 * the SQL layer, while the main thread parses the command line, reads the configuration and opens the
 * database. Nothing here is kept; on a two-core machine it takes about half a second off the time to
 * the first answer. Failures are ignored: the real start does the same work again and reports them.
 */
public final class Preload {
    private static final CountDownLatch DONE = new CountDownLatch(1);

    private Preload() {}

    static void startFor(String[] args) {
        if (args.length == 0 || !args[0].equals("serve")) {
            DONE.countDown();
            return;
        }
        Thread.ofPlatform()
                .daemon()
                .name("pier-preload")
                .priority(Thread.MIN_PRIORITY)
                .start(() -> {
                    try {
                        run();
                    } finally {
                        DONE.countDown();
                    }
                });
    }

    /**
     * Waits (a few seconds at most) until the warm-up is over; call it before {@code System.exit}. A JVM
     * that exits while this thread links lambdas from the class-data-sharing archive can crash
     * (seen with JDK 25.0.3: SIGSEGV in LambdaProxyClassDictionary when {@code serve} failed at once).
     */
    public static void awaitFinished() {
        try {
            DONE.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A DAO like the real ones: the first attach builds Jdbi's SQL-object machinery. */
    public interface Probe {
        @SqlQuery("SELECT 1")
        int one();
    }

    private static void run() {
        try {
            LoggerFactory.getLogger(Preload.class);
            Json.MAPPER.writeValueAsString(Json.MAPPER.readTree("{\"preload\":[1,\"a\",true,null,1.5]}"));
            Javalin.create(cfg -> cfg.startup.showJavalinBanner = false);
            new org.eclipse.jetty.server.Server();
            Jdbi.create("jdbc:sqlite::memory:")
                    .installPlugin(new SqlObjectPlugin())
                    .withHandle(h -> h.attach(Probe.class).one());
            new PrometheusMeterRegistry(PrometheusConfig.DEFAULT).scrape();
        } catch (Throwable ignored) {
            // only a head start: the real start repeats this work and reports what fails
        }
    }
}
