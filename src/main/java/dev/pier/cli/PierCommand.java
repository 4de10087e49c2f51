package dev.pier.cli;

import dev.pier.config.ConfigException;
import dev.pier.errors.PierException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/** {@code pier}: the root command. */
@Command(
        name = "pier",
        mixinStandardHelpOptions = true,
        versionProvider = PierCommand.Version.class,
        description = "Pier: a self-hosted control plane for containers.")
public final class PierCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Every command, by name; picocli builds a command's model (by reflection) only when it is added. */
    private static final Map<String, Supplier<Object>> COMMANDS = commands();

    private static Map<String, Supplier<Object>> commands() {
        Map<String, Supplier<Object>> m = new LinkedHashMap<>();
        m.put("serve", ServeCommand::new);
        m.put("user", UserCommand::new);
        m.put("key", KeyCommand::new);
        m.put("node", NodeCommand::new);
        m.put("image", ImageCommand::new);
        m.put("instance", InstanceCommand::new);
        m.put("backup", BackupCommand::new);
        m.put("events", LiveCommands.Events::new);
        m.put("help", CommandLine.HelpCommand::new);
        return Collections.unmodifiableMap(m);
    }

    /** The whole command tree. */
    public static CommandLine commandLine() {
        return commandLine(COMMANDS.keySet());
    }

    /**
     * The tree {@code args} need: only the named command when the first argument names one (building
     * all of them cost 0.4 s of every start), else all, so help and "did you mean" see every command.
     */
    public static CommandLine commandLine(String... args) {
        if (args.length > 0 && COMMANDS.containsKey(args[0]) && !args[0].equals("help")) {
            return commandLine(List.of(args[0]));
        }
        return commandLine();
    }

    private static CommandLine commandLine(Collection<String> names) {
        CommandLine cl = new CommandLine(new PierCommand());
        for (String name : names) {
            cl.addSubcommand(name, COMMANDS.get(name).get());
        }
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
            return new String[] {"pier " + (v == null ? "dev" : v)};
        }
    }
}
