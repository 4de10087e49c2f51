package dev.pier.live;

import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.http.Authenticator;
import dev.pier.http.Credentials;
import dev.pier.http.Fields;
import dev.pier.http.RequestContext;
import dev.pier.instances.Instance;
import dev.pier.instances.InstanceService;
import dev.pier.instances.ObservedState;
import dev.pier.nodes.Node;
import dev.pier.nodes.NodeService;
import dev.pier.runtime.Attachment;
import dev.pier.runtime.ContainerRuntime;
import dev.pier.runtime.ContainerRuntimeException;
import dev.pier.runtime.RuntimeUnavailableException;
import dev.pier.security.Policy;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.security.Scope;
import io.javalin.http.Context;
import io.javalin.websocket.WsCloseContext;
import io.javalin.websocket.WsConfig;
import io.javalin.websocket.WsConnectContext;
import io.javalin.websocket.WsContext;
import io.javalin.websocket.WsMessageContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An instance's console: a WebSocket on Pier's own port to the container's main process (text frames out
 * are its output, frames in go to its stdin), a one-line write without a socket, and single-use tickets
 * for browsers, which cannot put a credential in a WebSocket's headers. Everyone who may see the
 * instance may watch its console; managers and up may type. The socket stays authorized for its life
 * through the {@link StreamGuard}.
 */
public final class ConsoleRoutes {
    private static final Logger log = LoggerFactory.getLogger(ConsoleRoutes.class);
    private static final String SESSION = "pier.console";
    /** How long a client may take to accept one frame before its console is closed as too slow. */
    static final java.time.Duration SEND_TIMEOUT = java.time.Duration.ofSeconds(10);
    /** How often a console is pinged. */
    static final java.time.Duration PING = java.time.Duration.ofSeconds(15);
    /** The longest line {@code POST .../console} writes. */
    static final int MAX_COMMAND = 4096;

    private final InstanceService instances;
    private final NodeService nodes;
    private final Authenticator authenticator;
    private final ConsoleTickets tickets;
    private final StreamGuard guard;
    private final Map<org.eclipse.jetty.websocket.api.Session, Console> open = new ConcurrentHashMap<>();

    public ConsoleRoutes(
            InstanceService instances,
            NodeService nodes,
            Authenticator authenticator,
            ConsoleTickets tickets,
            StreamGuard guard) {
        this.instances = instances;
        this.nodes = nodes;
        this.authenticator = authenticator;
        this.tickets = tickets;
        this.guard = guard;
    }

    /** {@code POST /api/v1/instances/{id}/console/ticket}: a ticket for one socket to this instance, 30 s. */
    public void ticket(Context ctx) {
        Principal p = RequestContext.principal(ctx);
        Instance inst = instances.require(id(ctx.pathParam("id")));
        StreamGuard.requireOpen(inst);
        ConsoleTickets.Issued t = tickets.issue(p, inst);
        ctx.status(201)
                .json(Map.of(
                        "ticket",
                        t.ticket(),
                        "expires_at",
                        t.expiresAt().toString(),
                        "path",
                        "/api/v1/instances/" + inst.id() + "/console?ticket=" + t.ticket()));
    }

    /** {@code POST /api/v1/instances/{id}/console {"command"}}: one line to the process's stdin. */
    public void command(Context ctx) {
        String command = Fields.of(ctx).string("command");
        if (command == null) {
            throw new PierException.Invalid("command is required");
        }
        if (command.length() > MAX_COMMAND || command.indexOf('\n') >= 0 || command.indexOf('\r') >= 0) {
            throw new PierException.Invalid("command must be one line of at most " + MAX_COMMAND + " characters");
        }
        Instance inst = instances.require(id(ctx.pathParam("id")));
        StreamGuard.requireOpen(inst);
        if (!inst.stdin()) {
            throw new PierException.Conflict(
                    Reason.CONFLICT, "instance '" + inst.name() + "' takes no input: its image does not declare stdin");
        }
        try (Attachment a = attach(inst)) {
            a.write((command + "\n").getBytes(StandardCharsets.UTF_8));
        }
        ctx.status(204);
    }

    /** The WebSocket route: authenticates the upgrade request, then pipes the console both ways. */
    public void socket(WsConfig ws) {
        ws.onConnect(this::connected);
        ws.onMessage(this::message);
        ws.onClose(this::closed);
        ws.onError(ctx -> closed(ctx.session));
    }

    /**
     * Before the upgrade: the credential in a header (any client but a browser), or a ticket in the URL
     * (never a token: long-lived credentials are not accepted in a URL). Refusals are ordinary HTTP answers.
     */
    public void beforeUpgrade(Context ctx) {
        UUID instanceId = id(ctx.pathParam("id"));
        String ticket = ctx.queryParam("ticket");
        Optional<String> credential = Credentials.find(ctx);
        Principal p;
        if (ticket != null) {
            if (credential.isPresent()) {
                throw Credentials.conflict("send a ticket or a credential, not both");
            }
            p = tickets.redeem(ticket, instanceId, ctx.ip());
        } else {
            p = authenticator.resolve(
                    credential.orElseThrow(() -> new PierException.Unauthenticated(
                            Reason.CREDENTIAL_MISSING,
                            "unauthorized: send a credential header, or ?ticket= from POST .../console/ticket")),
                    ctx.ip(),
                    false);
        }
        ctx.attribute(RequestContext.PRINCIPAL, p);
        Policy.require(p, Role.VIEWER, Scope.READ);
        Instance inst = instances.require(instanceId);
        StreamGuard.requireOpen(inst);
        if (inst.observedState() != ObservedState.RUNNING) {
            throw new PierException.Conflict(
                    Reason.CONFLICT,
                    "instance '" + inst.name() + "' is not running ("
                            + inst.observedState().wire() + ")");
        }
        ctx.attribute(SESSION, new Pending(p, inst, canType(p) && inst.stdin()));
    }

    private static boolean canType(Principal p) {
        return p.role().atLeast(Role.MANAGER) && p.level().allows(Scope.WRITE);
    }

    private record Pending(Principal principal, Instance instance, boolean canType) {}

    /** One open console socket. */
    private final class Console {
        final WsContext ws;
        final boolean canType;
        final java.util.concurrent.CompletableFuture<Attachment> attachment =
                new java.util.concurrent.CompletableFuture<>();
        volatile StreamGuard.Watch watch;
        volatile boolean closing;

        Console(WsContext ws, boolean canType) {
            this.ws = ws;
            this.canType = canType;
        }

        /**
         * Sends one text frame and waits until it is on its way: Jetty allows one message in flight per
         * socket, and a second one sent meanwhile is dropped (with the socket's later messages).
         */
        synchronized void send(String text) {
            org.eclipse.jetty.websocket.api.Callback.Completable done =
                    new org.eclipse.jetty.websocket.api.Callback.Completable();
            ws.session.sendText(text, done);
            await(done);
        }

        /** A ping, so that neither Jetty's idle timeout nor a proxy closes a quiet console. */
        synchronized void ping() {
            org.eclipse.jetty.websocket.api.Callback.Completable done =
                    new org.eclipse.jetty.websocket.api.Callback.Completable();
            ws.session.sendPing(ByteBuffer.allocate(0), done);
            await(done);
        }

        private void await(java.util.concurrent.CompletableFuture<Void> done) {
            try {
                done.get(SEND_TIMEOUT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                throw new IllegalStateException("the client does not take the console's output", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }

        void attached(Attachment a) {
            attachment.complete(a);
            if (closing) {
                a.close();
            }
        }

        /** The attachment, waiting for it while it is being made; null if it never will be. */
        Attachment attachment() {
            try {
                return attachment.get(20, java.util.concurrent.TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                return null;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }

        void pump() {
            Attachment attachment = this.attachment.getNow(null);
            CharsetDecoder utf8 = StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPLACE)
                    .onUnmappableCharacter(CodingErrorAction.REPLACE);
            ByteBuffer pending = ByteBuffer.allocate(0);
            try {
                Attachment.Chunk c;
                while ((c = attachment.read()) != null) {
                    // a character may be split between two chunks: keep its first bytes for the next one
                    ByteBuffer in = ByteBuffer.allocate(pending.remaining() + c.bytes().length);
                    in.put(pending).put(c.bytes()).flip();
                    CharBuffer out = CharBuffer.allocate(in.remaining() + 1);
                    utf8.decode(in, out, false);
                    pending = in.slice();
                    out.flip();
                    if (out.hasRemaining()) {
                        send(out.toString());
                    }
                }
                end(1000, "the process ended");
            } catch (ContainerRuntimeException e) {
                end(1011, "the node stopped answering");
            } catch (RuntimeException e) {
                if (!closing) {
                    log.debug("console of {} ended: {}", ws.sessionId(), e.toString());
                    end(1011, "the console connection broke");
                }
            }
        }

        void end(int code, String reason) {
            if (closing) {
                return;
            }
            closing = true;
            try {
                ws.closeSession(code, reason);
            } catch (RuntimeException ignored) {
                // gone already
            }
            release();
        }

        void release() {
            closing = true;
            StreamGuard.Watch w = watch;
            if (w != null) {
                w.close();
            }
            Attachment a = attachment.getNow(null);
            if (a != null) {
                a.close();
            } else {
                attachment.cancel(false);
            }
        }
    }

    private void connected(WsConnectContext ctx) {
        Pending p = ctx.attribute(SESSION);
        if (p == null) {
            ctx.closeSession(1008, "not authorized");
            return;
        }
        Console c = new Console(ctx, p.canType());
        open.put(ctx.session, c);
        // a typing console needs a manager's rights for its whole life; a watching one a viewer's
        c.watch = guard.watch(
                p.principal(),
                p.canType() ? Role.MANAGER : Role.VIEWER,
                p.canType() ? Scope.WRITE : Scope.READ,
                p.instance().id(),
                why -> c.end(1008, why.reason() + ": " + why.message()));
        Thread.ofVirtual().name("pier-console-ping").start(() -> {
            try {
                while (!c.closing) {
                    Thread.sleep(PING.toMillis());
                    if (!c.closing) {
                        c.ping();
                    }
                }
            } catch (InterruptedException | RuntimeException e) {
                c.end(1011, "the client stopped answering");
            }
        });
        // the engine connection is made off Jetty's thread: an event callback must not wait on a node
        Thread.ofVirtual().name("pier-console " + p.instance().id()).start(() -> {
            try {
                c.attached(attach(p.instance()));
            } catch (PierException e) {
                c.end(1011, e.getMessage().length() > 120 ? e.getMessage().substring(0, 120) : e.getMessage());
                return;
            }
            c.pump();
        });
    }

    private void message(WsMessageContext ctx) {
        Console c = open.get(ctx.session);
        if (c == null || c.closing) {
            return;
        }
        if (!c.canType) {
            c.end(1008, "read-only: managers and above may type, into an instance whose image declares stdin");
            return;
        }
        Attachment a = c.attachment();
        if (a == null) {
            return; // ended before it was attached
        }
        try {
            a.write(ctx.message().getBytes(StandardCharsets.UTF_8));
        } catch (ContainerRuntimeException e) {
            c.end(1011, e.getMessage().length() > 120 ? e.getMessage().substring(0, 120) : e.getMessage());
        }
    }

    private void closed(WsCloseContext ctx) {
        closed(ctx.session);
    }

    private void closed(org.eclipse.jetty.websocket.api.Session session) {
        Console c = open.remove(session);
        if (c != null) {
            c.release();
        }
    }

    private Attachment attach(Instance inst) {
        String cid = inst.containerId()
                .orElseThrow(() -> new PierException.Conflict(
                        Reason.CONFLICT, "instance '" + inst.name() + "' has no container yet"));
        Node node = nodes.require(inst.nodeId());
        ContainerRuntime runtime = nodes.onlineRuntime(node);
        try {
            return runtime.attach(cid);
        } catch (RuntimeUnavailableException e) {
            nodes.reportUnreachable(node, e);
            throw new PierException.Unavailable("node '" + node.name() + "' is unreachable: " + e.getMessage());
        } catch (ContainerRuntimeException e) {
            throw new PierException.Conflict(Reason.CONFLICT, "no console: " + e.getMessage());
        }
    }

    private static UUID id(String s) {
        try {
            return UUID.fromString(s.strip());
        } catch (IllegalArgumentException e) {
            throw new PierException.NotFound("instance is not a known id");
        }
    }
}
