package dev.pier.cli;

import dev.pier.Core;
import dev.pier.nodes.HostPortRange;
import dev.pier.nodes.Node;
import dev.pier.nodes.NodeService;
import dev.pier.runtime.TlsMaterial;
import dev.pier.security.Principal;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;

@Command(
        name = "node",
        mixinStandardHelpOptions = true,
        description = "Manage nodes (Docker engines).",
        subcommands = {NodeCommand.Add.class, NodeCommand.ListNodes.class, NodeCommand.Remove.class})
final class NodeCommand extends GroupCommand {

    @Command(
            name = "add",
            mixinStandardHelpOptions = true,
            description = "Register a Docker engine reachable over TCP (TLS with --tls-dir) or a unix:// socket.")
    static final class Add extends CoreCommand {
        @Parameters(index = "0", paramLabel = "NAME", description = "Node name")
        String name;

        @Option(
                names = "--address",
                required = true,
                paramLabel = "HOST",
                description = "Host or IP, or unix:///path/docker.sock")
        String address;

        @Option(names = "--port", paramLabel = "N", description = "Docker TCP port (2376 with TLS, 2375 without)")
        Integer port;

        @Option(names = "--ram", required = true, paramLabel = "MIB", description = "RAM to allocate to instances, MiB")
        long ram;

        @Option(
                names = "--disk",
                required = true,
                paramLabel = "MIB",
                description = "Disk to allocate to instances, MiB")
        long disk;

        @Option(names = "--tags", paramLabel = "TEXT", defaultValue = "", description = "Free-form tags")
        String tags;

        @Option(names = "--processor", paramLabel = "TEXT", defaultValue = "", description = "Processor description")
        String processor;

        @Option(names = "--tls-dir", paramLabel = "DIR", description = "Directory with ca.pem, cert.pem and key.pem")
        Path tlsDir;

        @Option(
                names = "--host-ports",
                paramLabel = "MIN-MAX",
                description = "Host ports instances may publish (default 1024-65535; 2375, 2376 and Pier's port never)")
        String hostPorts;

        @Override
        boolean contactsNodes() {
            return true;
        }

        @Override
        int run(Core core, PrintWriter out) {
            TlsMaterial tls = tlsDir == null ? null : TlsMaterial.fromDirectory(tlsDir);
            Node n = core.nodes.create(
                    Principal.system(),
                    new NodeService.NewNode(
                            name,
                            tags,
                            ram,
                            disk,
                            processor,
                            address,
                            port,
                            tls,
                            hostPorts == null ? null : HostPortRange.parse(hostPorts, "--host-ports")));
            out.println("Registered node " + n.name() + " (" + n.id() + ") at " + n.endpoint() + ": "
                    + core.nodes.status(n).wire());
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List nodes and whether they answer.")
    static final class ListNodes extends CoreCommand {
        @Override
        boolean contactsNodes() {
            return true;
        }

        @Override
        int run(Core core, PrintWriter out) {
            out.printf(
                    "%-36s  %-16s  %-8s  %10s  %10s  %s%n", "ID", "NAME", "STATUS", "RAM MIB", "DISK MIB", "ENDPOINT");
            for (Node n : core.nodes.list()) {
                out.printf(
                        "%-36s  %-16s  %-8s  %10d  %10d  %s%n",
                        n.id(),
                        n.name(),
                        core.nodes.isOnline(n) ? "online" : "offline",
                        n.ramMib(),
                        n.diskMib(),
                        n.endpoint());
                core.nodes.statusReason(n).ifPresent(why -> out.println("    why: " + why));
            }
            return 0;
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true, description = "Remove a node that has no instances.")
    static final class Remove extends CoreCommand {
        @Parameters(paramLabel = "NODE", description = "Node name or id")
        String node;

        @Override
        boolean contactsNodes() {
            return true;
        }

        @Override
        int run(Core core, PrintWriter out) {
            Node n = core.nodes.resolve(node);
            core.nodes.delete(Principal.system(), n.id());
            out.println("Removed node " + n.name() + ".");
            return 0;
        }
    }
}
