package dev.pier.cli;

import dev.pier.config.ConfigException;
import dev.pier.errors.PierException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code pier}: the root command. */
@Command(name = "pier", mixinStandardHelpOptions = true, versionProvider = PierCommand.Version.class,
        description = "Pier: a self-hosted control plane for containers.",
        subcommands = {ServeCommand.class, UserCommand.class, KeyCommand.class, NodeCommand.class, ImageCommand.class,
                InstanceCommand.class, CommandLine.HelpCommand.class})
public final class PierCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new PierCommand());
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof PierException || e instanceof ConfigException) {
                cmd.getErr().println("error: " + e.getMessage());
                return 2;
            }
            throw e;
        });
        return cl;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = PierCommand.class.getPackage().getImplementationVersion();
            return new String[]{"pier " + (v == null ? "dev" : v)};
        }
    }
}
