package dev.pier.cli;

import dev.pier.Core;
import dev.pier.errors.PierException;
import dev.pier.instances.Instance;
import dev.pier.live.EventFeed;
import dev.pier.live.LogService;
import dev.pier.live.StatsService;
import dev.pier.live.TimeParam;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The live view in the CLI: the same log, stats and event services the HTTP API uses, in this process.
 * Followed output runs until Ctrl-C.
 */
final class LiveCommands {
    private LiveCommands() {}

    /** Starts what a following command needs: the change poll and the event feed of this process. */
    static void startFollowing(Core core) {
        core.changes.start(core.config.cachePoll());
        core.events.start();
    }

    static Optional<Instant> time(String v, String option) {
        if (v == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(TimeParam.parse(v, true, Instant.now()));
        } catch (IllegalArgumentException e) {
            throw new PierException.Invalid(
                    option + " must be an RFC 3339 time, Unix seconds, or an age such as 10m or 2h");
        }
    }

    @Command(
            name = "logs",
            mixinStandardHelpOptions = true,
            description = "Show an instance's log; with -f, follow it (through restarts) until Ctrl-C.")
    static final class Logs extends CoreCommand {
        @Parameters(paramLabel = "INSTANCE", description = "Instance name or id")
        String instance;

        @Option(
                names = {"-f", "--follow"},
                description = "Keep printing new lines")
        boolean follow;

        @Option(
                names = "--tail",
                paramLabel = "N",
                description = "The last N lines, or all (default 100 unless --since is given)")
        String tail;

        @Option(
                names = "--since",
                paramLabel = "TIME",
                description = "From this time: RFC 3339, Unix seconds, or an age (10m, 2h)")
        String since;

        @Option(names = "--grep", paramLabel = "TEXT", description = "Only lines containing TEXT")
        String grep;

        @Option(names = "--stream", paramLabel = "STREAM", description = "stdout, stderr or both (default)")
        String stream = "both";

        @Option(names = "--timestamps", description = "Start each line with its time")
        boolean timestamps;

        @Override
        boolean contactsNodes() {
            return true;
        }

        @Override
        int run(Core core, PrintWriter out) throws Exception {
            Instance inst = core.instances.resolve(instance);
            OptionalInt n = OptionalInt.empty();
            if (tail != null && !tail.equalsIgnoreCase("all")) {
                try {
                    n = OptionalInt.of(Integer.parseInt(tail.strip()));
                } catch (NumberFormatException e) {
                    throw new PierException.Invalid("--tail must be a whole number or all");
                }
                if (n.getAsInt() < 0 || n.getAsInt() > LogService.MAX_TAIL) {
                    throw new PierException.Invalid("--tail must be 0 to " + LogService.MAX_TAIL);
                }
            }
            Optional<Instant> from = time(since, "--since");
            if (tail == null && from.isEmpty()) {
                n = OptionalInt.of(100);
            }
            String s = stream.strip().toLowerCase(Locale.ROOT);
            if (!List.of("stdout", "stderr", "both").contains(s)) {
                throw new PierException.Invalid("--stream must be stdout, stderr or both");
            }
            LogService.Query q =
                    new LogService.Query(n, from, Optional.empty(), grep, !s.equals("stderr"), !s.equals("stdout"));
            if (!follow) {
                core.logs.history(inst, q, Optional.empty(), line -> print(out, line));
                return 0;
            }
            startFollowing(core);
            try (LogService.Follower f = core.logs.follow(inst)) {
                core.logs.history(inst, q, Optional.empty(), f, line -> print(out, line));
                out.flush();
                while (true) {
                    LogService.Item item = f.poll(1_000);
                    if (item instanceof LogService.Line l) {
                        if (q.wants(l.line())) {
                            print(out, l);
                        }
                    } else if (item instanceof LogService.State st) {
                        spec.commandLine()
                                .getErr()
                                .println("-- " + inst.name() + " is "
                                        + st.event().data().get("state") + " --");
                    } else if (item instanceof LogService.End e) {
                        spec.commandLine().getErr().println("-- " + e.why().message() + " --");
                        return 1;
                    }
                    if (item == null || f.pending() == 0) {
                        out.flush();
                    }
                }
            }
        }

        private void print(PrintWriter out, LogService.Line l) {
            if (timestamps) {
                out.print(l.line().time());
                out.print(' ');
            }
            out.println(l.line().text());
        }
    }

    @Command(
            name = "stats",
            mixinStandardHelpOptions = true,
            description = "Resource use: of every running instance, or of one (with --follow, every 2 s until Ctrl-C).")
    static final class Stats extends CoreCommand {
        @Parameters(paramLabel = "INSTANCE", arity = "0..1", description = "Instance name or id (all if left out)")
        String instance;

        @Option(
                names = {"-f", "--follow"},
                description = "Keep printing samples")
        boolean follow;

        @Override
        boolean contactsNodes() {
            return true;
        }

        @Override
        int run(Core core, PrintWriter out) throws Exception {
            header(out);
            if (instance == null) {
                do {
                    for (StatsService.Sample s : core.stats.latest(core.instances.list())) {
                        row(
                                out,
                                core.instances
                                        .find(s.instanceId())
                                        .map(Instance::name)
                                        .orElse("?"),
                                s);
                    }
                    out.flush();
                    if (follow) {
                        Thread.sleep(StatsService.INTERVAL.toMillis());
                    }
                } while (follow);
                return 0;
            }
            Instance inst = core.instances.resolve(instance);
            if (!follow) {
                row(out, inst.name(), core.stats.once(inst));
                return 0;
            }
            startFollowing(core);
            try (StatsService.Follower f = core.stats.follow(inst)) {
                while (true) {
                    StatsService.Item item = f.poll(60_000);
                    if (item instanceof StatsService.Next n) {
                        row(out, inst.name(), n.sample());
                        out.flush();
                    } else if (item instanceof StatsService.End e) {
                        spec.commandLine().getErr().println("-- " + e.why().message() + " --");
                        return 1;
                    }
                }
            }
        }

        private static void header(PrintWriter out) {
            out.printf(
                    "%-24s  %7s  %7s  %10s  %10s  %10s  %10s  %5s%n",
                    "NAME", "CPU%", "LIMIT%", "MEM", "MEM LIMIT", "NET RX", "NET TX", "PIDS");
        }

        private static void row(PrintWriter out, String name, StatsService.Sample s) {
            out.printf(
                    "%-24s  %7.2f  %7.2f  %10s  %10s  %10s  %10s  %5d%n",
                    name,
                    s.raw().cpuPercent(),
                    s.cpuLimitPercent(),
                    bytes(s.raw().memoryBytes()),
                    bytes(s.raw().memoryLimitBytes()),
                    bytes(s.raw().netRxBytes()),
                    bytes(s.raw().netTxBytes()),
                    s.raw().pids());
        }

        static String bytes(long b) {
            if (b < 1024) {
                return b + "B";
            }
            double v = b;
            String[] units = {"KiB", "MiB", "GiB", "TiB"};
            int u = -1;
            while (v >= 1024 && u < units.length - 1) {
                v /= 1024;
                u++;
            }
            return String.format(Locale.ROOT, "%.1f%s", v, units[u]);
        }
    }

    @Command(
            name = "events",
            mixinStandardHelpOptions = true,
            description = "Print instance and node events as they happen, until Ctrl-C.")
    static final class Events extends CoreCommand {
        @Option(names = "--json", description = "One JSON object per line")
        boolean json;

        @Override
        boolean contactsNodes() {
            return true;
        }

        @Override
        int run(Core core, PrintWriter out) throws Exception {
            LinkedBlockingQueue<EventFeed.Event> queue = new LinkedBlockingQueue<>();
            core.events.subscribe(null, queue::add);
            startFollowing(core);
            spec.commandLine().getErr().println("-- following events; Ctrl-C ends --");
            spec.commandLine().getErr().flush();
            while (true) {
                EventFeed.Event e = queue.poll(60, TimeUnit.SECONDS);
                if (e == null) {
                    continue;
                }
                if (json) {
                    java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
                    m.put("id", e.id());
                    m.put("event", e.type());
                    m.put("ts", e.at().toString());
                    m.putAll(e.data());
                    out.println(dev.pier.http.Json.write(m));
                } else {
                    Object name = e.data().getOrDefault("name", e.data().get("node"));
                    Object state = e.data().getOrDefault("state", e.data().get("status"));
                    out.printf("%s  %-20s  %-24s  %s%n", e.at(), e.type(), name, state);
                }
                out.flush();
            }
        }
    }

    @Command(
            name = "console",
            mixinStandardHelpOptions = true,
            description = "Attach to an instance's main process: its output here, your typing to its stdin. "
                    + "Ctrl-] detaches (the instance keeps running).")
    static final class Console extends CoreCommand {
        /** Ctrl-]: detaches, as telnet's escape does. */
        static final int DETACH = 0x1d;

        @Parameters(paramLabel = "INSTANCE", description = "Instance name or id")
        String instance;

        @Override
        boolean contactsNodes() {
            return true;
        }

        @Override
        int run(Core core, PrintWriter out) throws Exception {
            Instance inst = core.instances.resolve(instance);
            if (inst.suspended()) {
                throw new PierException.Invalid("instance '" + inst.name() + "' is suspended");
            }
            String cid = inst.containerId()
                    .orElseThrow(() -> new PierException.Invalid("instance '" + inst.name() + "' has no container"));
            dev.pier.runtime.ContainerRuntime runtime = core.nodes.onlineRuntime(core.nodes.require(inst.nodeId()));
            java.io.PrintStream err = System.err;
            boolean terminal = System.console() != null;
            String saved = terminal ? stty("-g").strip() : null;
            try (dev.pier.runtime.Attachment a = runtime.attach(cid)) {
                err.println("-- attached to " + inst.name() + (inst.stdin() ? "" : " (read-only: no stdin)")
                        + "; Ctrl-] detaches --\r");
                if (terminal) {
                    stty("raw", "-echo");
                }
                Thread output = Thread.ofPlatform().daemon().start(() -> {
                    dev.pier.runtime.Attachment.Chunk c;
                    while ((c = a.read()) != null) {
                        java.io.PrintStream to = c.output() == dev.pier.runtime.Output.STDERR ? System.err : System.out;
                        to.write(c.bytes(), 0, c.bytes().length);
                        to.flush();
                    }
                });
                byte[] buf = new byte[4096];
                int n;
                while (output.isAlive() && (n = System.in.read(buf)) >= 0) {
                    int end = n;
                    for (int i = 0; i < n; i++) {
                        if ((buf[i] & 0xff) == DETACH) {
                            end = i;
                            break;
                        }
                    }
                    if (end > 0 && inst.stdin()) {
                        a.write(java.util.Arrays.copyOf(buf, end));
                    }
                    if (end < n) {
                        break;
                    }
                }
            } finally {
                if (saved != null) {
                    stty(saved);
                }
            }
            err.println();
            err.println("-- detached --");
            return 0;
        }

        /** Runs stty on the terminal; what it printed. */
        private static String stty(String... args) throws java.io.IOException, InterruptedException {
            java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("stty"));
            cmd.addAll(java.util.List.of(args));
            Process p = new ProcessBuilder(cmd)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/tty")))
                    .redirectError(ProcessBuilder.Redirect.INHERIT)
                    .start();
            String printed = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            p.waitFor();
            return printed;
        }
    }
}
