package dev.pier.runtime;

import java.io.Closeable;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * One container engine (a Pier node), seen through the few operations Pier needs. This is the only door
 * to Docker: the instance service and the reconciler use it, and nothing outside this package knows what
 * sits behind it ({@link DockerRuntime} for a real engine; the tests wrap it with fault hooks).
 *
 * <h2>Contract</h2>
 * <ul>
 *   <li>Containers are addressed by the engine's id (a name works too). Every container made by
 *       {@link #create} carries {@link PierLabels#MANAGED}{@code =true} and {@link PierLabels#INSTANCE}, and
 *       the hardening described on {@link ContainerSpec}.</li>
 *   <li>Errors are {@link ContainerRuntimeException}s: {@link RuntimeUnavailableException} when the engine
 *       cannot be reached, does not answer by the call's deadline, or answers with something that is not
 *       the Docker API (every call has a deadline chosen by what it is: seconds for a ping or an inspect, the
 *       grace period plus a margin for a stop, minutes for a pull; see {@link DockerEndpoint.Deadlines}),
 *       {@link ContainerNotFoundException}, {@link ImageNotFoundException},
 *       {@link ContainerConflictException}, or {@link RuntimeOperationException} for any other refusal.
 *       Messages are in Pier's words and may reach API clients; what the engine said goes to the server
 *       log only.
 *       Arguments Pier should have validated are rejected with {@link IllegalArgumentException}.</li>
 *   <li>After a {@link RuntimeUnavailableException} the outcome of a mutating call is unknown (the request
 *       may have reached the engine before the connection broke); callers find out with
 *       {@link #inspect} or {@link #listManaged} once the engine answers again.</li>
 * </ul>
 *
 * <h2>Idempotency</h2>
 * Calls that converge on a state succeed when the container is already there: starting a running
 * container, stopping or killing one that is not running, removing one that does not exist (or is being
 * removed). {@link #create} is not idempotent: a second create with the same name is a
 * {@link ContainerConflictException}, which is how a retried deploy notices the container it made
 * before a crash.
 *
 * <h2>Thread-safety</h2>
 * Implementations are safe for concurrent use. They do not serialize operations on one container; the
 * instance service does that per instance.
 */
public interface ContainerRuntime extends AutoCloseable {

    /**
     * Checks that the engine answers.
     *
     * @throws RuntimeUnavailableException when it does not
     */
    void ping();

    /** Whether the engine has the image locally (so that {@link #create} will not need a pull). */
    boolean imageExists(String imageRef);

    /**
     * Pulls an image from its registry; a reference without tag or digest means {@code :latest}. Blocks until
     * the pull finished.
     *
     * @param progress receives human-readable progress lines ("abc123: Downloading"), on the calling thread
     *                 or another one, never concurrently
     * @throws ImageNotFoundException     when the registry does not have it
     * @throws RuntimeOperationException  for registry errors (unreachable, denied)
     */
    void pullImage(String imageRef, Consumer<String> progress);

    /**
     * Creates (does not start) a container.
     *
     * @return the engine's container id
     * @throws ImageNotFoundException      when the image is not on the engine (pull it first)
     * @throws ContainerConflictException  when a container with that name exists
     */
    String create(ContainerSpec spec);

    /**
     * Starts a container; a running one is left as it is.
     *
     * @throws ContainerNotFoundException when it does not exist
     * @throws RuntimeOperationException  when it cannot start (a host port taken, a bad command)
     */
    void start(String containerId);

    /**
     * Stops gracefully: SIGTERM (to the container's init, which forwards it), then SIGKILL once {@code grace}
     * has passed (rounded up to whole seconds). Returns when the container has stopped. A container that is
     * not running is left as it is.
     *
     * @throws ContainerNotFoundException when it does not exist
     */
    void stop(String containerId, Duration grace);

    /**
     * Sends SIGKILL. A container that is not running is left as it is.
     *
     * @throws ContainerNotFoundException when it does not exist
     */
    void kill(String containerId);

    /**
     * Stops as {@link #stop} does (when running), then starts again.
     *
     * @throws ContainerNotFoundException when it does not exist
     */
    void restart(String containerId, Duration grace);

    /**
     * Freezes a running container's processes (the engine's pause): they keep their memory and resume where
     * they were with {@link #unpause}. A container that is not running is left as it is.
     *
     * @throws ContainerNotFoundException when it does not exist
     */
    void pause(String containerId);

    /**
     * Resumes a container frozen by {@code docker pause}. A container that is not paused is left as it is.
     *
     * @throws ContainerNotFoundException when it does not exist
     */
    void unpause(String containerId);

    /**
     * Removes a container and its anonymous volumes. A missing container counts as removed.
     *
     * @param force also when running (it is killed first)
     * @throws ContainerConflictException when it runs and {@code force} is false
     */
    void remove(String containerId, boolean force);

    /** The container's current state; empty when it does not exist. */
    Optional<ContainerState> inspect(String containerId);

    /** Every container, running or not, labelled {@link PierLabels#MANAGED}{@code =true}. */
    List<ContainerSummary> listManaged();

    /**
     * Creates a named volume (local driver) with these labels. A volume of that name that exists is left as
     * it is, labels and contents: creating is how every container create makes sure its volume is there.
     */
    void createVolume(String name, Map<String, String> labels);

    /**
     * Removes a named volume and its contents. A missing volume counts as removed.
     *
     * @throws ContainerConflictException when a container (running or not) still uses it
     */
    void removeVolume(String name);

    /** Every volume labelled {@link PierLabels#MANAGED}{@code =true}. */
    List<VolumeSummary> listManagedVolumes();

    /**
     * The size in bytes of every volume on the engine, by name, as the engine measures it (its disk usage
     * report, which walks the volumes: seconds on a busy node). A volume the engine could not measure is
     * left out.
     */
    Map<String, Long> volumeSizes();

    /**
     * The last {@code tail} lines of the container's output (stdout and stderr interleaved), at most
     * 1 MiB; the beginning is cut when it is longer.
     *
     * @throws ContainerNotFoundException when it does not exist
     */
    String logs(String containerId, int tail);

    /**
     * Opens a read of the container's log: lines with the engine's timestamps, in the order the engine
     * stored them. Returns once the engine accepted the read (so a missing container fails here, not on the
     * first {@link LogReader#next}). A followed read has no total deadline, only one for the engine's first
     * answer; it ends when the container stops.
     *
     * @throws ContainerNotFoundException when it does not exist
     */
    LogReader readLogs(String containerId, LogRequest request);

    /**
     * Opens the container's stats stream (a sample about every second, while the container runs; a
     * stopped container's stream delivers empty samples, which are skipped). Like a followed log read it has
     * no total deadline, only one for the engine's first answer.
     *
     * @throws ContainerNotFoundException when it does not exist
     */
    StatsReader readStats(String containerId);

    /**
     * One stats sample now, with CPU use measured over the engine's own interval (about a second). For a
     * container that is not running the sample shows zero use.
     *
     * @throws ContainerNotFoundException when it does not exist
     */
    default StatsSample statsOnce(String containerId) {
        return statsOnce(containerId, null);
    }

    /**
     * One stats sample now. With {@code earlier} (a sample of the same container that carries its
     * {@link StatsSample#counters}), the engine is asked for one collection of its counters (it collects
     * every second) instead of two, and CPU use is measured since {@code earlier}; without, as {@link
     * #statsOnce(String)}.
     *
     * @throws ContainerNotFoundException when it does not exist
     */
    StatsSample statsOnce(String containerId, StatsSample earlier);

    /**
     * Attaches to the running container's main process: its stdout and stderr from now on, and its stdin
     * when the container has one open. Has a deadline for connecting, none for the life of the attachment.
     *
     * @throws ContainerNotFoundException  when it does not exist
     * @throws RuntimeOperationException   when it is not running
     */
    Attachment attach(String containerId);

    /**
     * Starts a helper container for one job on a volume (see {@link HelperSpec}) and returns an attachment
     * to its command, taken before it started (so none of its output is missed). The helper has no network,
     * a read-only root filesystem, no capabilities but reading and writing files of any owner, and only the
     * volume mounted; the engine removes it when its command ends. Its exit status is not reported: a
     * helper's command says how it went in its output. Closing the attachment removes the helper, ending its
     * command if that still runs (a caller that gives up, a client gone).
     *
     * @throws ImageNotFoundException when the helper image is not on the node
     */
    Attachment runHelper(HelperSpec spec);

    /**
     * Starts a helper (see {@link #runHelper}) with nobody attached, for commands run in it with
     * {@link #execInHelper}; its own command should be one that waits (a sleep), and the engine removes
     * it when that ends. Returns its id.
     */
    String startHelper(HelperSpec spec);

    /**
     * Runs a command in a running helper (an exec, as root) and returns an attachment to it: its output,
     * until it ends. Far quicker than a helper of its own: no container is made.
     *
     * @throws ContainerNotFoundException when the helper is gone
     * @throws RuntimeOperationException  when it is not running
     */
    Attachment execInHelper(String containerId, List<String> command);

    /**
     * Subscribes to start, die, stop, destroy and oom events of Pier-labelled containers. Returns once the
     * stream is connected, so that whatever happens afterwards is delivered; when the engine is unreachable
     * it returns after the first failed attempt and keeps trying in the background. A stream that breaks
     * is reconnected, and a {@link RuntimeEvent.Kind#RESYNC} event tells the subscriber that events may
     * have been missed.
     *
     * <p>Events are delivered one at a time, in order, on a thread of the runtime; the consumer should be
     * quick and must not throw (what it throws is logged and dropped). Closing the subscription stops
     * delivery; closing the runtime closes all its subscriptions.
     */
    Closeable events(Consumer<RuntimeEvent> consumer);

    /**
     * Cuts short every call in flight (not the event streams): each fails at once with
     * {@link RuntimeUnavailableException} saying {@code why}. For an engine found not to answer any more,
     * so that no action waits out its whole deadline on it.
     */
    default void abortCalls(String why) {}

    /** Releases connections and ends event subscriptions. Containers are left as they are. */
    @Override
    void close();
}
