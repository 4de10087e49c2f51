import dev.pier.Core;
import dev.pier.config.Config;
import dev.pier.config.ConfigLoader;
import dev.pier.instances.Reconciler;
import dev.pier.nodes.Node;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Times full reconcile passes over one node, for bench/instances. The server logs nothing on a pass
 * that changes nothing and has no endpoint to trigger one, so this opens a second {@link Core} on the
 * server's data directory (SQLite's own locking lets a second process in, as the CLI does) and calls
 * {@code reconciler.pass(node)} itself: the same work as the server's periodic pass (list the node's
 * Pier-labelled containers, read the node's records, compare each pair, act on differences).
 * Its one database read is a read of the same SQLite file the server writes.
 *
 * <p>Besides wall time it reports this process's CPU time per pass, which other work on the machine
 * inflates far less than wall time: Pier's own share of a pass (the Docker engine's share is not in it).
 *
 * <p>Run from the source file with the JDK (no build step):
 * {@code java -cp target/pier.jar bench/ReconcilePass.java DATA_DIR [PASSES] [WARMUP] [NODE]}.
 * Prints one line per timed pass ({@code pass N: X ms (what it changed)}) and a last line
 * {@code passes: min M median D max X ms}.
 */
public final class ReconcilePass {
    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: java -cp target/pier.jar bench/ReconcilePass.java DATA_DIR [PASSES] [WARMUP] [NODE]");
            System.exit(2);
        }
        Path data = Path.of(args[0]);
        int passes = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        int warmup = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        String nodeName = args.length > 3 ? args[3] : "local";
        Config config = new ConfigLoader(System.getenv()).load(new ConfigLoader.Overrides(null, data, null, null));
        try (Core core = Core.forCliWithNodes(config)) {
            Node node = core.nodes.resolve(nodeName);
            if (!core.nodes.isOnline(node)) {
                System.err.println("node '" + nodeName + "' is offline");
                System.exit(1);
            }
            // Opening the Core brought the node online, which starts one pass in the background;
            // the warm-up passes overlap it and compile the code path.
            for (int i = 0; i < warmup; i++) {
                core.reconciler.pass(node);
            }
            Thread.sleep(500);
            var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            List<Double> ms = new ArrayList<>();
            List<Double> cpu = new ArrayList<>();
            for (int i = 1; i <= passes; i++) {
                long c0 = os.getProcessCpuTime();
                long t0 = System.nanoTime();
                Reconciler.Result r = core.reconciler.pass(node);
                double d = (System.nanoTime() - t0) / 1e6;
                double c = (os.getProcessCpuTime() - c0) / 1e6;
                ms.add(d);
                cpu.add(c);
                System.out.printf("pass %d: %.1f ms, cpu %.1f ms (%s)%n", i, d, c, r);
                Thread.sleep(100);
            }
            double[] s = sorted(ms);
            double[] sc = sorted(cpu);
            System.out.printf("passes: min %.1f median %.1f max %.1f ms (%d passes after %d warm-up)%n",
                    s[0], median(s), s[s.length - 1], s.length, warmup);
            System.out.printf("cpu: min %.1f median %.1f max %.1f ms%n", sc[0], median(sc), sc[sc.length - 1]);
            System.out.println("instances on node: " + core.instances.list().stream()
                    .filter(i -> i.nodeId().equals(node.id())).count() + "; all times " + Arrays.toString(s));
        }
    }

    private static double[] sorted(List<Double> l) {
        return l.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    }

    private static double median(double[] s) {
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
