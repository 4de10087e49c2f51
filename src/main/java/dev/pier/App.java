package dev.pier;

import dev.pier.apitokens.ApiTokenRoutes;
import dev.pier.audit.AuditRoutes;
import dev.pier.backups.BackupRoutes;
import dev.pier.db.DatabaseHealth;
import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import dev.pier.files.FileRoutes;
import dev.pier.http.Access;
import dev.pier.http.ErrorRenderer;
import dev.pier.http.Family;
import dev.pier.http.Idempotency;
import dev.pier.http.Json;
import dev.pier.http.OpenApi;
import dev.pier.http.OpsRoutes;
import dev.pier.http.RequestBodies;
import dev.pier.http.RequestContext;
import dev.pier.http.SecurityFilter;
import dev.pier.http.Tls;
import dev.pier.images.ImageRoutes;
import dev.pier.instances.InstanceRoutes;
import dev.pier.live.ConsoleRoutes;
import dev.pier.live.LiveRoutes;
import dev.pier.matrix.DropletRoutes;
import dev.pier.matrix.MatrixUserRoutes;
import dev.pier.nodes.NodeRoutes;
import dev.pier.panel.PanelInstanceRoutes;
import dev.pier.panel.PanelUserRoutes;
import dev.pier.userkeys.UserKeyRoutes;
import dev.pier.users.UserRoutes;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.javalin.json.JavalinJackson;
import io.micrometer.core.instrument.Timer;
import jakarta.servlet.DispatcherType;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.VirtualThreads;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.EnumSet;
import java.util.concurrent.TimeUnit;

import static io.javalin.apibuilder.ApiBuilder.delete;
import static io.javalin.apibuilder.ApiBuilder.get;
import static io.javalin.apibuilder.ApiBuilder.patch;
import static io.javalin.apibuilder.ApiBuilder.path;
import static io.javalin.apibuilder.ApiBuilder.post;
import static io.javalin.apibuilder.ApiBuilder.put;
import static io.javalin.apibuilder.ApiBuilder.ws;

/**
 * The HTTP server: every route of every family on one screen, with the {@link Access} each needs.
 * {@link #create} returns an unstarted server so tests can start it on port 0.
 */
public final class App {
    private static final Logger log = LoggerFactory.getLogger("pier.http");
    static final String VERSION = App.class.getPackage().getImplementationVersion() != null
            ? App.class.getPackage().getImplementationVersion()
            : "dev";

    private App() {}

    public static Javalin create(Core core) {
        OpenApi openApi = new OpenApi();
        // this server's timers, one per (method, status, route), in this server's registry
        java.util.concurrent.ConcurrentMap<String, Timer> timers = new java.util.concurrent.ConcurrentHashMap<>();
        RequestContext rc = new RequestContext(core.authenticator, core.config.maxBodyBytes());
        OpsRoutes ops = new OpsRoutes(core.db, core.metrics, openApi, VERSION, core.reconciler);
        MatrixUserRoutes matrixUsers = new MatrixUserRoutes(core.auth, core.users);
        ApiTokenRoutes apiTokens = new ApiTokenRoutes(core.keys);
        UserKeyRoutes userKeys = new UserKeyRoutes(core.keys);
        UserRoutes nativeUsers = new UserRoutes(core.users, core.passwords::hash);
        PanelUserRoutes panelUsers = new PanelUserRoutes(core.users, core.passwords);
        DropletRoutes droplets = new DropletRoutes(core.instances, core.nodes);
        PanelInstanceRoutes panel = new PanelInstanceRoutes(core.instances, core.images, core.nodes, core.users);
        InstanceRoutes instances = new InstanceRoutes(core.instances, core.nodes);
        FileRoutes files = new FileRoutes(core.files);
        BackupRoutes backups = new BackupRoutes(core.backups, instances::json);
        NodeRoutes nodes = new NodeRoutes(core.nodes);
        ImageRoutes images = new ImageRoutes(core.images);
        AuditRoutes audit = new AuditRoutes(core.audit);
        LiveRoutes live = new LiveRoutes(core.instances, core.nodes, core.logs, core.stats, core.events, core.streams);
        ConsoleRoutes console =
                new ConsoleRoutes(core.instances, core.nodes, core.authenticator, core.tickets, core.streams);
        // every create route: a retry with the same Idempotency-Key gets the first answer
        Idempotency once = core.idempotency;

        return Javalin.create(cfg -> {
            cfg.startup.showJavalinBanner = false;
            cfg.startup.showOldJavalinVersionWarning = false;
            cfg.concurrency.useVirtualThreads = true;
            // Jetty's own work (accepting connections, reading requests off the selectors) on a few platform
            // threads, each request on a virtual thread: with every thread virtual, a busy server (hundreds of
            // followed streams waking for each log line) left new connections waiting seconds to be accepted
            QueuedThreadPool jetty = new QueuedThreadPool(16, 2, 60_000);
            jetty.setName("pier-http");
            jetty.setVirtualThreadsExecutor(VirtualThreads.getNamedVirtualThreadsExecutor("pier-request"));
            cfg.jetty.threadPool = jetty;
            cfg.http.maxRequestSize = core.config.maxBodyBytes();
            // a known path with another method: 405 with Allow in the native API (the document
            // families keep their "unknown route" 404, see methodNotAllowed)
            cfg.http.prefer405over404 = true;
            cfg.http.defaultContentType = "application/json";
            cfg.jsonMapper(new JavalinJackson(Json.MAPPER, true));
            cfg.jetty.host = core.config.host();
            cfg.jetty.port = core.config.port();
            // before Javalin: security headers on every answer, and no method override (see SecurityFilter)
            cfg.jetty.modifyServletContextHandler(handler -> handler.addFilter(
                    new FilterHolder(new SecurityFilter(core.config.tlsDir().isPresent())),
                    "/*",
                    EnumSet.of(DispatcherType.REQUEST)));
            cfg.jetty.modifyServer(server -> {
                // in-flight requests finish before the server stops (up to the stop timeout)
                server.setHandler(new GracefulHandler());
                server.setStopTimeout(20_000);
            });
            core.config.tlsDir().ifPresent(dir -> Tls.configure(cfg, dir, core.config.host(), core.config.port()));
            cfg.events.handlerAdded(h -> openApi.add(h.getHttpMethod(), h.getPath(), h.getRoles()));
            // open streams end (with a last event saying so) before the server waits for requests in flight
            cfg.events.serverStopping(() ->
                    core.streams.endAll(new dev.pier.live.StreamGuard.Ending("shutdown", "the server is stopping")));
            cfg.requestLogger.http((ctx, ms) -> logAndMeasure(core, timers, ctx, ms));

            cfg.routes.before(rc::before);
            // an unknown version prefix is an unknown route, whoever asks: checked before authentication
            cfg.routes.before("/api/{version}/user/{endpoint}", userKeys::checkVersion);
            cfg.routes.beforeMatched(rc::authorize);
            cfg.routes.wsBeforeUpgrade("/api/v1/instances/{id}/console", console::beforeUpgrade);
            cfg.routes.exception(PierException.class, (e, ctx) -> ErrorRenderer.render(ctx, e));
            cfg.routes.exception(HttpResponseException.class, (e, ctx) -> {
                if (e.getStatus() == 405) {
                    methodNotAllowed(e, ctx);
                } else {
                    if (e.getStatus() == 413) {
                        // an unsized (chunked) body that grew past the limit while being read: the client
                        // is still sending it
                        RequestBodies.discardRest(ctx);
                    }
                    ErrorRenderer.render(ctx, e.getStatus(), reasonFor(e.getStatus()), messageFor(e, ctx));
                }
            });
            cfg.routes.exception(Exception.class, (e, ctx) -> {
                var storeFailure = DatabaseHealth.classify(e);
                if (storeFailure.isPresent()) {
                    core.dbHealth.failed(e);
                    ErrorRenderer.render(ctx, storeFailureAnswer(storeFailure.get()));
                    return;
                }
                String id = ctx.attribute(RequestContext.REQUEST_ID);
                log.error("unexpected error, request id {}", id, e);
                ErrorRenderer.render(ctx, 500, Reason.INTERNAL, "internal error; request id " + id);
            });

            cfg.routes.apiBuilder(() -> {
                get("/healthz", ops::health);
                get("/readyz", ops::ready);
                get("/metrics", ctx -> {
                    // the per-instance series: samples are taken when asked for, not in the background
                    core.stats.latest(core.instances.list());
                    core.stats.forgetGone();
                    ops.metrics(ctx);
                });
                get("/openapi.json", ops::openApi);

                path("/api/v1/user", () -> {
                    post("/auth", matrixUsers::login);
                    post("/auth/refresh", matrixUsers::refresh);
                    delete("/auth/revoke/{user}", matrixUsers::revoke, Access.OWN_SESSIONS);
                    get("/auth/setup/{user}", matrixUsers::setup, Access.MANAGE_USERS);
                    get("/list", matrixUsers::list, Access.ADMIN_READ);
                    post("/add", once.wrap(matrixUsers::add), Access.MANAGE_USERS);
                    delete("/delete/{user}", matrixUsers::delete, Access.MANAGE_USERS);
                });

                path("/api/v1/droplet", () -> {
                    get("/list", droplets::list, Access.VIEW);
                    post("/add", once.wrap(droplets::add), Access.OPERATE);
                    patch("/stop/{droplet}", droplets::stop, Access.OPERATE);
                    patch("/start/{droplet}", droplets::start, Access.OPERATE);
                    patch("/restart/{droplet}", droplets::restart, Access.OPERATE);
                    delete("/delete/{droplet}", droplets::delete, Access.OPERATE);
                });

                path("/api/v1/api_tokens", () -> {
                    post("", once.wrap(apiTokens::create), Access.OWN_KEYS);
                    get("", apiTokens::listOwn, Access.OWN_KEYS);
                    get("/all", apiTokens::listAll, Access.ALL_KEYS);
                    get("/{id}", apiTokens::get, Access.OWN_KEYS);
                    patch("/{id}", apiTokens::update, Access.OWN_KEYS);
                    delete("/{id}", apiTokens::delete, Access.OWN_KEYS);
                });

                // User API keys: unversioned and under any /api/vN[.N[.N]] prefix
                for (String prefix : new String[] {"/api/user", "/api/{version}/user"}) {
                    path(prefix, () -> {
                        post("/apikeys", userKeys::list, Access.OWN_KEYS);
                        get("/apikeys", userKeys::list, Access.OWN_KEYS);
                        post("/create_apikey", once.wrap(userKeys::create), Access.OWN_KEYS_OR_PASSWORD);
                        post("/delete_apikey", userKeys::delete, Access.OWN_KEYS);
                    });
                }

                path("/api", () -> {
                    get("/users", panelUsers::list, Access.ADMIN_READ);
                    post("/getUser", panelUsers::getUser, Access.ADMIN_READ);
                    post("/auth/create-user", once.wrap(panelUsers::create), Access.MANAGE_USERS);
                    get("/instances", panel::list, Access.ADMIN_READ);
                    post("/instances/deploy", once.wrap(panel::deploy), Access.ADMIN_WRITE);
                    delete("/instance/delete", panel::delete, Access.ADMIN_WRITE);
                    post("/getUserInstance", panel::userInstances, Access.ADMIN_READ);
                    post("/getInstance", panel::get, Access.ADMIN_READ);
                    post("/instances/suspend/{id}", panel::suspend, Access.ADMIN_WRITE);
                    post("/instances/unsuspend/{id}", panel::unsuspend, Access.ADMIN_WRITE);
                    get("/images", panel::images, Access.ADMIN_READ);
                    get("/nodes", panel::nodes, Access.ADMIN_READ);
                    post("/nodes/create", once.wrap(panel::createNode), Access.ADMIN_WRITE);
                    delete("/nodes/delete", panel::deleteNode, Access.ADMIN_WRITE);
                });

                // the native API: resources, problem+json errors, paging
                path("/api/v1/instances", () -> {
                    get("", instances::list, Access.VIEW);
                    post("", once.wrap(instances::create), Access.OPERATE);
                    get("/{id}", instances::get, Access.VIEW);
                    patch("/{id}", instances::update, Access.OPERATE);
                    delete("/{id}", instances::delete, Access.OPERATE);
                    post("/{id}/actions", instances::action, Access.OPERATE);
                    get("/{id}/logs", live::logs, Access.VIEW);
                    get("/{id}/stats", live::instanceStats, Access.VIEW);
                    post("/{id}/console/ticket", console::ticket, Access.VIEW);
                    post("/{id}/console", console::command, Access.OPERATE);
                    // the files of its volume: managers and up, reading too
                    get("/{id}/files", files::list, Access.MANAGE_READ);
                    delete("/{id}/files", files::delete, Access.OPERATE);
                    get("/{id}/files/content", files::download, Access.MANAGE_READ);
                    put("/{id}/files/content", files::upload, Access.UPLOAD);
                    post("/{id}/files/move", files::move, Access.OPERATE);
                    post("/{id}/files/mkdir", files::mkdir, Access.OPERATE);
                    // backups of its volume: managers and up (a backup holds all of its data)
                    post("/{id}/backups", backups::create, Access.OPERATE);
                    get("/{id}/backups", backups::list, Access.MANAGE_READ);
                    get("/{id}/backups/{bid}", backups::get, Access.MANAGE_READ);
                    get("/{id}/backups/{bid}/download", backups::download, Access.MANAGE_READ);
                    delete("/{id}/backups/{bid}", backups::delete, Access.OPERATE);
                    post("/{id}/backups/{bid}/restore", backups::restore, Access.OPERATE);
                });
                get("/api/v1/backups", backups::all, Access.MANAGE_READ);
                get("/api/v1/backups/{bid}", backups::get, Access.MANAGE_READ);
                get("/api/v1/backups/{bid}/download", backups::download, Access.MANAGE_READ);
                delete("/api/v1/backups/{bid}", backups::delete, Access.OPERATE);
                // the console socket: authenticated before the upgrade, by a header or a ticket
                ws("/api/v1/instances/{id}/console", console::socket);
                get("/api/v1/stats", live::allStats, Access.VIEW);
                get("/api/v1/events", live::events, Access.VIEW);
                path("/api/v1/nodes", () -> {
                    get("", nodes::list, Access.VIEW);
                    post("", once.wrap(nodes::create), Access.ADMIN_WRITE);
                    get("/{id}", nodes::get, Access.VIEW);
                    delete("/{id}", nodes::delete, Access.ADMIN_WRITE);
                });
                path("/api/v1/images", () -> {
                    get("", images::list, Access.VIEW);
                    post("", once.wrap(images::create), Access.ADMIN_WRITE);
                    get("/{id}", images::get, Access.VIEW);
                    patch("/{id}", images::update, Access.ADMIN_WRITE);
                    delete("/{id}", images::delete, Access.ADMIN_WRITE);
                });
                path("/api/v1/users/{username}", () -> {
                    patch("", nativeUsers::update, Access.OWN_ACCOUNT);
                    post("/totp/reset", nativeUsers::resetTotp, Access.MANAGE_USERS);
                });
                get("/api/v1/audit", audit::list, Access.ADMIN_READ);
            });
            describe(openApi);
        });
    }

    private static void describe(OpenApi o) {
        o.describe("post", "/api/v1/user/auth", "Matrix: log in with username and TOTP code");
        o.describe("post", "/api/v1/user/auth/refresh", "Matrix: rotate an access/refresh token pair");
        o.describe("delete", "/api/v1/user/auth/revoke/{user}", "Matrix: end every session of a user");
        o.describe("get", "/api/v1/user/auth/setup/{user}", "Matrix: authenticator enrolment (QR and secret)");
        o.describe("get", "/api/v1/user/list", "Matrix: list users");
        o.describe("post", "/api/v1/user/add", "Matrix: add a user, returns the list");
        o.describe("delete", "/api/v1/user/delete/{user}", "Matrix: delete a user, returns the list");
        o.describe("post", "/api/v1/api_tokens", "API tokens: create a token (its key is shown once)");
        o.describe("get", "/api/v1/api_tokens", "API tokens: your tokens");
        o.describe("get", "/api/v1/api_tokens/all", "API tokens: everyone's tokens (admin)");
        o.describe("get", "/api/v1/api_tokens/{id}", "API tokens: one token");
        o.describe("patch", "/api/v1/api_tokens/{id}", "API tokens: change description, enabled, expires");
        o.describe("delete", "/api/v1/api_tokens/{id}", "API tokens: delete a token");
        for (String prefix : new String[] {"/api/user", "/api/{version}/user"}) {
            o.describe("post", prefix + "/apikeys", "User API keys: list your keys");
            o.describe("get", prefix + "/apikeys", "User API keys: list your keys");
            o.describe(
                    "post",
                    prefix + "/create_apikey",
                    "User API keys: create a key (apikey, or username + password + TOTP code)");
            o.describe("post", prefix + "/delete_apikey", "User API keys: delete a key by id or value");
        }
        o.describe("get", "/api/users", "Panel: list users");
        o.describe("post", "/api/getUser", "Panel: find a user by email or username");
        o.describe("post", "/api/auth/create-user", "Panel: create a user");
        o.describe("get", "/api/v1/droplet/list", "Matrix: list droplets");
        o.describe("post", "/api/v1/droplet/add", "Matrix: add a droplet (no body needed), returns the list");
        o.describe("patch", "/api/v1/droplet/stop/{droplet}", "Matrix: stop a droplet by name or id");
        o.describe("patch", "/api/v1/droplet/start/{droplet}", "Matrix: start a droplet by name or id");
        o.describe("patch", "/api/v1/droplet/restart/{droplet}", "Matrix: restart a droplet by name or id");
        o.describe("delete", "/api/v1/droplet/delete/{droplet}", "Matrix: delete a droplet by name or id");
        o.describe("get", "/api/instances", "Panel: list instances");
        o.describe(
                "get",
                "/api/v1/instances/{id}/logs",
                "Instance log: tail, since, until, q, stream, follow (SSE or NDJSON with resume ids), download");
        o.describe("get", "/api/v1/instances/{id}/stats", "Instance resource use: one sample, or follow=true");
        o.describe("get", "/api/v1/stats", "Latest resource sample of every running instance, and node totals");
        o.describe("get", "/api/v1/events", "Instance and node events (SSE or NDJSON, Last-Event-ID resumes)");
        o.describe("post", "/api/v1/instances/{id}/console/ticket", "A single-use console ticket (30 s)");
        o.describe("post", "/api/v1/instances/{id}/console", "Write one line to the instance's stdin");
        o.describe("post", "/api/instances/deploy", "Panel: deploy an instance");
        o.describe("delete", "/api/instance/delete", "Panel: delete an instance");
        o.describe("post", "/api/getUserInstance", "Panel: a user's instances");
        o.describe("post", "/api/getInstance", "Panel: one instance");
        o.describe("post", "/api/instances/suspend/{id}", "Panel: suspend an instance");
        o.describe("post", "/api/instances/unsuspend/{id}", "Panel: unsuspend an instance");
        o.describe("get", "/api/images", "Panel: list images");
        o.describe("get", "/api/nodes", "Panel: list nodes");
        o.describe("post", "/api/nodes/create", "Panel: register a node");
        o.describe("delete", "/api/nodes/delete", "Panel: remove a node without instances");
        o.describe("get", "/api/v1/instances", "Instances: list (limit, offset, node, owner, state)");
        o.describe("post", "/api/v1/instances", "Instances: deploy");
        o.describe("get", "/api/v1/instances/{id}", "Instances: one instance");
        o.describe("patch", "/api/v1/instances/{id}", "Instances: change the disk limit {disk_mib}");
        o.describe("delete", "/api/v1/instances/{id}", "Instances: delete (force=true for an offline node)");
        o.describe(
                "post",
                "/api/v1/instances/{id}/actions",
                "Instances: start, stop, restart, kill, reinstall (image: another one), suspend, unsuspend");
        o.describe("get", "/api/v1/instances/{id}/logs", "Instances: last lines of output (tail)");
        o.describe("get", "/api/v1/instances/{id}/files", "Files: list a directory of the instance's volume (path)");
        o.describe("delete", "/api/v1/instances/{id}/files", "Files: delete a file or directory (path)");
        o.describe("get", "/api/v1/instances/{id}/files/content", "Files: download a file (path), streamed");
        o.describe(
                "put",
                "/api/v1/instances/{id}/files/content",
                "Files: upload a file (path; the body is its bytes, with Content-Length)");
        o.describe("post", "/api/v1/instances/{id}/files/move", "Files: move or rename {from, to}");
        o.describe("post", "/api/v1/instances/{id}/files/mkdir", "Files: make a directory {path}");
        o.describe("post", "/api/v1/instances/{id}/backups", "Backups: back the volume up {note?, live?} (202)");
        o.describe("get", "/api/v1/instances/{id}/backups", "Backups: the instance's backups");
        o.describe("get", "/api/v1/instances/{id}/backups/{bid}", "Backups: one backup");
        o.describe("get", "/api/v1/instances/{id}/backups/{bid}/download", "Backups: the archive, streamed");
        o.describe("delete", "/api/v1/instances/{id}/backups/{bid}", "Backups: delete one");
        o.describe(
                "post",
                "/api/v1/instances/{id}/backups/{bid}/restore",
                "Backups: replace the volume's data with the backup's (checksum checked first)");
        o.describe("get", "/api/v1/backups", "Backups: every backup, also of deleted instances");
        o.describe("get", "/api/v1/backups/{bid}", "Backups: one backup");
        o.describe("get", "/api/v1/backups/{bid}/download", "Backups: the archive, streamed");
        o.describe("delete", "/api/v1/backups/{bid}", "Backups: delete one");
        o.describe("get", "/api/v1/nodes", "Nodes: list");
        o.describe("post", "/api/v1/nodes", "Nodes: register a Docker engine");
        o.describe("get", "/api/v1/nodes/{id}", "Nodes: one node");
        o.describe("delete", "/api/v1/nodes/{id}", "Nodes: remove a node without instances");
        o.describe("get", "/api/v1/images", "Images: list");
        o.describe("post", "/api/v1/images", "Images: register a template");
        o.describe("get", "/api/v1/images/{id}", "Images: one image");
        o.describe("patch", "/api/v1/images/{id}", "Images: change a template");
        o.describe("delete", "/api/v1/images/{id}", "Images: remove a template");
        o.describe(
                "patch",
                "/api/v1/users/{username}",
                "Users: change role, disabled or password (ends the user's sessions)");
        o.describe(
                "post",
                "/api/v1/users/{username}/totp/reset",
                "Users: new pending TOTP secret (ends the user's sessions)");
        o.describe("get", "/api/v1/audit", "Audit log, newest first (admin)");
        o.describe("get", "/healthz", "Liveness");
        o.describe("get", "/readyz", "Readiness: checks the database");
        o.describe("get", "/metrics", "Prometheus metrics");
        o.describe("get", "/openapi.json", "This document");
    }

    /**
     * The native API and the operations routes answer a wrong method with 405 and {@code Allow}; the
     * document families answer it as their documents answer any unknown route, with their 404.
     */
    private static void methodNotAllowed(HttpResponseException e, Context ctx) {
        if (Family.of(ctx.path()) != Family.NATIVE) {
            ErrorRenderer.render(ctx, 404, Reason.ROUTE_NOT_FOUND, "Route not found");
            return;
        }
        String allowed = e.getDetails().get("availableMethods");
        if (allowed != null) {
            ctx.header("Allow", allowed);
        }
        ErrorRenderer.render(
                ctx,
                405,
                Reason.METHOD_NOT_ALLOWED,
                ctx.method().name() + " is not allowed on " + ctx.path()
                        + (allowed == null ? "" : "; allowed: " + allowed));
    }

    /** What a client is told when the store could not do its request; never a 500, never the driver's words. */
    private static dev.pier.errors.PierException storeFailureAnswer(DatabaseHealth.Failure failure) {
        return switch (failure) {
            case UNAVAILABLE ->
                new PierException.Unavailable(
                        Reason.STORE_UNAVAILABLE,
                        "the database is unavailable; nothing was changed, try again shortly",
                        2);
            case BUSY ->
                new PierException.Unavailable(
                        Reason.STORE_UNAVAILABLE, "the database is busy; nothing was changed, try again shortly", 1);
            case FULL ->
                new PierException.InsufficientStorage(
                        "the database has no space left for this change; nothing was changed (reads still work)");
        };
    }

    private static Reason reasonFor(int status) {
        return switch (status) {
            case 404 -> Reason.ROUTE_NOT_FOUND;
            case 413 -> Reason.BODY_TOO_LARGE;
            case 415 -> Reason.UNSUPPORTED_MEDIA_TYPE;
            case 400 -> Reason.MALFORMED_BODY;
            default -> Reason.INTERNAL;
        };
    }

    private static String messageFor(HttpResponseException e, Context ctx) {
        return switch (e.getStatus()) {
            case 404 -> "Route not found";
            case 405 -> "Method not allowed";
            case 413 -> "request body is too large";
            default -> e.getMessage();
        };
    }

    private static void logAndMeasure(
            Core core, java.util.concurrent.ConcurrentMap<String, Timer> timers, Context ctx, Float ms) {
        String route;
        try {
            route = ctx.endpoint().path;
        } catch (RuntimeException notMatched) {
            route = "unmatched";
        }
        String method = ctx.method().name();
        int status = ctx.statusCode();
        String r = route;
        // one Timer per (method, route, status), looked up without building a tag list per request
        timers.computeIfAbsent(
                        method + ' ' + status + ' ' + route,
                        k -> Timer.builder("pier_http_requests")
                                .tag("method", method)
                                .tag("route", r)
                                .tag("status", Integer.toString(status))
                                .register(core.metrics))
                .record((long) (ms * 1_000_000), TimeUnit.NANOSECONDS);
        if (log.isInfoEnabled()) {
            var p = ctx.<dev.pier.security.Principal>attribute(RequestContext.PRINCIPAL);
            // the path only: a query string could carry a credential
            log.info(
                    "{} {} {} {}ms id={} user={} addr={}",
                    method,
                    ctx.path(),
                    status,
                    Math.round(ms * 10) / 10.0,
                    ctx.attribute(RequestContext.REQUEST_ID),
                    p == null ? "-" : p.username(),
                    ctx.ip());
        }
    }
}
