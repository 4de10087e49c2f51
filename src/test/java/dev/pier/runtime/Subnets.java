package dev.pier.runtime;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A /24 for a test engine's bridge that no other test engine holds, in this JVM or another one (two test
 * JVMs run at once on this machine): each subnet has a lock file under {@code /tmp/pier-test-subnets}, held
 * with an OS file lock for as long as the engine lives (the OS releases it if the JVM dies), and a subnet
 * some interface already has is skipped (a bridge a crashed run left behind).
 */
public final class Subnets {
    private static final Path DIR = Path.of("/tmp/pier-test-subnets");

    private Subnets() {}

    /** A held subnet: {@code prefix.N}; close it after the bridge is gone. */
    public record Lease(String prefix, int third, FileChannel channel, FileLock lock) implements AutoCloseable {
        public String gateway() {
            return prefix + "." + third + ".1/24";
        }

        @Override
        public void close() throws IOException {
            lock.release();
            channel.close();
        }
    }

    /** Leases a free {@code prefix.N.0/24}, N in 0..255 in random order. */
    public static Lease lease(String prefix) throws IOException, InterruptedException {
        Files.createDirectories(DIR);
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < 256; i++) {
            order.add(i);
        }
        Collections.shuffle(order);
        for (int n : order) {
            FileChannel ch = FileChannel.open(
                    DIR.resolve(prefix + "." + n + ".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException heldHere) {
                lock = null;
            }
            if (lock == null) {
                ch.close();
                continue;
            }
            if (inUse(prefix + "." + n + ".0/24")) {
                lock.release();
                ch.close();
                continue;
            }
            return new Lease(prefix, n, ch, lock);
        }
        throw new IllegalStateException("no free " + prefix + ".N.0/24 subnet for a test engine");
    }

    private static boolean inUse(String subnet) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("ip", "-o", "addr", "show", "to", subnet)
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor(10, TimeUnit.SECONDS);
        return !out.isBlank();
    }
}
