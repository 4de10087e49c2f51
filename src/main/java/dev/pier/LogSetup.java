package dev.pier;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;

import java.util.List;

/**
 * Logging set up in code, found by logback through {@code META-INF/services}: one line per event on
 * standard output, written by one background writer, at {@code PIER_LOG_LEVEL} (default INFO), with
 * the libraries' chatter at WARN. Parsing an XML configuration cost about half a second of every start.
 * An operator's own file still wins: with {@code -Dlogback.configurationFile=...} this steps aside.
 */
public final class LogSetup extends ContextAwareBase implements Configurator {
    private static final List<String> QUIET = List.of(
            "org.eclipse.jetty",
            "com.zaxxer.hikari",
            "org.flywaydb",
            "org.apache.hc",
            "com.github.dockerjava",
            "io.javalin",
            "h2database",
            "org.sqlite");

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        if (System.getProperty("logback.configurationFile") != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern("%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%thread] %logger{20} - %msg%n");
        encoder.start();

        ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
        console.setContext(context);
        console.setName("STDOUT");
        console.setEncoder(encoder);
        console.start();

        // request threads hand lines to one writer instead of contending for the console; when the
        // queue is full they wait, so no line is dropped
        AsyncAppender async = new AsyncAppender();
        async.setContext(context);
        async.setName("ASYNC");
        async.setQueueSize(8192);
        async.setDiscardingThreshold(0);
        async.setNeverBlock(false);
        async.addAppender(console);
        async.start();

        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.toLevel(System.getenv("PIER_LOG_LEVEL"), Level.INFO));
        root.addAppender(async);
        for (String name : QUIET) {
            context.getLogger(name).setLevel(Level.WARN);
        }
        // a connection broken by a database outage is logged by the pool with a stack trace, one per connection;
        // pier.database says it once per outage instead
        context.getLogger("com.zaxxer.hikari.pool.ProxyConnection").setLevel(Level.ERROR);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }
}
