package dev.pier.cli;

import dev.pier.Core;
import dev.pier.config.Config;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/**
 * A command that works on Pier's data: it takes the data options, opens the store the way the CLI does
 * ({@link Core#forCli}, beside a running server or without one), runs, and closes it. Errors it throws
 * ({@code PierException}, {@code ConfigException}) are printed by the root command with exit status 2.
 */
abstract class CoreCommand implements Callable<Integer> {
    @Mixin
    DataOptions data;

    @Spec
    CommandSpec spec;

    /** Whether the command talks to the nodes (only node, image and instance commands do). */
    boolean contactsNodes() {
        return false;
    }

    @Override
    public final Integer call() throws Exception {
        Config config = data.load(null, null);
        try (Core core = contactsNodes() ? Core.forCliWithNodes(config) : Core.forCli(config)) {
            PrintWriter out = spec.commandLine().getOut();
            int status = run(core, out);
            out.flush();
            return status;
        }
    }

    /** The command's work; returns the exit status. */
    abstract int run(Core core, PrintWriter out) throws Exception;
}
