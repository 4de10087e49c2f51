package dev.pier.files;

import dev.pier.audit.AuditLog;
import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.images.ImageService;
import dev.pier.instances.DesiredState;
import dev.pier.instances.Instance;
import dev.pier.instances.InstanceService;
import dev.pier.nodes.Node;
import dev.pier.nodes.NodeService;
import dev.pier.runtime.Attachment;
import dev.pier.runtime.ContainerNotFoundException;
import dev.pier.runtime.ContainerRuntime;
import dev.pier.runtime.ContainerRuntimeException;
import dev.pier.runtime.HelperSpec;
import dev.pier.runtime.ImageNotFoundException;
import dev.pier.runtime.Output;
import dev.pier.runtime.RuntimeOperationException;
import dev.pier.runtime.RuntimeUnavailableException;
import dev.pier.security.Policy;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.security.Scope;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * An instance's files, in its data volume, for managers and up. Every operation runs in a throwaway helper
 * container on the instance's node that mounts only that volume ({@link ContainerRuntime#runHelper}), so a
 * remote node works as the local one does and nothing touches the file system of the host Pier runs on.
 * Paths are normalized and confined by {@link VolumePath}; the helper's script never follows a symbolic
 * link, and even one that raced the checks would only reach the helper's own read-only image. Reads and
 * writes are streamed; every change is audited. Thread-safe.
 */
public final class FileService {
    private static final Logger log = LoggerFactory.getLogger(FileService.class);
    private static final String SCRIPT = script();
    /** The most a listing may print: about a million entries. */
    private static final int MAX_LISTING_BYTES = 256 << 20;

    private static final int MAX_STDERR_BYTES = 64 << 10;
    /** What may come before the helper says a read can start (it says so first; this is slack). */
    private static final int MAX_EARLY_BYTES = 4 << 20;

    private static final int CHUNK = 64 << 10;
    /** How long a listing, a move, a mkdir or a delete may take before its helper is removed. */
    static final Duration SHORT_DEADLINE = Duration.ofMinutes(2);

    private final InstanceService instances;
    private final NodeService nodes;
    private final ImageService images;
    private final AuditLog audit;
    private final String helperImage;
    private final Map<String, String> labels;
    private final Map<String, String> warmLabels;
    private final Set<UUID> helperOnNode = ConcurrentHashMap.newKeySet();
    private final SecureRandom random = new SecureRandom();
    private final ScheduledExecutorService deadlines = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "pier-file-deadlines");
        t.setDaemon(true);
        return t;
    });

    /**
     * @param helperImage  the image helpers run ({@code PIER_HELPER_IMAGE}): a shell with find, stat, tar
     * @param installation labels the helpers as this installation's
     */
    public FileService(
            InstanceService instances,
            NodeService nodes,
            ImageService images,
            AuditLog audit,
            String helperImage,
            UUID installation) {
        this.instances = instances;
        this.nodes = nodes;
        this.images = images;
        this.audit = audit;
        this.helperImage = helperImage;
        this.labels = Map.of("pier.installation", installation.toString(), "pier.helper-role", "job");
        this.warmLabels = Map.of("pier.installation", installation.toString(), "pier.helper-role", "warm");
        deadlines.scheduleWithFixedDelay(this::reapGuarded, 15, 15, TimeUnit.SECONDS);
    }

    private void reapGuarded() {
        try {
            reap();
        } catch (RuntimeException e) {
            log.warn("removing idle file helpers failed: {}", e.toString());
        }
    }

    /** One entry of a directory. {@code type} is file, directory, symlink or other; {@code mode} octal. */
    public record Entry(String name, String type, long size, String mode, Instant modified) {}

    /** A directory's entries, directories first, then by name. */
    public List<Entry> list(Principal actor, UUID id, String path) {
        Policy.require(actor, Role.MANAGER, Scope.READ);
        Target t = target(id);
        VolumePath p = VolumePath.parse(path);
        String nonce = nonce();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        run(
                t,
                List.of("list", p.relative(), nonce),
                null,
                -1,
                Sink.collect(out, MAX_LISTING_BYTES),
                SHORT_DEADLINE,
                true);
        String prefix = HelperSpec.MOUNT + (p.root() ? "" : "/" + p.relative()) + "/";
        List<Entry> entries = new ArrayList<>();
        for (String record : out.toString(StandardCharsets.UTF_8).split(nonce + "\n")) {
            if (record.isBlank()) {
                continue;
            }
            entries.add(entry(record, prefix));
        }
        entries.sort(
                Comparator.comparing((Entry e) -> !e.type().equals("directory")).thenComparing(Entry::name));
        return entries;
    }

    /** One line of the helper's listing: {@code TYPE/SIZE/MODE/MTIME/PATH}, the path last (it may hold "/"). */
    private static Entry entry(String record, String prefix) {
        String[] f = record.split("/", 5);
        if (f.length < 5 || !f[4].startsWith(prefix)) {
            throw new PierException.Conflict(Reason.CONFLICT, "the node's helper listed something Pier cannot read");
        }
        String type = switch (f[0]) {
            case "regular file", "regular empty file" -> "file";
            case "directory" -> "directory";
            case "symbolic link" -> "symlink";
            default -> "other";
        };
        return new Entry(
                f[4].substring(prefix.length()),
                type,
                Long.parseLong(f[1]),
                String.format("%04o", Integer.parseInt(f[2], 8)),
                Instant.ofEpochSecond(Long.parseLong(f[3])));
    }

    /** A file being read: its size when the read began, then its bytes, written by {@link #transfer}. */
    public interface Download {
        long size();

        String name();

        /** Writes the file's bytes to {@code out}; the helper ends with it. */
        void transfer(OutputStream out);
    }

    /**
     * Reads a regular file: once the helper has checked it (so that a missing file is a 404 before anything
     * is sent), {@code body} gets it, and streams it with {@link Download#transfer} before it returns.
     */
    public void download(Principal actor, UUID id, String path, Consumer<Download> body) {
        Policy.require(actor, Role.MANAGER, Scope.READ);
        Target t = target(id);
        VolumePath p = VolumePath.parse(path);
        if (p.root()) {
            throw new PierException.Invalid("path names a directory (the volume's root), not a file");
        }
        run(
                t,
                List.of("read", p.relative()),
                null,
                -1,
                new Sink() {
                    @Override
                    void started(String detail, Attachment helper, List<byte[]> early) {
                        long size = parseSize(detail);
                        try {
                            body.accept(download(helper, early, size, p.name()));
                        } finally {
                            helper.close();
                        }
                    }
                },
                null);
    }

    private static Download download(Attachment helper, List<byte[]> early, long size, String name) {
        return new Download() {
            @Override
            public long size() {
                return size;
            }

            @Override
            public String name() {
                return name;
            }

            @Override
            public void transfer(OutputStream out) {
                try {
                    for (byte[] b : early) {
                        out.write(b);
                    }
                    for (Attachment.Chunk c = helper.read(); c != null; c = helper.read()) {
                        if (c.output() == Output.STDOUT) {
                            out.write(c.bytes());
                        }
                    }
                    out.flush();
                } catch (IOException e) {
                    // the client went away: closing the attachment ends the helper
                    throw new UncheckedIOException(e);
                }
            }
        };
    }

    /**
     * Writes {@code length} bytes from {@code in} to a file (made, or replaced as a whole once all of it
     * arrived: an upload cut short leaves the file as it was). The directory it goes in must exist.
     */
    public long upload(Principal actor, UUID id, String path, InputStream in, long length) {
        Policy.require(actor, Role.MANAGER, Scope.WRITE);
        Target t = target(id);
        VolumePath p = VolumePath.parse(path);
        if (p.root()) {
            throw new PierException.Invalid("path must name a file, not the volume's root");
        }
        if (length < 0) {
            throw new PierException.Invalid("an upload needs its length (Content-Length)");
        }
        long limit = (long) t.instance().diskMib() << 20;
        long used = instances.diskUsage(id).map(u -> u.bytes()).orElse(0L);
        if (limit > 0 && used + length > limit) {
            throw new PierException.Invalid(
                    Reason.BODY_TOO_LARGE,
                    "the file (" + length + " bytes) does not fit in the instance's disk limit of "
                            + t.instance().diskMib() + " MiB (" + used + " bytes were in use at the last measure)");
        }
        String detail = audited(
                actor,
                t,
                "upload",
                p.display(),
                () -> run(
                        t,
                        List.of("write", p.relative(), nonce(), Long.toString(length)),
                        in,
                        length,
                        Sink.collect(new ByteArrayOutputStream(), 0),
                        null));
        return parseSize(detail);
    }

    /** Makes a directory and any missing one on the way. */
    public void mkdir(Principal actor, UUID id, String path) {
        Policy.require(actor, Role.MANAGER, Scope.WRITE);
        Target t = target(id);
        VolumePath p = VolumePath.parse(path);
        if (p.root()) {
            throw new PierException.Conflict(Reason.CONFLICT, "the volume's root exists");
        }
        audited(actor, t, "mkdir", p.display(), () -> run(t, List.of("mkdir", p.relative()), SHORT_DEADLINE));
    }

    /** Moves or renames a file or directory; the destination must not exist. */
    public void move(Principal actor, UUID id, String from, String to) {
        Policy.require(actor, Role.MANAGER, Scope.WRITE);
        Target t = target(id);
        VolumePath f = VolumePath.parse(from);
        VolumePath d = VolumePath.parse(to);
        if (f.root() || d.root()) {
            throw new PierException.Invalid("from and to must name something inside the volume, not its root");
        }
        audited(
                actor,
                t,
                "move",
                f.display() + " -> " + d.display(),
                () -> run(t, List.of("move", f.relative(), d.relative()), SHORT_DEADLINE));
    }

    /** Deletes a file, a link (not what it points at) or a directory with everything in it. */
    public void delete(Principal actor, UUID id, String path) {
        Policy.require(actor, Role.MANAGER, Scope.WRITE);
        Target t = target(id);
        VolumePath p = VolumePath.parse(path);
        if (p.root()) {
            throw new PierException.Invalid("the volume's root cannot be deleted; delete what is in it");
        }
        audited(actor, t, "delete", p.display(), () -> run(t, List.of("delete", p.relative()), SHORT_DEADLINE));
    }

    /**
     * For the instance's backups: archives its volume (gzip'd tar) into {@code out}, or replaces the
     * volume's contents with the archive read from {@code in} ({@code length} bytes), or finishes (or drops)
     * a replacement a crash cut short. No authorization here: the caller decided.
     *
     * @param restoreId names the restore's places in the volume, so that {@link Archive#RECOVER} finds them
     * @return for {@link Archive#RECOVER}: "restored" when the new contents were put in place, "kept" when
     *     the old ones were kept
     */
    public String archive(Instance inst, Archive op, String restoreId, InputStream in, long length, OutputStream out) {
        Target t = target(inst.id());
        List<String> args = switch (op) {
            case BACKUP -> List.of("backup");
            case RESTORE -> List.of("restore", restoreId);
            case RECOVER -> List.of("recover", restoreId);
        };
        Sink sink = out == null ? Sink.collect(new ByteArrayOutputStream(), 0) : Sink.to(out);
        return run(t, args, op == Archive.RESTORE ? in : null, length, sink, null);
    }

    /** What {@link #archive} does. */
    public enum Archive {
        BACKUP,
        RESTORE,
        RECOVER
    }

    // ---- running the helper

    /** The instance, its node and volume, checked: it has a volume, is not being deleted, its node answers. */
    private record Target(Instance instance, Node node, ContainerRuntime runtime, String volume) {}

    private Target target(UUID id) {
        Instance inst = instances.require(id);
        if (inst.volume().isEmpty()) {
            throw new PierException.Conflict(
                    Reason.CONFLICT,
                    "instance '" + inst.name() + "' has no data volume (its image keeps no data, or it was deployed "
                            + "before volumes; a reinstall gives it one)");
        }
        if (inst.desiredState() == DesiredState.DELETED) {
            throw new PierException.Conflict(Reason.CONFLICT, "instance '" + inst.name() + "' is being deleted");
        }
        Node node = nodes.require(inst.nodeId());
        return new Target(inst, node, nodes.onlineRuntime(node), inst.volume().get());
    }

    private interface Work {
        String run();
    }

    private String audited(Principal actor, Target t, String op, String what, Work work) {
        String action = "instance.files." + op;
        try {
            String detail = work.run();
            audit.record(actor.actor(), action, t.instance().name(), "success", what);
            return detail;
        } catch (RuntimeException e) {
            audit.record(actor.actor(), action, t.instance().name(), "failure", what + ": " + e.getMessage());
            throw e;
        }
    }

    /** A short operation (mkdir, move, delete): in the volume's warm helper. */
    private String run(Target t, List<String> args, Duration deadline) {
        return run(t, args, null, -1, Sink.collect(new ByteArrayOutputStream(), 0), deadline, true);
    }

    private String run(Target t, List<String> args, InputStream in, long length, Sink sink, Duration deadline) {
        return run(t, args, in, length, sink, deadline, false);
    }

    /**
     * What becomes of the helper's output. {@link #stdout} gets its data, {@link #started} is called once the
     * helper said it succeeded ("pier-ok DETAIL") for a sink that streams (a read) instead of collecting.
     */
    private abstract static class Sink {
        private final ByteArrayOutputStream err = new ByteArrayOutputStream();
        private String outcome;

        void stdout(byte[] bytes) {
            throw new IllegalStateException("this sink streams: see started");
        }

        void started(String detail, Attachment helper, List<byte[]> early) {}

        boolean streams() {
            return true;
        }

        void stderr(byte[] bytes) {
            if (err.size() + bytes.length <= MAX_STDERR_BYTES) {
                err.writeBytes(bytes);
            }
        }

        /** The helper's last word, once it said it: "pier-ok ..." or "pier-err KIND MESSAGE". */
        String outcome() {
            if (outcome == null) {
                String text = err.toString(StandardCharsets.UTF_8);
                int at = text.lastIndexOf("pier-");
                if (at >= 0 && text.indexOf('\n', at) > 0) {
                    outcome = text.substring(at, text.indexOf('\n', at));
                }
            }
            return outcome;
        }

        static Sink to(OutputStream out) {
            return new Sink() {
                @Override
                void stdout(byte[] bytes) {
                    try {
                        out.write(bytes);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }

                @Override
                boolean streams() {
                    return false;
                }
            };
        }

        static Sink collect(ByteArrayOutputStream out, int max) {
            return new Sink() {
                @Override
                void stdout(byte[] bytes) {
                    if (out.size() + bytes.length > max) {
                        throw new PierException.Conflict(
                                Reason.CONFLICT, "the node's helper answered more than Pier reads (" + max + " bytes)");
                    }
                    out.writeBytes(bytes);
                }

                @Override
                boolean streams() {
                    return false;
                }
            };
        }
    }

    /**
     * Runs the helper with {@code args}, feeding it {@code in} (when given), and returns the detail of its
     * "pier-ok"; a "pier-err" is thrown in Pier's words. A streaming sink gets the helper when it said it may
     * go on, and this returns null at once after that.
     */
    /**
     * @param warm run it in the volume's warm helper (an exec: no container to make) rather than in a helper
     *             of its own; for short operations without input
     */
    private String run(
            Target t, List<String> args, InputStream in, long length, Sink sink, Duration deadline, boolean warm) {
        List<String> command = new ArrayList<>(List.of("/bin/sh", "-c", SCRIPT, "pier"));
        command.addAll(args);
        Warm held = null;
        Attachment helper;
        if (warm) {
            held = warmHelper(t, command);
            helper = held.attachment;
        } else {
            helper = start(t, new HelperSpec(helperImage, t.volume(), command, in != null, labels));
        }
        ScheduledFuture<?> timer =
                deadline == null ? null : deadlines.schedule(helper::close, deadline.toMillis(), TimeUnit.MILLISECONDS);
        boolean handedOver = false;
        try {
            Thread feeder = in == null ? null : feed(helper, in, length);
            List<byte[]> early = new ArrayList<>();
            int earlyBytes = 0;
            for (Attachment.Chunk c = helper.read(); c != null; c = helper.read()) {
                if (c.output() == Output.STDERR) {
                    sink.stderr(c.bytes());
                    String outcome = sink.outcome();
                    if (outcome != null && outcome.startsWith("pier-ok") && sink.streams()) {
                        handedOver = true;
                        sink.started(detail(outcome), helper, early);
                        return null;
                    }
                } else if (sink.streams()) {
                    earlyBytes += c.bytes().length;
                    if (earlyBytes > MAX_EARLY_BYTES) {
                        throw new PierException.Conflict(Reason.CONFLICT, "the node's helper did not say how it went");
                    }
                    early.add(c.bytes());
                } else {
                    sink.stdout(c.bytes());
                }
            }
            if (feeder != null) {
                feeder.join(Duration.ofSeconds(5).toMillis());
            }
            if (timer != null && timer.isDone()) {
                throw new PierException.Unavailable("the operation took longer than " + deadline.toMinutes()
                        + " minutes on node '" + t.node().name() + "' and was stopped");
            }
            return outcome(sink.outcome(), t);
        } catch (RuntimeUnavailableException e) {
            nodes.reportUnreachable(t.node(), e);
            throw new PierException.Unavailable("node '" + t.node().name() + "' is unreachable: " + e.getMessage());
        } catch (ContainerRuntimeException e) {
            throw new PierException.Conflict(Reason.CONFLICT, "the node's helper failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PierException.Unavailable("interrupted");
        } finally {
            if (timer != null) {
                timer.cancel(false);
            }
            if (!handedOver) {
                helper.close();
            }
            if (held != null) {
                held.helper.busy.decrementAndGet();
                held.helper.used.set(System.nanoTime());
            }
        }
    }

    // ---- warm helpers: one kept up per volume for short operations, for a while

    /** How long a warm helper without work is kept. */
    static final Duration WARM_IDLE = Duration.ofSeconds(60);
    /** How long a warm helper takes new work; its sleep outlasts that by the longest short operation. */
    static final Duration WARM_LIFE = Duration.ofMinutes(5);

    private static final List<String> WARM_COMMAND = List.of(
            "sleep", Long.toString(WARM_LIFE.plus(SHORT_DEADLINE).plusMinutes(1).toSeconds()));

    private final Map<String, Helper> warm = new ConcurrentHashMap<>();

    /** A warm helper: its container, when it was made and last used, and the commands running in it. */
    private record Helper(
            ContainerRuntime runtime, String containerId, long born, AtomicLong used, AtomicInteger busy) {}

    private record Warm(Helper helper, Attachment attachment) {}

    /**
     * Runs {@code command} in the volume's warm helper, made when there is none (or it is too old to take
     * work: it is left to end by itself). A helper gone meanwhile (reaped, or removed with its volume) is
     * made again, once.
     */
    private Warm warmHelper(Target t, List<String> command) {
        String key = t.node().id() + "/" + t.volume();
        for (int attempt = 1; ; attempt++) {
            Helper h = warm.compute(
                    key,
                    (k, cur) -> cur != null && System.nanoTime() - cur.born() < WARM_LIFE.toNanos()
                            ? cur
                            : withHelperImage(t, () -> {
                                long now = System.nanoTime();
                                String id = t.runtime()
                                        .startHelper(new HelperSpec(
                                                helperImage, t.volume(), WARM_COMMAND, false, warmLabels));
                                return new Helper(t.runtime(), id, now, new AtomicLong(now), new AtomicInteger());
                            }));
            h.busy().incrementAndGet();
            try {
                return new Warm(h, t.runtime().execInHelper(h.containerId(), command));
            } catch (ContainerNotFoundException | RuntimeOperationException gone) {
                h.busy().decrementAndGet();
                warm.remove(key, h);
                if (attempt >= 2) {
                    throw gone;
                }
            } catch (RuntimeException e) {
                h.busy().decrementAndGet();
                throw e;
            }
        }
    }

    /** Removes the warm helpers that had no work for {@link #WARM_IDLE}, and forgets those past their life. */
    private void reap() {
        long now = System.nanoTime();
        for (Map.Entry<String, Helper> e : warm.entrySet()) {
            Helper h = e.getValue();
            boolean idle = h.busy().get() == 0 && now - h.used().get() > WARM_IDLE.toNanos();
            if (idle && warm.remove(e.getKey(), h)) {
                removeQuietly(h);
            } else if (now - h.born() > WARM_LIFE.toNanos()) {
                // it ends by itself once the work it has is done
                warm.remove(e.getKey(), h);
            }
        }
    }

    private static void removeQuietly(Helper h) {
        try {
            h.runtime().remove(h.containerId(), true);
        } catch (RuntimeException e) {
            log.debug("could not remove warm helper {}: {}", h.containerId(), e.toString());
        }
    }

    /** Removes every warm helper (a server stopping). */
    public void close() {
        deadlines.shutdownNow();
        for (Helper h : warm.values()) {
            removeQuietly(h);
        }
        warm.clear();
    }

    /** Starts a helper of its own for one operation. */
    private Attachment start(Target t, HelperSpec spec) {
        return withHelperImage(t, () -> t.runtime().runHelper(spec));
    }

    /** Runs {@code make} (which makes a helper), putting the helper image on the node first when it is not there. */
    private <T> T withHelperImage(Target t, Supplier<T> make) {
        try {
            if (helperOnNode.add(t.node().id())) {
                try {
                    images.ensureOn(t.node(), t.runtime(), helperImage, line -> {});
                } catch (RuntimeException e) {
                    helperOnNode.remove(t.node().id());
                    throw e;
                }
            }
            try {
                return make.get();
            } catch (ImageNotFoundException gone) {
                // removed from the node since: pull it again, once
                images.ensureOn(t.node(), t.runtime(), helperImage, line -> {});
                return make.get();
            }
        } catch (PierException.Invalid e) {
            throw new PierException.Unavailable(
                    "the helper image '" + helperImage + "' (PIER_HELPER_IMAGE) is not on node '"
                            + t.node().name() + "' and cannot be pulled: " + e.getMessage());
        } catch (RuntimeUnavailableException e) {
            nodes.reportUnreachable(t.node(), e);
            throw new PierException.Unavailable("node '" + t.node().name() + "' is unreachable: " + e.getMessage());
        } catch (ContainerRuntimeException e) {
            throw new PierException.Conflict(
                    Reason.CONFLICT, "node '" + t.node().name() + "' refused the file helper: " + e.getMessage());
        }
    }

    /** Copies the upload to the helper's stdin on a thread of its own, then says the input ended. */
    private static Thread feed(Attachment helper, InputStream in, long length) {
        return Thread.ofVirtual().name("pier-file-upload").start(() -> {
            byte[] buf = new byte[CHUNK];
            long left = length;
            try {
                while (left > 0) {
                    int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                    if (n < 0) {
                        break; // cut short: the helper sees fewer bytes than promised and keeps the old file
                    }
                    helper.write(n == buf.length ? buf : Arrays.copyOf(buf, n));
                    left -= n;
                }
                helper.closeInput();
            } catch (IOException | RuntimeException e) {
                log.debug("upload ended early: {}", e.toString());
                try {
                    helper.closeInput();
                } catch (RuntimeException ignored) {
                    // the helper is gone already
                }
            }
        });
    }

    private static String outcome(String outcome, Target t) {
        if (outcome == null) {
            throw new PierException.Conflict(
                    Reason.CONFLICT,
                    "the file helper on node '" + t.node().name() + "' ended without saying how it went");
        }
        if (outcome.startsWith("pier-ok")) {
            return detail(outcome);
        }
        String[] p = outcome.split(" ", 3);
        String kind = p.length > 1 ? p[1] : "";
        String message = p.length > 2 ? p[2] : "failed";
        throw switch (kind) {
            case "missing" -> new PierException.NotFound(message);
            case "exists", "short", "inside", "io" -> new PierException.Conflict(Reason.CONFLICT, message);
            case "link" -> new PierException.Invalid(message + "; Pier never follows symbolic links");
            case "corrupt" -> new PierException.Unprocessable(Reason.INVALID_FIELD, message);
            default -> new PierException.Invalid(message);
        };
    }

    private static String detail(String outcome) {
        return outcome.length() > "pier-ok".length() ? outcome.substring("pier-ok ".length()) : "";
    }

    private static long parseSize(String detail) {
        try {
            return Long.parseLong(detail.strip());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private String nonce() {
        byte[] b = new byte[16];
        random.nextBytes(b);
        return "#" + HexFormat.of().formatHex(b);
    }

    private static String script() {
        try (InputStream in = FileService.class.getResourceAsStream("helper.sh")) {
            if (in == null) {
                throw new IllegalStateException("helper.sh is missing from the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
