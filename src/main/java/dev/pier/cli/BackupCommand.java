package dev.pier.cli;

import dev.pier.Core;
import dev.pier.backups.Backup;
import dev.pier.errors.PierException;
import dev.pier.instances.Instance;
import dev.pier.security.Principal;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

/**
 * Backups of instances' data volumes. They run in this process like the server's (the CLI waits for a
 * backup it makes); the backup store is the data directory's unless {@code PIER_BACKUP_DIR} says otherwise.
 */
@Command(
        name = "backup",
        mixinStandardHelpOptions = true,
        description = "Back up and restore instances' data.",
        subcommands = {
            BackupCommand.Create.class,
            BackupCommand.ListBackups.class,
            BackupCommand.Download.class,
            BackupCommand.Restore.class,
            BackupCommand.Delete.class
        })
final class BackupCommand extends GroupCommand {

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Back up an instance's data volume.")
    static final class Create extends CoreCommand {
        @Parameters(paramLabel = "INSTANCE", description = "Instance name or id")
        String instance;

        @Option(names = "--note", paramLabel = "TEXT", description = "Why it was made")
        String note;

        @Option(names = "--live", description = "Copy while it runs (not paused): faster, not consistent")
        boolean live;

        @Override
        boolean contactsNodes() {
            return true;
        }

        @Override
        int run(Core core, PrintWriter out) {
            Instance i = core.instances.resolve(instance);
            Backup b = core.backups.create(Principal.system(), i.id(), note, live);
            out.println("Backing up " + i.name() + " (" + b.id() + ") ...");
            out.flush();
            b = core.backups.await(b.id(), Duration.ofHours(24));
            if (b.state() != Backup.State.COMPLETED) {
                throw new PierException.Conflict(
                        dev.pier.errors.Reason.CONFLICT,
                        "backup " + b.id() + " " + b.state().wire() + ": "
                                + b.error().orElse(""));
            }
            out.println("Backup " + b.id() + " completed: " + b.size().orElse(0L) + " bytes, sha256 "
                    + b.sha256().orElse(""));
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List backups, of one instance or all.")
    static final class ListBackups extends CoreCommand {
        @Parameters(arity = "0..1", paramLabel = "INSTANCE", description = "Instance name or id")
        String instance;

        @Override
        int run(Core core, PrintWriter out) {
            List<Backup> all = instance == null
                    ? core.backups.all(Principal.system())
                    : core.backups.list(
                            Principal.system(), core.instances.resolve(instance).id());
            out.printf("%-36s  %-20s  %-9s  %12s  %-27s  %s%n", "ID", "INSTANCE", "STATE", "SIZE", "CREATED", "NOTE");
            for (Backup b : all) {
                out.printf(
                        "%-36s  %-20s  %-9s  %12s  %-27s  %s%n",
                        b.id(),
                        b.instanceName(),
                        b.state().wire(),
                        b.size().map(String::valueOf).orElse(""),
                        b.createdAt(),
                        b.note().orElse(b.error().orElse("")));
            }
            return 0;
        }
    }

    @Command(name = "download", mixinStandardHelpOptions = true, description = "Copy a backup's archive to a file.")
    static final class Download extends CoreCommand {
        @Parameters(index = "0", paramLabel = "BACKUP", description = "Backup id")
        String backup;

        @Parameters(index = "1", paramLabel = "FILE", description = "Where to write the .tar.gz")
        Path file;

        @Override
        int run(Core core, PrintWriter out) throws IOException {
            UUID id = id(backup);
            Path target = file.toAbsolutePath();
            Path tmp = Files.createTempFile(target.getParent(), ".pier-backup-", ".part");
            try (InputStream in = core.backups.open(Principal.system(), id)) {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(tmp);
            }
            out.println("Wrote " + target + " (" + Files.size(target) + " bytes)");
            return 0;
        }
    }

    @Command(
            name = "restore",
            mixinStandardHelpOptions = true,
            description = "Replace an instance's data with a backup's (its own instance's unless --into).")
    static final class Restore extends CoreCommand {
        @Parameters(paramLabel = "BACKUP", description = "Backup id")
        String backup;

        @Option(names = "--into", paramLabel = "INSTANCE", description = "Another instance (name or id)")
        String into;

        @Override
        boolean contactsNodes() {
            return true;
        }

        @Override
        int run(Core core, PrintWriter out) {
            Backup b = core.backups.get(Principal.system(), id(backup));
            UUID target = into != null ? core.instances.resolve(into).id() : b.instanceId();
            Instance i = core.backups.restore(Principal.system(), target, b.id());
            out.println("Restored backup " + b.id() + " into " + i.name() + ": "
                    + i.observedState().wire());
            return 0;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete a backup and its archive.")
    static final class Delete extends CoreCommand {
        @Parameters(paramLabel = "BACKUP", description = "Backup id")
        String backup;

        @Override
        int run(Core core, PrintWriter out) {
            core.backups.delete(Principal.system(), id(backup));
            out.println("Deleted backup " + backup + ".");
            return 0;
        }
    }

    private static UUID id(String s) {
        try {
            return UUID.fromString(s.strip());
        } catch (IllegalArgumentException e) {
            throw new PierException.NotFound("backup '" + s + "' is not a backup id");
        }
    }
}
