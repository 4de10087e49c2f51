package dev.pier.cli;

import dev.pier.Core;
import dev.pier.errors.PierException;
import dev.pier.instances.Instance;
import dev.pier.instances.InstanceService;
import dev.pier.instances.Validation;
import dev.pier.security.Principal;
import dev.pier.users.User;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Instance commands act on the nodes directly, like the server does; a running server's reconciler
 * sees the result within a pass.
 */
@Command(
        name = "instance",
        mixinStandardHelpOptions = true,
        description = "Manage instances (containers).",
        subcommands = {
            InstanceCommand.ListInstances.class,
            InstanceCommand.Deploy.class,
            InstanceCommand.Start.class,
            InstanceCommand.Stop.class,
            InstanceCommand.Restart.class,
            InstanceCommand.Reinstall.class,
            InstanceCommand.Suspend.class,
            InstanceCommand.Unsuspend.class,
            InstanceCommand.Delete.class,
            LiveCommands.Logs.class,
            LiveCommands.Stats.class,
            LiveCommands.Console.class
        })
final class InstanceCommand extends GroupCommand {

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List instances.")
    static final class ListInstances extends CoreCommand {
        @Override
        boolean contactsNodes() {
            return true;
        }

        @Override
        int run(Core core, PrintWriter out) {
            out.printf(
                    "%-36s  %-24s  %-9s  %-8s  %6s  %5s  %s%n",
                    "ID", "NAME", "STATE", "DESIRED", "MEM", "CPU", "PORTS");
            for (Instance i : core.instances.list()) {
                out.printf(
                        "%-36s  %-24s  %-9s  %-8s  %6d  %5.2f  %s%n",
                        i.id(),
                        i.name(),
                        i.suspended() ? "suspended" : i.observedState().wire(),
                        i.desiredState().wire(),
                        i.memoryMib(),
                        i.cpu(),
                        Validation.format(i.ports()));
            }
            return 0;
        }
    }

    @Command(name = "deploy", mixinStandardHelpOptions = true, description = "Deploy an instance and start it.")
    static final class Deploy extends CoreCommand {
        @Option(names = "--name", paramLabel = "NAME", description = "DNS-label name (default: generated)")
        String name;

        @Option(
                names = "--image",
                paramLabel = "IMAGE",
                description = "Image name, id or reference (default: the default image)")
        String image;

        @Option(names = "--node", paramLabel = "NODE", description = "Node name or id (default: the first online node)")
        String node;

        @Option(names = "--owner", paramLabel = "USER", description = "Owning user's name")
        String owner;

        @Option(names = "--memory", paramLabel = "MIB", description = "Memory limit in MiB (default 256)")
        Long memory;

        @Option(names = "--cpu", paramLabel = "CORES", description = "CPU cores, fractions allowed (default 1)")
        Double cpu;

        @Option(names = "--ports", paramLabel = "SPEC", description = "\"container:host,…\", e.g. 22:2201,53:5353/udp")
        String ports;

        @Option(names = "--var", paramLabel = "NAME=VALUE", description = "Environment variable (repeatable)")
        List<String> vars = new ArrayList<>();

        @Override
        boolean contactsNodes() {
            return true;
        }

        @Override
        int run(Core core, PrintWriter out) {
            Map<String, String> variables = new LinkedHashMap<>();
            for (String v : vars) {
                int eq = v.indexOf('=');
                if (eq <= 0) {
                    throw new PierException.Invalid("--var must look like NAME=VALUE");
                }
                variables.put(v.substring(0, eq), v.substring(eq + 1));
            }
            User u = owner == null ? null : core.users.require(owner);
            Instance i = core.instances.deploy(
                    Principal.system(),
                    new InstanceService.DeployRequest(
                            name,
                            null,
                            image,
                            node,
                            u == null ? null : u.id(),
                            memory,
                            cpu,
                            null,
                            ports,
                            null,
                            variables,
                            null));
            out.println("Deployed " + i.name() + " (" + i.id() + "): "
                    + i.observedState().wire()
                    + (i.ports().isEmpty() ? "" : ", ports " + Validation.format(i.ports())));
            return 0;
        }
    }

    abstract static class ActionCommand extends CoreCommand {
        @Parameters(paramLabel = "INSTANCE", description = "Instance name or id")
        String instance;

        abstract InstanceService.Action action();

        @Override
        boolean contactsNodes() {
            return true;
        }

        @Override
        int run(Core core, PrintWriter out) {
            Instance i = core.instances.act(
                    Principal.system(), core.instances.resolve(instance).id(), action());
            out.println(i.name() + ": " + (i.suspended() ? "suspended, " : "")
                    + i.observedState().wire());
            return 0;
        }
    }

    @Command(name = "start", mixinStandardHelpOptions = true, description = "Start an instance.")
    static final class Start extends ActionCommand {
        InstanceService.Action action() {
            return InstanceService.Action.START;
        }
    }

    @Command(
            name = "stop",
            mixinStandardHelpOptions = true,
            description = "Stop an instance (SIGTERM, then kill after 10 s).")
    static final class Stop extends ActionCommand {
        InstanceService.Action action() {
            return InstanceService.Action.STOP;
        }
    }

    @Command(name = "restart", mixinStandardHelpOptions = true, description = "Restart an instance.")
    static final class Restart extends ActionCommand {
        InstanceService.Action action() {
            return InstanceService.Action.RESTART;
        }
    }

    @Command(
            name = "reinstall",
            mixinStandardHelpOptions = true,
            description = "Make an instance's container again from its image (or another one), keeping its data.")
    static final class Reinstall extends CoreCommand {
        @Parameters(paramLabel = "INSTANCE", description = "Instance name or id")
        String instance;

        @Option(names = "--image", paramLabel = "IMAGE", description = "Another registered image (name or id)")
        String image;

        @Override
        boolean contactsNodes() {
            return true;
        }

        @Override
        int run(Core core, PrintWriter out) {
            Instance i = core.instances.reinstall(
                    Principal.system(), core.instances.resolve(instance).id(), image);
            out.println(i.name() + ": reinstalled from " + i.imageRef() + ", "
                    + (i.suspended() ? "suspended, " : "") + i.observedState().wire()
                    + i.volume().map(v -> ", data on volume " + v).orElse(""));
            return 0;
        }
    }

    @Command(
            name = "suspend",
            mixinStandardHelpOptions = true,
            description = "Stop an instance and forbid starting it.")
    static final class Suspend extends ActionCommand {
        InstanceService.Action action() {
            return InstanceService.Action.SUSPEND;
        }
    }

    @Command(
            name = "unsuspend",
            mixinStandardHelpOptions = true,
            description = "Lift a suspension and start the instance.")
    static final class Unsuspend extends ActionCommand {
        InstanceService.Action action() {
            return InstanceService.Action.UNSUSPEND;
        }
    }

    @Command(
            name = "delete",
            mixinStandardHelpOptions = true,
            description = "Delete an instance, its container and its data volume.")
    static final class Delete extends CoreCommand {
        @Parameters(paramLabel = "INSTANCE", description = "Instance name or id")
        String instance;

        @Option(names = "--force", description = "Drop the record even when the node is offline")
        boolean force;

        @Override
        boolean contactsNodes() {
            return true;
        }

        @Override
        int run(Core core, PrintWriter out) {
            Instance i = core.instances.resolve(instance);
            core.instances.delete(Principal.system(), i.id(), force);
            out.println("Deleted " + i.name() + ".");
            return 0;
        }
    }
}
