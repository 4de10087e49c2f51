package dev.pier;

import dev.pier.audit.AuditLog;
import dev.pier.auth.AuthService;
import dev.pier.auth.LoginGuard;
import dev.pier.auth.PasswordAuth;
import dev.pier.auth.Passwords;
import dev.pier.backups.BackupService;
import dev.pier.config.Config;
import dev.pier.config.ConfigException;
import dev.pier.crypto.MasterKey;
import dev.pier.crypto.SecretBox;
import dev.pier.db.ChangeFeed;
import dev.pier.db.Database;
import dev.pier.db.DatabaseHealth;
import dev.pier.db.Installation;
import dev.pier.files.FileService;
import dev.pier.http.Authenticator;
import dev.pier.http.Idempotency;
import dev.pier.images.ImageService;
import dev.pier.instances.Containers;
import dev.pier.instances.DiskLimits;
import dev.pier.instances.InstanceLocks;
import dev.pier.instances.InstanceService;
import dev.pier.instances.InstanceStore;
import dev.pier.instances.Placement;
import dev.pier.instances.Reconciler;
import dev.pier.keys.ApiKeyService;
import dev.pier.live.ConsoleTickets;
import dev.pier.live.EventFeed;
import dev.pier.live.LogService;
import dev.pier.live.StatsService;
import dev.pier.live.StreamGuard;
import dev.pier.nodes.NodeService;
import dev.pier.runtime.DockerRuntime;
import dev.pier.runtime.EngineAddressPolicy;
import dev.pier.users.UserService;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.time.Clock;

/**
 * The composition root: builds every service of one process from its configuration, with {@code new}.
 * Both {@code pier serve} and the CLI commands start here.
 */
public final class Core implements AutoCloseable {
    public final Config config;
    public final Clock clock;
    public final Database db;
    public final DatabaseHealth dbHealth;
    public final ChangeFeed changes;
    public final AuditLog audit;
    public final UserService users;
    public final LoginGuard loginGuard;
    public final AuthService auth;
    public final Passwords passwords;
    public final PasswordAuth passwordAuth;
    public final ApiKeyService keys;
    public final Authenticator authenticator;
    public final NodeService nodes;
    public final ImageService images;
    public final InstanceService instances;
    public final Reconciler reconciler;
    public final PrometheusMeterRegistry metrics;
    public final Idempotency idempotency;
    public final EventFeed events;
    public final StreamGuard streams;
    public final LogService logs;
    public final StatsService stats;
    public final ConsoleTickets tickets;
    public final FileService files;
    public final DiskLimits disks;
    public final BackupService backups;

    private Core(Config config, Clock clock, int poolSize, NodeService.RuntimeFactory runtimes) {
        this.config = config;
        this.clock = clock;
        MasterKey masterKey = MasterKey.load(
                config.dataDir(), config.masterKey(), !config.embedded() || !Database.embeddedExists(config.dataDir()));
        SecretBox box = new SecretBox(masterKey);
        this.metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Database opened = null;
        java.util.UUID installation;
        try {
            opened = Database.open(config, masterKey, poolSize);
            installation = Installation.open(opened.jdbi(), masterKey);
        } catch (RuntimeException e) {
            if (opened != null) {
                opened.close();
            }
            if (e instanceof ConfigException) {
                masterKey.discardIfCreated(); // a key that opens nothing is not kept
            }
            throw e;
        }
        this.db = opened;
        this.dbHealth = new DatabaseHealth(clock);
        this.changes = new ChangeFeed(db.jdbi(), dbHealth);
        this.audit = new AuditLog(db.jdbi(), clock);
        this.users = new UserService(db.jdbi(), box, audit, changes, clock);
        this.loginGuard = new LoginGuard(db.jdbi(), clock);
        this.passwords = new Passwords();
        this.auth = new AuthService(db.jdbi(), users, loginGuard, audit, changes, clock, config, passwords, metrics);
        this.passwordAuth = new PasswordAuth(db.jdbi(), users, passwords, loginGuard, audit, metrics, clock);
        this.keys = new ApiKeyService(
                db.jdbi(), users, audit, changes, clock, config.maxKeysPerUser(), config.maxKeyLifetime());
        this.authenticator = new Authenticator(auth, keys, passwordAuth);
        this.nodes = new NodeService(
                db.jdbi(),
                box,
                audit,
                changes,
                clock,
                runtimes,
                EngineAddressPolicy.of(config.allowedSockets(), config.allowPlainTcp()));
        this.images = new ImageService(db.jdbi(), nodes, audit, clock);
        InstanceStore instanceStore = new InstanceStore(db.jdbi(), changes, clock);
        InstanceLocks instanceLocks = new InstanceLocks();
        Containers containers = new Containers(instanceStore, installation, config.logMaxMib() * 1024L * 1024L);
        this.disks = new DiskLimits(instanceStore, instanceLocks, nodes, Clock.systemUTC());
        this.instances = new InstanceService(
                instanceStore,
                instanceLocks,
                new Placement(nodes, instanceStore, config.port()),
                containers,
                nodes,
                images,
                users,
                audit,
                disks);
        // restarts are timed against the containers' real runs, never a clock a test moves
        this.reconciler = new Reconciler(
                instanceStore,
                instanceLocks,
                containers,
                nodes,
                Clock.systemUTC(),
                new Reconciler.EventRetention(config.eventsMaxAge(), config.eventsPerInstance()),
                config.volumeGrace(),
                metrics);
        this.idempotency = new Idempotency(db.jdbi(), box, clock);
        this.events = new EventFeed(instances, nodes, changes, clock);
        this.streams = new StreamGuard(authenticator, instances, changes, clock);
        this.logs = new LogService(instances, nodes, events);
        this.stats = new StatsService(instances, nodes, clock, metrics);
        this.tickets = new ConsoleTickets(db.jdbi(), authenticator, audit, clock);
        this.files = new FileService(instances, nodes, images, audit, config.helperImage(), installation);
        // backups are ordered (and pruned) by when they were made: the real time, never a clock a test moves
        this.backups = new BackupService(
                db.jdbi(),
                instances,
                nodes,
                files,
                audit,
                Clock.systemUTC(),
                config.backupStore(),
                config.backupsKept());
        instances.seedFrom(backups);
    }

    /** Everything a server needs; caches follow changes made by other processes. See {@link #startReconciler()}. */
    public static Core forServer(Config config, Clock clock) {
        return forServer(config, clock, DockerRuntime::connect);
    }

    /** A server whose nodes are reached through {@code runtimes} (tests wrap Docker with fault hooks). */
    public static Core forServer(Config config, Clock clock, NodeService.RuntimeFactory runtimes) {
        Core core = new Core(config, clock, 16, runtimes);
        core.changes.start(config.cachePoll());
        core.nodes.ensureLocal(config.dataDir(), config.dockerHost());
        core.backups.failUnfinished();
        return core;
    }

    /**
     * Starts the node checks and reconcile passes. A server calls it once it listens: the first check
     * loads the whole Docker client, which on a small machine would otherwise compete with the start
     * of the HTTP server for the same cores.
     */
    public void startReconciler() {
        reconciler.start(config.nodeCheck().toMillis(), config.reconcile().toMillis());
        events.start();
        backups.start();
        disks.start();
    }

    /** A short-lived CLI process: a small pool, no background work, no call to any Docker engine. */
    public static Core forCli(Config config) {
        Core core = new Core(config, Clock.systemUTC(), 2, DockerRuntime::connect);
        core.nodes.ensureLocal(config.dataDir(), config.dockerHost());
        return core;
    }

    /** A CLI process for node, image and instance commands: like {@link #forCli}, then pings every node once. */
    public static Core forCliWithNodes(Config config) {
        Core core = forCli(config);
        core.nodes.checkAll();
        return core;
    }

    @Override
    public void close() {
        streams.close();
        logs.close();
        stats.close();
        events.close();
        backups.close();
        disks.close();
        files.close();
        reconciler.close();
        nodes.close();
        changes.close();
        db.close();
    }
}
