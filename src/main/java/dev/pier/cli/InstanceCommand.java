package dev.pier.cli;

import dev.pier.Core;
import dev.pier.errors.PierException;
import dev.pier.files.FileService;
import dev.pier.instances.Instance;
import dev.pier.instances.InstanceService;
import dev.pier.instances.Validation;
import dev.pier.security.Principal;
import dev.pier.users.User;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
            InstanceCommand.ListFiles.class,
            InstanceCommand.Copy.class,
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
            name = "files",
            mixinStandardHelpOptions = true,
            description = "List a directory of an instance's data volume (its root unless given).")
    static final class ListFiles extends CoreCommand {
        @Parameters(index = "0", paramLabel = "INSTANCE", description = "Instance name or id")
        String instance;

        @Parameters(index = "1", arity = "0..1", paramLabel = "PATH", description = "A directory in the volume")
        String path = "/";

        @Override
        boolean contactsNodes() {
            return true;
        }

        @Override
        int run(Core core, PrintWriter out) {
            Instance i = core.instances.resolve(instance);
            out.printf("%-9s  %-4s  %12s  %-20s  %s%n", "TYPE", "MODE", "SIZE", "MODIFIED", "NAME");
            for (FileService.Entry e : core.files.list(Principal.system(), i.id(), path)) {
                out.printf(
                        "%-9s  %-4s  %12d  %-20s  %s%n",
                        e.type(),
                        e.mode(),
                        e.size(),
                        e.modified(),
                        e.type().equals("directory") ? e.name() + "/" : e.name());
            }
            return 0;
        }
    }

    @Command(
            name = "cp",
            mixinStandardHelpOptions = true,
            description =
                    "Copy a file to or from an instance's data volume: INSTANCE:PATH FILE, or FILE INSTANCE:PATH.")
    static final class Copy extends CoreCommand {
        @Parameters(index = "0", paramLabel = "SOURCE", description = "INSTANCE:PATH or a local file")
        String source;

        @Parameters(index = "1", paramLabel = "DEST", description = "a local file or INSTANCE:PATH")
        String dest;

        @Override
        boolean contactsNodes() {
            return true;
        }

        @Override
        int run(Core core, PrintWriter out) {
            int from = source.indexOf(':');
            int to = dest.indexOf(':');
            if ((from > 0) == (to > 0)) {
                throw new PierException.Invalid("one side must be INSTANCE:PATH and the other a local file");
            }
            try {
                if (from > 0) {
                    Instance i = core.instances.resolve(source.substring(0, from));
                    Path target = Path.of(dest).toAbsolutePath();
                    Path tmp = Files.createTempFile(target.getParent(), ".pier-cp-", ".part");
                    try {
                        core.files.download(Principal.system(), i.id(), source.substring(from + 1), d -> {
                            try (OutputStream o = Files.newOutputStream(tmp)) {
                                d.transfer(o);
                            } catch (IOException e) {
                                throw new UncheckedIOException(e);
                            }
                        });
                        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
                    } finally {
                        Files.deleteIfExists(tmp);
                    }
                    out.println("Copied " + source + " to " + dest + " (" + Files.size(target) + " bytes)");
                } else {
                    Instance i = core.instances.resolve(dest.substring(0, to));
                    Path file = Path.of(source);
                    long size;
                    try (InputStream in = Files.newInputStream(file)) {
                        size = core.files.upload(
                                Principal.system(), i.id(), dest.substring(to + 1), in, Files.size(file));
                    }
                    out.println("Copied " + source + " to " + dest + " (" + size + " bytes)");
                }
            } catch (IOException e) {
                throw new PierException.Invalid("cannot copy: " + e.getMessage());
            }
            return 0;
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
