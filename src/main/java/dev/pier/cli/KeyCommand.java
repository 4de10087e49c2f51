package dev.pier.cli;

import dev.pier.Core;
import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.keys.ApiKey;
import dev.pier.keys.ApiKeyService;
import dev.pier.keys.CreatedKey;
import dev.pier.security.AccessLevel;
import dev.pier.security.Principal;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.UUID;

@Command(
        name = "key",
        mixinStandardHelpOptions = true,
        description = "Manage API keys.",
        subcommands = {
            KeyCommand.Create.class,
            KeyCommand.ListKeys.class,
            KeyCommand.Revoke.class,
            KeyCommand.Enable.class,
            KeyCommand.Disable.class
        })
final class KeyCommand extends GroupCommand {

    @Command(
            name = "create",
            mixinStandardHelpOptions = true,
            description = "Create an API key for a user and print it (it is shown only this once).")
    static final class Create extends CoreCommand {
        @Option(names = "--user", required = true, paramLabel = "NAME", description = "Owner of the key")
        String user;

        @Option(
                names = "--level",
                paramLabel = "LEVEL",
                defaultValue = "full",
                description = "basic (read only), apikey (no user/key management) or full (default: ${DEFAULT-VALUE})")
        String level;

        @Option(names = "--description", paramLabel = "TEXT", defaultValue = "", description = "Up to 255 characters")
        String description;

        @Option(
                names = "--expires",
                paramLabel = "TIME",
                description = "Expiry as 2030-01-31 or 2030-01-31T12:00:00Z (default: never)")
        String expires;

        @Override
        int run(Core core, PrintWriter out) {
            AccessLevel l = AccessLevel.parse(level)
                    .orElseThrow(() -> new PierException.Invalid(
                            Reason.ACCESS_LEVEL_INVALID, "--level must be basic, apikey or full"));
            CreatedKey k = core.keys.create(
                    Principal.system(), user, new ApiKeyService.NewKey(description, true, parseTime(expires), l));
            out.println("Created API key " + k.key().id() + " for " + k.key().username() + " (level " + l.wire()
                    + "). Store it now; it is not shown again:");
            out.println(k.value());
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List API keys (never their values).")
    static final class ListKeys extends CoreCommand {
        @Option(names = "--user", paramLabel = "NAME", description = "Only this user's keys")
        String user;

        @Override
        int run(Core core, PrintWriter out) {
            List<ApiKey> keys =
                    user == null ? core.keys.listAll(Principal.system()) : core.keys.listOf(Principal.system(), user);
            out.printf(
                    "%-36s  %-16s  %-6s  %-7s  %-20s  %-20s  %s%n",
                    "ID", "USER", "LEVEL", "ENABLED", "EXPIRES", "LAST USED", "DESCRIPTION");
            for (ApiKey k : keys) {
                out.printf(
                        "%-36s  %-16s  %-6s  %-7s  %-20s  %-20s  %s%n",
                        k.id(),
                        k.username(),
                        k.level().wire(),
                        k.enabled(),
                        k.expiresAt().map(Instant::toString).orElse("never"),
                        k.lastUsedAt().map(Instant::toString).orElse("never"),
                        k.description());
            }
            return 0;
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true, description = "Delete an API key by id.")
    static final class Revoke extends CoreCommand {
        @Parameters(paramLabel = "ID", description = "Key id (see 'pier key list')")
        String id;

        @Override
        int run(Core core, PrintWriter out) {
            UUID uuid;
            try {
                uuid = UUID.fromString(id);
            } catch (IllegalArgumentException e) {
                throw new PierException.Invalid("ID must be a key id (a UUID), see 'pier key list'");
            }
            ApiKey k = core.keys.delete(Principal.system(), uuid);
            out.println("Revoked API key " + k.id() + " of " + k.username() + ".");
            return 0;
        }
    }

    @Command(
            name = "enable",
            mixinStandardHelpOptions = true,
            description = {
                "Enable an API key by id (keys of a disabled user stay disabled after the user is",
                "enabled again, until each is enabled here or through the API)."
            })
    static final class Enable extends CoreCommand {
        @Parameters(paramLabel = "ID", description = "Key id (see 'pier key list')")
        String id;

        @Override
        int run(Core core, PrintWriter out) {
            ApiKey k = core.keys.update(Principal.system(), uuid(id), null, true, null);
            out.println("Enabled API key " + k.id() + " of " + k.username() + ".");
            return 0;
        }
    }

    @Command(name = "disable", mixinStandardHelpOptions = true, description = "Disable an API key by id.")
    static final class Disable extends CoreCommand {
        @Parameters(paramLabel = "ID", description = "Key id (see 'pier key list')")
        String id;

        @Override
        int run(Core core, PrintWriter out) {
            ApiKey k = core.keys.update(Principal.system(), uuid(id), null, false, null);
            out.println("Disabled API key " + k.id() + " of " + k.username() + ".");
            return 0;
        }
    }

    static UUID uuid(String id) {
        try {
            return UUID.fromString(id);
        } catch (IllegalArgumentException e) {
            throw new PierException.Invalid("ID must be a key id (a UUID), see 'pier key list'");
        }
    }

    static Instant parseTime(String s) {
        if (s == null || s.isBlank()) {
            return null;
        }
        try {
            return OffsetDateTime.parse(s).toInstant();
        } catch (DateTimeParseException e) {
            try {
                return LocalDate.parse(s).atStartOfDay().toInstant(ZoneOffset.UTC);
            } catch (DateTimeParseException e2) {
                throw new PierException.Invalid("--expires must look like 2030-01-31 or 2030-01-31T12:00:00Z");
            }
        }
    }
}
