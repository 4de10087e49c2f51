package dev.pier.backups;

import dev.pier.errors.PierException;
import dev.pier.http.Fields;
import dev.pier.http.Json;
import dev.pier.http.RequestContext;
import dev.pier.instances.Instance;
import io.javalin.http.Context;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;

/** Backups under {@code /api/v1/instances/{id}/backups} and {@code /api/v1/backups}: a thin adapter on {@link BackupService}. */
public final class BackupRoutes {
    private final BackupService backups;
    private final Function<Instance, Object> instanceJson;

    /** @param instanceJson how the native API shows an instance (a restore answers with it) */
    public BackupRoutes(BackupService backups, Function<Instance, Object> instanceJson) {
        this.backups = backups;
        this.instanceJson = instanceJson;
    }

    public void create(Context ctx) {
        Fields f = Fields.of(ctx);
        Boolean live = f.bool("live");
        Backup b = backups.create(
                RequestContext.principal(ctx), id(ctx, "id"), f.string("note"), Boolean.TRUE.equals(live));
        ctx.status(202).json(json(b));
    }

    public void list(Context ctx) {
        ctx.json(Json.object(
                "items",
                backups.list(RequestContext.principal(ctx), id(ctx, "id")).stream()
                        .map(BackupRoutes::json)
                        .toList()));
    }

    public void all(Context ctx) {
        ctx.json(Json.object(
                "items",
                backups.all(RequestContext.principal(ctx)).stream()
                        .map(BackupRoutes::json)
                        .toList()));
    }

    public void get(Context ctx) {
        ctx.json(json(backup(ctx)));
    }

    public void download(Context ctx) {
        Backup b = backup(ctx);
        try (InputStream in = backups.open(RequestContext.principal(ctx), b.id())) {
            var res = ctx.res();
            res.setStatus(200);
            res.setContentType("application/gzip");
            res.setHeader(
                    "Content-Disposition", "attachment; filename=\"" + b.instanceName() + "-" + b.id() + ".tar.gz\"");
            b.size().ifPresent(res::setContentLengthLong);
            b.sha256().ifPresent(s -> res.setHeader("X-Checksum-SHA256", s));
            OutputStream out = res.getOutputStream();
            in.transferTo(out);
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public void delete(Context ctx) {
        Backup b = backup(ctx);
        backups.delete(RequestContext.principal(ctx), b.id());
        ctx.status(204);
    }

    /** Restores into the instance of the path a backup of any instance (a copy of another's data). */
    public void restore(Context ctx) {
        Instance i = backups.restore(RequestContext.principal(ctx), id(ctx, "id"), id(ctx, "bid"));
        ctx.json(instanceJson.apply(i));
    }

    /** The backup in the path; under an instance's path, one of that instance's (or 404). */
    private Backup backup(Context ctx) {
        Backup b = backups.get(RequestContext.principal(ctx), id(ctx, "bid"));
        if (ctx.pathParamMap().containsKey("id") && !b.instanceId().equals(id(ctx, "id"))) {
            throw new PierException.NotFound("backup " + b.id() + " is not one of this instance's");
        }
        return b;
    }

    private static UUID id(Context ctx, String param) {
        try {
            return UUID.fromString(ctx.pathParam(param).strip());
        } catch (IllegalArgumentException e) {
            throw new PierException.NotFound(param + " '" + ctx.pathParam(param) + "' is not a known id");
        }
    }

    static Map<String, Object> json(Backup b) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", b.id().toString());
        m.put("instance", b.instanceId().toString());
        m.put("instance_name", b.instanceName());
        m.put("state", b.state().wire());
        m.put("live", b.live());
        m.put("note", b.note().orElse(null));
        m.put("size", b.size().orElse(null));
        m.put("sha256", b.sha256().orElse(null));
        m.put("created", b.createdAt().toString());
        m.put("completed", b.completedAt().map(Object::toString).orElse(null));
        m.put("error", b.error().orElse(null));
        return m;
    }
}
