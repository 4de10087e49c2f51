package dev.pier.cli;

import dev.pier.Core;
import dev.pier.errors.PierException;
import dev.pier.images.Image;
import dev.pier.images.ImageService;
import dev.pier.security.Principal;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

@Command(
        name = "image",
        mixinStandardHelpOptions = true,
        description = "Manage images (templates).",
        subcommands = {ImageCommand.Add.class, ImageCommand.ListImages.class, ImageCommand.Remove.class})
final class ImageCommand extends GroupCommand {

    @Command(
            name = "add",
            mixinStandardHelpOptions = true,
            description = "Register a Docker image as a template; pulls it (showing progress) when no node has it.")
    static final class Add extends CoreCommand {
        @Parameters(index = "0", paramLabel = "NAME", description = "Template name")
        String name;

        @Parameters(index = "1", paramLabel = "REFERENCE", description = "Docker image reference, e.g. debian:12")
        String reference;

        @Option(names = "--description", paramLabel = "TEXT", defaultValue = "")
        String description;

        @Option(names = "--port", paramLabel = "PORT", description = "A container port to publish (repeatable)")
        List<Integer> ports = new ArrayList<>();

        @Option(names = "--var", paramLabel = "NAME=VALUE", description = "A default variable (repeatable)")
        List<String> vars = new ArrayList<>();

        @Option(names = "--default", description = "Make this the default image (Matrix droplet/add without an image)")
        boolean isDefault;

        @Option(
                names = "--stdin",
                description = "Create its instances' containers with stdin open, for a console (default: closed)")
        boolean stdin;

        @Option(
                names = "--data-path",
                paramLabel = "PATH",
                description = "Where its instances keep their data, on a volume of their own (default: /data); "
                        + "'' for none")
        String dataPath;

        @Parameters(index = "2..*", paramLabel = "COMMAND", description = "Command and arguments (after --)")
        List<String> command = new ArrayList<>();

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
            Image i = core.images.create(
                    Principal.system(),
                    new ImageService.Spec(
                            name, reference, description, command, ports, variables, isDefault, stdin, dataPath),
                    line -> {
                        out.println("pull: " + line);
                        out.flush();
                    });
            out.println("Registered image " + i.name() + " (" + i.id() + ") = " + i.reference()
                    + (i.isDefault() ? ", the default" : "") + (i.stdin() ? ", stdin open" : "")
                    + i.dataPath().map(p -> ", data at " + p).orElse(", no data volume"));
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List images.")
    static final class ListImages extends CoreCommand {
        @Override
        boolean contactsNodes() {
            return true;
        }

        @Override
        int run(Core core, PrintWriter out) {
            out.printf("%-36s  %-20s  %-7s  %s%n", "ID", "NAME", "DEFAULT", "REFERENCE");
            for (Image i : core.images.list()) {
                out.printf("%-36s  %-20s  %-7s  %s%n", i.id(), i.name(), i.isDefault() ? "yes" : "", i.reference());
            }
            return 0;
        }
    }

    @Command(
            name = "remove",
            mixinStandardHelpOptions = true,
            description = "Remove an image (instances keep running).")
    static final class Remove extends CoreCommand {
        @Parameters(paramLabel = "IMAGE", description = "Image name or id")
        String image;

        @Override
        boolean contactsNodes() {
            return true;
        }

        @Override
        int run(Core core, PrintWriter out) {
            Image i = core.images
                    .resolve(image)
                    .orElseThrow(() -> new PierException.NotFound("image '" + image + "' not found"));
            core.images.delete(Principal.system(), i.id());
            out.println("Removed image " + i.name() + ".");
            return 0;
        }
    }
}
