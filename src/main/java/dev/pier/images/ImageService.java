package dev.pier.images;

import dev.pier.audit.AuditLog;
import dev.pier.db.ChangeFeed;
import dev.pier.db.Topic;
import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.instances.Validation;
import dev.pier.nodes.Node;
import dev.pier.nodes.NodeService;
import dev.pier.runtime.ContainerRuntime;
import dev.pier.runtime.ContainerRuntimeException;
import dev.pier.runtime.ImageReference;
import dev.pier.runtime.RuntimeUnavailableException;
import dev.pier.security.Policy;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.security.Scope;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Images (templates): an admin registers a Docker reference with default command, ports and variables.
 * A reference must be on a node or pullable; pulls report progress to the log (and to a caller's
 * consumer, e.g. the CLI). Thread-safe.
 */
public final class ImageService {
    private static final Logger log = LoggerFactory.getLogger(ImageService.class);
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    private final Jdbi jdbi;
    private final NodeService nodes;
    private final AuditLog audit;
    private final Clock clock;

    public ImageService(Jdbi jdbi, NodeService nodes, AuditLog audit, Clock clock) {
        this.jdbi = jdbi;
        this.nodes = nodes;
        this.audit = audit;
        this.clock = clock;
    }

    /** Where an image's instances keep their data unless it says otherwise. */
    public static final String DEFAULT_DATA_PATH = "/data";

    /**
     * A new image, or the full new state of one on update; null lists and maps mean empty, a null flag false
     * (on update: the current value).
     *
     * @param dataPath where its instances keep their data; null for {@value #DEFAULT_DATA_PATH} (on update: the
     *                 current value), empty for none (its instances get no volume)
     */
    public record Spec(
            String name,
            String reference,
            String description,
            List<String> command,
            List<Integer> ports,
            Map<String, String> variables,
            Boolean isDefault,
            Boolean stdin,
            String dataPath) {}

    public Image create(Principal actor, Spec spec, Consumer<String> progress) {
        Policy.require(actor, Role.ADMIN, Scope.WRITE);
        Spec s = validate(spec);
        ensureAvailable(s.reference(), progress);
        UUID id = UUID.randomUUID();
        try {
            jdbi.useTransaction(h -> {
                ChangeFeed.bump(h, Topic.IMAGES);
                ImageDao dao = h.attach(ImageDao.class);
                if (dao.findByName(s.name()).isPresent()) {
                    throw new PierException.Conflict(Reason.CONFLICT, "an image named '" + s.name() + "' exists");
                }
                boolean makeDefault =
                        Boolean.TRUE.equals(s.isDefault()) || dao.findDefault().isEmpty();
                if (makeDefault) {
                    dao.clearDefault();
                }
                dao.insert(
                        id,
                        s.name(),
                        s.reference(),
                        s.description(),
                        s.command(),
                        s.ports(),
                        s.variables(),
                        makeDefault ? 1 : null,
                        Boolean.TRUE.equals(s.stdin()),
                        s.dataPath().isEmpty() ? null : s.dataPath(),
                        now());
                audit.record(h, actor.actor(), "image.create", s.name(), "success", s.reference());
            });
        } catch (UnableToExecuteStatementException e) {
            throw new PierException.Conflict(Reason.CONFLICT, "an image named '" + s.name() + "' exists");
        }
        return require(id);
    }

    /** Replaces the fields given (null keeps the current value). */
    public Image update(Principal actor, UUID id, Spec patch, Consumer<String> progress) {
        Policy.require(actor, Role.ADMIN, Scope.WRITE);
        Image cur = require(id);
        Spec merged = validate(new Spec(
                patch.name() != null ? patch.name() : cur.name(),
                patch.reference() != null ? patch.reference() : cur.reference(),
                patch.description() != null ? patch.description() : cur.description(),
                patch.command() != null ? patch.command() : cur.command(),
                patch.ports() != null ? patch.ports() : cur.ports(),
                patch.variables() != null ? patch.variables() : cur.variables(),
                patch.isDefault() != null ? patch.isDefault() : cur.isDefault(),
                patch.stdin() != null ? patch.stdin() : cur.stdin(),
                patch.dataPath() != null ? patch.dataPath() : cur.dataPath().orElse("")));
        if (!merged.reference().equals(cur.reference())) {
            ensureAvailable(merged.reference(), progress);
        }
        try {
            jdbi.useTransaction(h -> {
                ChangeFeed.bump(h, Topic.IMAGES);
                ImageDao dao = h.attach(ImageDao.class);
                Optional<ImageRow> sameName = dao.findByName(merged.name());
                if (sameName.isPresent() && !sameName.get().id().equals(id)) {
                    throw new PierException.Conflict(Reason.CONFLICT, "an image named '" + merged.name() + "' exists");
                }
                boolean makeDefault = Boolean.TRUE.equals(merged.isDefault());
                if (makeDefault && !cur.isDefault()) {
                    dao.clearDefault();
                }
                dao.update(
                        id,
                        merged.name(),
                        merged.reference(),
                        merged.description(),
                        merged.command(),
                        merged.ports(),
                        merged.variables(),
                        makeDefault ? 1 : null,
                        Boolean.TRUE.equals(merged.stdin()),
                        merged.dataPath().isEmpty() ? null : merged.dataPath(),
                        now());
                audit.record(h, actor.actor(), "image.update", merged.name(), "success", merged.reference());
            });
        } catch (UnableToExecuteStatementException e) {
            throw new PierException.Conflict(Reason.CONFLICT, "an image named '" + merged.name() + "' exists");
        }
        return require(id);
    }

    public void delete(Principal actor, UUID id) {
        Policy.require(actor, Role.ADMIN, Scope.WRITE);
        Image img = require(id);
        jdbi.useTransaction(h -> {
            ChangeFeed.bump(h, Topic.IMAGES);
            h.attach(ImageDao.class).delete(id);
            audit.record(h, actor.actor(), "image.delete", img.name(), "success", img.reference());
        });
    }

    public List<Image> list() {
        return jdbi.withHandle(h -> h.attach(ImageDao.class).listAll().stream()
                .map(ImageService::toImage)
                .toList());
    }

    public Image require(UUID id) {
        return jdbi.withHandle(h -> h.attach(ImageDao.class).findById(id))
                .map(ImageService::toImage)
                .orElseThrow(() -> new PierException.NotFound("image " + id + " not found"));
    }

    /** By id, name or Docker reference. */
    public Optional<Image> resolve(String idNameOrReference) {
        if (idNameOrReference == null || idNameOrReference.isBlank()) {
            return Optional.empty();
        }
        String s = idNameOrReference.strip();
        return jdbi.withHandle(h -> {
                    ImageDao dao = h.attach(ImageDao.class);
                    try {
                        Optional<ImageRow> byId = dao.findById(UUID.fromString(s));
                        if (byId.isPresent()) {
                            return byId;
                        }
                    } catch (IllegalArgumentException notUuid) {
                        // fall through to name and reference
                    }
                    return dao.findByName(s)
                            .or(() -> dao.findByReference(s).stream().findFirst());
                })
                .map(ImageService::toImage);
    }

    public Optional<Image> defaultImage() {
        return jdbi.withHandle(h -> h.attach(ImageDao.class).findDefault()).map(ImageService::toImage);
    }

    /**
     * Makes sure a reference is on the node, pulling it when it is not.
     *
     * @throws PierException.Invalid when it is neither there nor pullable
     */
    public void ensureOn(Node node, ContainerRuntime runtime, String reference, Consumer<String> progress) {
        if (runtime.imageExists(reference)) {
            return;
        }
        log.info("pulling {} on node '{}'", reference, node.name());
        try {
            runtime.pullImage(reference, line -> {
                log.info("pull {} on {}: {}", reference, node.name(), line);
                progress.accept(line);
            });
        } catch (RuntimeUnavailableException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            // a reference stored before references were checked by Docker's grammar
            throw new PierException.Invalid("image '" + reference + "' cannot be pulled: " + e.getMessage());
        } catch (ContainerRuntimeException e) {
            throw new PierException.Invalid("image '" + reference + "' is not on node '" + node.name()
                    + "' and could not be pulled: " + e.getMessage());
        }
    }

    /** At creation: the reference must be on, or pullable by, at least one online node. */
    private void ensureAvailable(String reference, Consumer<String> progress) {
        List<String> failures = new ArrayList<>();
        boolean anyOnline = false;
        for (Node n : nodes.list()) {
            if (!nodes.isOnline(n)) {
                continue;
            }
            anyOnline = true;
            try {
                ensureOn(n, nodes.runtime(n), reference, progress);
                return;
            } catch (PierException.Invalid | RuntimeUnavailableException e) {
                failures.add(e.getMessage());
            }
        }
        if (!anyOnline) {
            throw new PierException.Unavailable("no node is online to check image '" + reference + "'");
        }
        throw new PierException.Invalid(String.join("; ", failures));
    }

    private static Spec validate(Spec s) {
        if (s.name() == null || !NAME.matcher(s.name()).matches()) {
            throw new PierException.Invalid(
                    "name must be 1-64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit");
        }
        if (s.reference() == null) {
            throw new PierException.Invalid("reference is required: a Docker image reference such as debian:12");
        }
        try {
            ImageReference.parse(s.reference());
        } catch (IllegalArgumentException e) {
            throw new PierException.Invalid("reference: " + e.getMessage());
        }
        String description = s.description() == null ? "" : s.description();
        if (description.length() > 1024) {
            throw new PierException.Invalid("description must be at most 1024 characters");
        }
        List<String> command = s.command() == null ? List.of() : List.copyOf(s.command());
        if (command.size() > 64
                || command.stream().anyMatch(a -> a == null || a.length() > 4096 || a.indexOf('\0') >= 0)) {
            throw new PierException.Invalid("command must be at most 64 arguments without NUL characters");
        }
        List<Integer> ports = s.ports() == null ? List.of() : List.copyOf(s.ports());
        for (Integer p : ports) {
            if (p == null || p < 1 || p > 65535) {
                throw new PierException.Invalid("ports must be container ports 1-65535");
            }
        }
        Map<String, String> vars = s.variables() == null ? Map.of() : Map.copyOf(s.variables());
        Validation.variables(vars);
        String dataPath = s.dataPath() == null ? DEFAULT_DATA_PATH : s.dataPath();
        if (!dataPath.isEmpty()) {
            dataPath = dataPath(dataPath);
        }
        return new Spec(s.name(), s.reference(), description, command, ports, vars, s.isDefault(), s.stdin(), dataPath);
    }

    /**
     * A data path as given, if it is one: absolute, normalized (no {@code .} or {@code ..} segments, no empty
     * segment, no trailing slash), not {@code /} and not under the kernel's own {@code /proc}, {@code /sys}
     * or {@code /dev}, at most 255 printable characters without {@code :} or {@code ,} (the engine's
     * separators).
     */
    static String dataPath(String path) {
        boolean printable = path.chars().allMatch(c -> c >= 0x20 && c != 0x7f && c != ':' && c != ',');
        boolean normalized = path.startsWith("/")
                && !path.endsWith("/")
                && Arrays.stream(path.substring(1).split("/", -1))
                        .noneMatch(seg -> seg.isEmpty() || seg.equals(".") || seg.equals(".."));
        boolean kernel = Stream.of("/proc", "/sys", "/dev").anyMatch(k -> path.equals(k) || path.startsWith(k + "/"));
        if (path.length() > 255 || !printable || !normalized || kernel) {
            throw new PierException.Invalid("data_path must be an absolute path such as /data (no . or .. segments, "
                    + "not /, /proc, /sys or /dev), or empty for an image that keeps no data");
        }
        return path;
    }

    private static Image toImage(ImageRow r) {
        return new Image(
                r.id(),
                r.name(),
                r.reference(),
                r.description(),
                r.command(),
                r.ports(),
                r.variables(),
                r.defaultSlot() != null,
                r.stdin(),
                Optional.ofNullable(r.dataPath()),
                r.createdAt(),
                r.updatedAt());
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }
}
