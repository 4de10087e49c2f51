package dev.pier.backups;

import dev.pier.audit.AuditLog;
import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.files.FileService;
import dev.pier.instances.DesiredState;
import dev.pier.instances.Instance;
import dev.pier.instances.InstanceService;
import dev.pier.instances.ObservedState;
import dev.pier.nodes.Node;
import dev.pier.nodes.NodeService;
import dev.pier.runtime.ContainerRuntime;
import dev.pier.security.Policy;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.security.Scope;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Backups of instances' volumes and their restores. A backup is recorded (pending) and answered at once;
 * a worker copies the volume through a helper container ({@link FileService#archive}) into the backup
 * store as {@code <id>.tar.gz.part}, with the instance paused for the copy unless the caller asked for a
 * live one, checks the file's SHA-256 against what was streamed, and renames it into place; only then is
 * the backup completed. A restore checks the file's checksum before anything is touched, stops the
 * instance, unpacks the archive beside the old data and swaps it in, and starts the instance again if it
 * ran; a failure at any step leaves the instance's data as it was. A process that stops in the middle
 * leaves nothing stuck: at the next start an unfinished backup ends failed, and an unfinished restore is
 * finished or undone in the volume and the instance wants again what it wanted. Thread-safe.
 */
public final class BackupService implements InstanceService.Seeder {
    private static final Logger log = LoggerFactory.getLogger(BackupService.class);
    /** Backups copying at once, over every node: each is a helper streaming a whole volume. */
    private static final int PARALLEL = 2;

    private final Jdbi jdbi;
    private final InstanceService instances;
    private final NodeService nodes;
    private final FileService files;
    private final AuditLog audit;
    private final Clock clock;
    private final Path store;
    private final int keep;
    private final ExecutorService work = Executors.newVirtualThreadPerTaskExecutor();
    private final Semaphore copying = new Semaphore(PARALLEL);
    /** When this process began: restores that began before it were cut short by a stop. */
    private final Instant startedAt;

    private final ScheduledExecutorService recovery = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "pier-restore-recovery");
        t.setDaemon(true);
        return t;
    });

    /**
     * @param store where backups are kept ({@code PIER_BACKUP_DIR})
     * @param keep  how many completed backups of one instance are kept, the newest ({@code PIER_BACKUPS_KEEP})
     */
    public BackupService(
            Jdbi jdbi,
            InstanceService instances,
            NodeService nodes,
            FileService files,
            AuditLog audit,
            Clock clock,
            Path store,
            int keep) {
        this.jdbi = jdbi;
        this.instances = instances;
        this.nodes = nodes;
        this.files = files;
        this.audit = audit;
        this.clock = clock;
        this.store = store;
        this.keep = keep;
        this.startedAt = now();
    }

    // ---- backups

    /** Records a backup of the instance's volume and starts it; answers while it is pending. */
    public Backup create(Principal actor, UUID instanceId, String note, boolean live) {
        Policy.require(actor, Role.MANAGER, Scope.WRITE);
        Instance inst = instances.require(instanceId);
        if (inst.volume().isEmpty()) {
            throw new PierException.Conflict(
                    Reason.CONFLICT, "instance '" + inst.name() + "' has no data volume to back up");
        }
        if (note != null && (note.length() > 255 || note.chars().anyMatch(c -> c < 0x20 && c != '\t'))) {
            throw new PierException.Invalid("note must be at most 255 characters without control characters");
        }
        if (inst.desiredState() == DesiredState.DELETED) {
            throw new PierException.Conflict(Reason.CONFLICT, "instance '" + inst.name() + "' is being deleted");
        }
        nodes.onlineRuntime(nodes.require(inst.nodeId()));
        UUID id = UUID.randomUUID();
        jdbi.useHandle(
                h -> h.attach(BackupDao.class).insert(id, inst.id(), inst.name(), inst.nodeId(), live, note, now()));
        audit.record(actor.actor(), "backup.create", inst.name(), "recorded", id.toString());
        work.submit(() -> runGuarded(actor, id));
        return require(id);
    }

    private void runGuarded(Principal actor, UUID id) {
        try {
            copying.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        try {
            copy(actor, id);
        } catch (RuntimeException | Error e) {
            log.warn("backup {} failed", id, e);
            fail(id, "failed inside Pier: " + e);
        } finally {
            copying.release();
        }
    }

    /** Copies the volume into the store; the backup ends completed or failed. */
    private void copy(Principal actor, UUID id) {
        if (jdbi.withHandle(h -> h.attach(BackupDao.class).running(id)) == 0) {
            return; // deleted (or failed by a restart) before it began
        }
        Backup b = require(id);
        Path part = part(id);
        try {
            Files.createDirectories(store);
            Hashed written = instances.holding(b.instanceId(), () -> {
                Instance inst = instances.require(b.instanceId());
                ContainerRuntime runtime = nodes.onlineRuntime(nodes.require(inst.nodeId()));
                // the copy is consistent when nothing writes meanwhile: the processes are frozen, not stopped
                boolean pause = !b.live()
                        && inst.observedState() == ObservedState.RUNNING
                        && inst.containerId().isPresent();
                if (pause) {
                    runtime.pause(inst.containerId().get());
                }
                try (OutputStream file = Files.newOutputStream(part);
                        HashingOutput out = new HashingOutput(new BufferedOutputStream(file, 1 << 16))) {
                    files.archive(inst, FileService.Archive.BACKUP, null, null, -1, out);
                    out.flush();
                    return out.hashed();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                } finally {
                    if (pause) {
                        runtime.unpause(inst.containerId().get());
                    }
                }
            });
            force(part);
            // what is on the disk is what came from the node
            Hashed read = hash(part);
            if (!read.equals(written)) {
                throw new IOException("the file written (" + read.size() + " bytes) differs from what the node sent ("
                        + written.size() + " bytes)");
            }
            Files.move(part, file(id), StandardCopyOption.ATOMIC_MOVE);
            force(store);
            jdbi.useHandle(h -> h.attach(BackupDao.class).completed(id, written.size(), written.sha256(), now()));
            audit.record(
                    actor.actor(), "backup.create", b.instanceName(), "success", id + " " + written.size() + " bytes");
            log.info("backup {} of {} completed: {} bytes", id, b.instanceName(), written.size());
            prune(b.instanceId());
        } catch (IOException | UncheckedIOException e) {
            fail(id, "the backup store could not take it: " + e.getMessage());
            audit.record(actor.actor(), "backup.create", b.instanceName(), "failure", e.getMessage());
        } catch (PierException e) {
            fail(id, e.getMessage());
            audit.record(actor.actor(), "backup.create", b.instanceName(), "failure", e.getMessage());
        } finally {
            deleteQuietly(part);
        }
    }

    private void fail(UUID id, String why) {
        String error = why.length() > 1000 ? why.substring(0, 1000) : why;
        jdbi.useHandle(h -> h.attach(BackupDao.class).failed(id, error, now()));
    }

    /** Keeps the newest {@code keep} completed backups of the instance; older ones go. */
    private void prune(UUID instanceId) {
        List<BackupRow> done = jdbi.withHandle(h -> h.attach(BackupDao.class).listByInstance(instanceId)).stream()
                .filter(r -> r.state().equals("completed"))
                .toList();
        for (int i = 0; i < done.size() - keep; i++) {
            UUID old = done.get(i).id();
            deleteQuietly(file(old));
            jdbi.useHandle(h -> h.attach(BackupDao.class).delete(old));
            log.info(
                    "backup {} of {} removed: more than {} are kept",
                    old,
                    done.get(i).instanceName(),
                    keep);
        }
    }

    public List<Backup> list(Principal actor, UUID instanceId) {
        Policy.require(actor, Role.MANAGER, Scope.READ);
        return jdbi.withHandle(h -> h.attach(BackupDao.class).listByInstance(instanceId)).stream()
                .map(BackupRow::toBackup)
                .toList();
    }

    public List<Backup> all(Principal actor) {
        Policy.require(actor, Role.MANAGER, Scope.READ);
        return jdbi.withHandle(h -> h.attach(BackupDao.class).listAll()).stream()
                .map(BackupRow::toBackup)
                .toList();
    }

    public Backup get(Principal actor, UUID id) {
        Policy.require(actor, Role.MANAGER, Scope.READ);
        return require(id);
    }

    private Backup require(UUID id) {
        return jdbi.withHandle(h -> h.attach(BackupDao.class).find(id))
                .map(BackupRow::toBackup)
                .orElseThrow(() -> new PierException.NotFound("backup " + id + " not found"));
    }

    /** The archive of a completed backup, to stream to a client; the caller closes it. */
    public InputStream open(Principal actor, UUID id) {
        Policy.require(actor, Role.MANAGER, Scope.READ);
        Backup b = completed(id);
        try {
            return Files.newInputStream(file(b.id()));
        } catch (IOException e) {
            throw new PierException.Conflict(
                    Reason.CONFLICT, "backup " + id + " is not in the backup store: " + e.getMessage());
        }
    }

    /** Deletes a backup that is not being made, and its file. */
    public void delete(Principal actor, UUID id) {
        Policy.require(actor, Role.MANAGER, Scope.WRITE);
        Backup b = require(id);
        if (b.state() == Backup.State.RUNNING) {
            throw new PierException.Conflict(
                    Reason.CONFLICT, "backup " + id + " is being made; delete it when it ended");
        }
        int n = jdbi.withHandle(h -> h.attach(BackupDao.class).delete(id));
        deleteQuietly(file(id));
        if (n > 0) {
            audit.record(actor.actor(), "backup.delete", b.instanceName(), "success", id.toString());
        }
    }

    // ---- restores

    /**
     * Replaces the instance's data with the backup's (a backup of this instance or of another). The
     * archive's checksum is checked first; the instance is stopped for the swap and started again if it
     * ran. Answers when it is done.
     */
    public Instance restore(Principal actor, UUID instanceId, UUID backupId) {
        Policy.require(actor, Role.MANAGER, Scope.WRITE);
        Backup b = completed(backupId);
        Instance inst = instances.require(instanceId);
        if (inst.volume().isEmpty()) {
            throw new PierException.Conflict(Reason.CONFLICT, "instance '" + inst.name() + "' has no data volume");
        }
        verify(b);
        nodes.onlineRuntime(nodes.require(inst.nodeId()));
        return instances.holding(instanceId, () -> {
            Instance cur = instances.require(instanceId);
            DesiredState before = cur.desiredState();
            if (before == DesiredState.DELETED) {
                throw new PierException.Conflict(Reason.CONFLICT, "instance '" + cur.name() + "' is being deleted");
            }
            if (jdbi.withHandle(
                            h -> h.attach(BackupDao.class).restoreStarted(backupId, instanceId, before.wire(), now()))
                    == 0) {
                throw new PierException.Conflict(Reason.CONFLICT, "a restore from backup " + backupId + " is running");
            }
            try {
                if (cur.observedState() != ObservedState.STOPPED || before == DesiredState.RUNNING) {
                    instances.act(actor, instanceId, InstanceService.Action.STOP);
                }
                unpack(cur, b);
                audit.record(actor.actor(), "backup.restore", cur.name(), "success", backupId.toString());
            } catch (RuntimeException e) {
                audit.record(actor.actor(), "backup.restore", cur.name(), "failure", e.getMessage());
                throw e;
            } finally {
                instances.setDesired(instanceId, before);
                jdbi.useHandle(h -> h.attach(BackupDao.class).restoreEnded(backupId));
                if (before == DesiredState.RUNNING && !cur.suspended()) {
                    try {
                        instances.act(actor, instanceId, InstanceService.Action.START);
                    } catch (PierException e) {
                        // the reconciler starts it once it can: it wants to run again
                        log.warn("restore into {}: could not start it again: {}", cur.name(), e.getMessage());
                    }
                }
            }
            return instances.require(instanceId);
        });
    }

    /** Streams the archive into the instance's volume; a corrupt archive marks the backup failed. */
    private void unpack(Instance inst, Backup b) {
        long size = b.size().orElseThrow();
        try (InputStream in = Files.newInputStream(file(b.id()))) {
            files.archive(inst, FileService.Archive.RESTORE, b.id().toString(), in, size, null);
        } catch (IOException e) {
            throw new PierException.Conflict(Reason.CONFLICT, "the backup store could not read it: " + e.getMessage());
        } catch (PierException.Unprocessable corrupt) {
            fail(b.id(), corrupt.getMessage());
            throw corrupt;
        }
    }

    /** Waits until the backup is completed or failed (the CLI waits for its own backups); returns it then. */
    public Backup await(UUID id, Duration atMost) {
        long until = System.nanoTime() + atMost.toNanos();
        while (true) {
            Backup b = require(id);
            if (b.state() == Backup.State.COMPLETED || b.state() == Backup.State.FAILED) {
                return b;
            }
            if (System.nanoTime() > until) {
                return b;
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return require(id);
            }
        }
    }

    /** Refuses a backup whose file is not what was written (422; the backup is marked failed). */
    private void verify(Backup b) {
        Hashed found;
        try {
            found = hash(file(b.id()));
        } catch (IOException e) {
            throw new PierException.Conflict(
                    Reason.CONFLICT, "backup " + b.id() + " is not in the backup store: " + e.getMessage());
        }
        if (!found.sha256().equals(b.sha256().orElse(""))
                || found.size() != b.size().orElse(-1L)) {
            String why = "the archive's checksum does not match: it changed in the backup store since it was made";
            fail(b.id(), why);
            throw new PierException.Unprocessable(Reason.INVALID_FIELD, why + "; nothing was touched");
        }
    }

    private Backup completed(UUID id) {
        Backup b = require(id);
        if (b.state() != Backup.State.COMPLETED) {
            throw new PierException.Conflict(
                    Reason.CONFLICT, "backup " + id + " is " + b.state().wire() + ", not completed");
        }
        return b;
    }

    @Override
    public void check(Principal actor, UUID backupId) {
        Policy.require(actor, Role.MANAGER, Scope.READ);
        Backup b;
        try {
            b = completed(backupId);
        } catch (PierException.NotFound | PierException.Conflict e) {
            throw new PierException.Invalid("from_backup: " + e.getMessage());
        }
        verify(b);
    }

    @Override
    public void seed(Principal actor, UUID backupId, Instance inst) {
        Backup b = completed(backupId);
        unpack(inst, b);
        audit.record(actor.actor(), "backup.restore", inst.name(), "success", backupId + " into a new instance");
    }

    // ---- after a restart

    /**
     * For a server, before it answers anything: the backups a stopped process left unfinished fail (their
     * partial files go), so that no client ever sees one stuck in running.
     */
    public void failUnfinished() {
        for (BackupRow r : jdbi.withHandle(h -> h.attach(BackupDao.class).unfinished())) {
            fail(r.id(), "Pier stopped while the backup was being made");
            deleteQuietly(part(r.id()));
            log.info("backup {} of {} failed: Pier stopped while it was being made", r.id(), r.instanceName());
        }
    }

    /**
     * For a server, once its nodes are being checked: the restores a stopped process left unfinished are
     * finished or undone in their volumes, and their instances want again what they wanted, as soon as their
     * nodes answer (looked at every few seconds).
     */
    public void start() {
        recovery.scheduleWithFixedDelay(
                () -> {
                    try {
                        recoverRestores();
                    } catch (RuntimeException e) {
                        log.warn("finishing restores cut short failed: {}", e.toString());
                    }
                },
                0,
                5,
                TimeUnit.SECONDS);
    }

    /** Finishes or undoes the restores a stopped process left, on nodes that answer; returns how many are left. */
    int recoverRestores() {
        // a restore that began since this process started is this process's own or a live CLI's
        List<BackupRow> left = jdbi.withHandle(h -> h.attach(BackupDao.class).restoringSince(startedAt));
        int remaining = 0;
        for (BackupRow r : left) {
            remaining++;
            UUID target = r.restoreInto();
            Optional<Instance> inst = instances.find(target);
            try {
                if (inst.isPresent() && inst.get().volume().isPresent()) {
                    Node node = nodes.require(inst.get().nodeId());
                    if (!nodes.isOnline(node)) {
                        continue;
                    }
                    String outcome =
                            files.archive(inst.get(), FileService.Archive.RECOVER, r.id().toString(), null, -1, null);
                    instances.setDesired(target, DesiredState.parse(r.restoreDesired()));
                    log.info(
                            "restore of backup {} into {} was cut short by a stop; the volume was {}",
                            r.id(),
                            inst.get().name(),
                            outcome.equals("restored") ? "finished with the backup's data" : "left with its old data");
                }
                jdbi.useHandle(h -> h.attach(BackupDao.class).restoreEnded(r.id()));
                remaining--;
            } catch (RuntimeException e) {
                log.warn("could not finish the restore of backup {} into {}: {}", r.id(), target, e.getMessage());
            }
        }
        return remaining;
    }

    /** Stops the workers (a backup in progress is failed by the next start's {@link #start}). */
    public void close() {
        recovery.shutdownNow();
        work.shutdownNow();
        try {
            work.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- the store

    private Path file(UUID id) {
        return store.resolve(id + ".tar.gz");
    }

    private Path part(UUID id) {
        return store.resolve(id + ".tar.gz.part");
    }

    private static void force(Path p) throws IOException {
        try (FileChannel c = FileChannel.open(p, StandardOpenOption.READ)) {
            c.force(true);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            log.warn("could not delete {}: {}", p.getFileName(), e.getMessage());
        }
    }

    private record Hashed(long size, String sha256) {}

    private static Hashed hash(Path p) throws IOException {
        MessageDigest md = sha256();
        long size = 0;
        try (InputStream in = new DigestInputStream(Files.newInputStream(p), md)) {
            byte[] buf = new byte[1 << 16];
            for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
                size += n;
            }
        }
        return new Hashed(size, HexFormat.of().formatHex(md.digest()));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Counts and hashes what passes through. */
    private static final class HashingOutput extends FilterOutputStream {
        private final MessageDigest md = sha256();
        private long size;

        HashingOutput(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            md.update((byte) b);
            size++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            md.update(b, off, len);
            size += len;
        }

        Hashed hashed() {
            return new Hashed(size, HexFormat.of().formatHex(md.digest()));
        }
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }
}
