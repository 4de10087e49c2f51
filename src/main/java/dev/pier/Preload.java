package dev.pier;

import dev.pier.http.Json;
import io.javalin.Javalin;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.slf4j.LoggerFactory;


/**
 * Warms, on a second core, the code a server start runs later on the first: JSON, the HTTP server and
 * the SQL layer, while the main thread parses the command line, reads the configuration and opens the
 * database. Nothing here is kept; on a two-core machine it takes about half a second off the time to
 * the first answer. Failures are ignored: the real start does the same work again and reports them.
 */
final class Preload {
    private Preload() {
    }

    static void startFor(String[] args) {
        if (args.length == 0 || !args[0].equals("serve")) {
            return;
        }
        Thread.ofPlatform().daemon().name("pier-preload").priority(Thread.MIN_PRIORITY).start(Preload::run);
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
            Jdbi.create("jdbc:h2:mem:").installPlugin(new SqlObjectPlugin())
                    .withHandle(h -> h.attach(Probe.class).one());
            new PrometheusMeterRegistry(PrometheusConfig.DEFAULT).scrape();
        } catch (Throwable ignored) {
            // only a head start: the real start repeats this work and reports what fails
        }
    }
}
