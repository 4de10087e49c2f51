package dev.pier.cli;

import dev.pier.Core;
import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.users.Enrollment;
import dev.pier.users.User;
import dev.pier.users.UserService;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;

@Command(
        name = "user",
        mixinStandardHelpOptions = true,
        description = "Manage users.",
        subcommands = {
            UserCommand.Create.class,
            UserCommand.ListUsers.class,
            UserCommand.Delete.class,
            UserCommand.Passwd.class,
            UserCommand.Disable.class,
            UserCommand.Enable.class,
            UserCommand.SetRole.class
        })
final class UserCommand extends GroupCommand {

    @Command(
            name = "create",
            mixinStandardHelpOptions = true,
            description = {
                "Create a user and print the authenticator enrolment (otpauth URI and QR code).",
                "With -r, give an existing user a new secret (pending until its first use) and revoke all of",
                "their sessions; audited."
            })
    static final class Create extends CoreCommand {
        @Option(
                names = {"-u", "--username"},
                required = true,
                paramLabel = "NAME",
                description = "Username")
        String username;

        @Option(
                names = {"-g", "--group"},
                paramLabel = "GROUP",
                description = "viewer, manager, admin or owner")
        String group;

        @Option(
                names = {"-r", "--reset"},
                description = "Regenerate the secret of an existing user and revoke their sessions")
        boolean reset;

        @Override
        int run(Core core, PrintWriter out) {
            Enrollment e;
            if (reset) {
                e = core.users.resetSecret(Principal.system(), username);
                out.println("New secret for " + e.user().username() + "; all of their sessions are revoked.");
            } else {
                if (group == null) {
                    throw new PierException.Invalid(Reason.USER_DATA_MISSING, "-g GROUP is required to create a user");
                }
                UserService.validatePlainUsername(username);
                Role role = Role.parse(group)
                        .orElseThrow(() -> new PierException.Invalid(
                                Reason.UNKNOWN_ROLE,
                                "unknown group '" + group + "'; use viewer, manager, admin or owner"));
                if (core.users.find(username).isPresent()) {
                    throw new PierException.Conflict(
                            Reason.USERNAME_TAKEN, "user '" + username + "' exists; use -r to give them a new secret");
                }
                e = core.users.create(Principal.system(), new UserService.NewUser(null, username, role, null, null));
                out.println("Created " + role.wire() + " " + e.user().username() + ".");
            }
            out.println("Scan this with an authenticator app, or enter the secret by hand:");
            out.println();
            out.print(e.qrTerminal());
            out.println();
            out.println(e.uri());
            out.println("secret: " + e.secretBase32());
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List users.")
    static final class ListUsers extends CoreCommand {
        @Override
        int run(Core core, PrintWriter out) {
            out.printf("%-36s  %-24s  %-8s  %s%n", "ID", "USERNAME", "ROLE", "CREATED");
            for (User u : core.users.list()) {
                out.printf(
                        "%-36s  %-24s  %-8s  %s%n",
                        u.id(), u.username(), u.role().wire(), u.createdAt());
            }
            return 0;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete a user (never the owner).")
    static final class Delete extends CoreCommand {
        @Parameters(paramLabel = "NAME", description = "Username")
        String username;

        @Override
        int run(Core core, PrintWriter out) {
            core.users.delete(Principal.system(), username);
            out.println("Deleted " + username + ".");
            return 0;
        }
    }

    @Command(
            name = "passwd",
            mixinStandardHelpOptions = true,
            description = {
                "Set a user's password (Argon2id; at least 8 characters, not a common or easily guessed one)",
                "and end all of their sessions.",
                "Asks twice on the terminal, or reads one line from standard input with --stdin."
            })
    static final class Passwd extends CoreCommand {
        @Parameters(paramLabel = "NAME", description = "Username")
        String username;

        @Option(names = "--stdin", description = "Read the password from standard input (for scripts)")
        boolean stdin;

        @Override
        int run(Core core, PrintWriter out) throws Exception {
            String password;
            java.io.Console console = System.console();
            if (!stdin) {
                if (console == null) {
                    throw new PierException.Invalid("no terminal to ask for the password; use --stdin");
                }
                char[] a = console.readPassword("New password for %s: ", username);
                char[] b = console.readPassword("Again: ");
                if (a == null || b == null || !java.util.Arrays.equals(a, b)) {
                    throw new PierException.Invalid("the passwords differ");
                }
                password = new String(a);
            } else {
                password = new java.io.BufferedReader(
                                new java.io.InputStreamReader(System.in, java.nio.charset.StandardCharsets.UTF_8))
                        .readLine();
                if (password == null) {
                    throw new PierException.Invalid("no password on standard input");
                }
            }
            var user = core.users.require(username);
            core.users.setPasswordHash(
                    Principal.system(),
                    username,
                    core.passwords.hash(password, user.username(), user.email().orElse(null)));
            out.println("Password set for " + username + ".");
            return 0;
        }
    }

    @Command(
            name = "disable",
            mixinStandardHelpOptions = true,
            description = {
                "Disable a user: no login, their sessions end, and every API key of theirs is disabled",
                "(re-enabling the user does not re-enable the keys: enable each one again)."
            })
    static final class Disable extends CoreCommand {
        @Parameters(paramLabel = "NAME", description = "Username")
        String username;

        @Override
        int run(Core core, PrintWriter out) {
            core.users.setDisabled(Principal.system(), username, true);
            out.println("Disabled " + username + ".");
            return 0;
        }
    }

    @Command(name = "enable", mixinStandardHelpOptions = true, description = "Re-enable a disabled user.")
    static final class Enable extends CoreCommand {
        @Parameters(paramLabel = "NAME", description = "Username")
        String username;

        @Override
        int run(Core core, PrintWriter out) {
            core.users.setDisabled(Principal.system(), username, false);
            out.println("Enabled " + username + ".");
            return 0;
        }
    }

    @Command(
            name = "role",
            mixinStandardHelpOptions = true,
            description = "Change a user's role (viewer, manager or admin; the owner's role does not change).")
    static final class SetRole extends CoreCommand {
        @Parameters(index = "0", paramLabel = "NAME", description = "Username")
        String username;

        @Parameters(index = "1", paramLabel = "ROLE", description = "viewer, manager or admin")
        String role;

        @Override
        int run(Core core, PrintWriter out) {
            Role r = Role.parse(role)
                    .orElseThrow(() -> new PierException.Invalid(
                            Reason.UNKNOWN_ROLE, "unknown role '" + role + "'; use viewer, manager or admin"));
            core.users.setRole(Principal.system(), username, r);
            out.println(username + " is now " + r.wire() + ".");
            return 0;
        }
    }
}
