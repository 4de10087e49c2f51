package dev.pier.files;

import dev.pier.errors.PierException;
import dev.pier.http.Fields;
import dev.pier.http.Json;
import dev.pier.http.RequestContext;
import io.javalin.http.Context;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/** The files of an instance's volume under {@code /api/v1/instances/{id}/files}: a thin adapter on {@link FileService}. */
public final class FileRoutes {
    private final FileService files;

    public FileRoutes(FileService files) {
        this.files = files;
    }

    public void list(Context ctx) {
        String path = path(ctx);
        var entries = files.list(RequestContext.principal(ctx), id(ctx), path).stream()
                .map(e -> Json.object(
                        "name",
                        e.name(),
                        "type",
                        e.type(),
                        "size",
                        e.size(),
                        "mode",
                        e.mode(),
                        "modified",
                        e.modified().toString()))
                .toList();
        ctx.json(Json.object("path", VolumePath.parse(path).display(), "entries", entries));
    }

    public void download(Context ctx) {
        files.download(RequestContext.principal(ctx), id(ctx), required(ctx), d -> {
            var res = ctx.res();
            res.setStatus(200);
            res.setContentType("application/octet-stream");
            res.setHeader("Content-Disposition", disposition(d.name()));
            try {
                d.transfer(res.getOutputStream());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (UncheckedIOException gone) {
                // the client went away; the helper is removed
            }
        });
    }

    public void upload(Context ctx) {
        long length = ctx.req().getContentLengthLong();
        try {
            long size = files.upload(
                    RequestContext.principal(ctx),
                    id(ctx),
                    required(ctx),
                    ctx.req().getInputStream(),
                    length);
            ctx.json(Json.object("path", VolumePath.parse(required(ctx)).display(), "size", size));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public void mkdir(Context ctx) {
        String path = Fields.of(ctx).string("path");
        if (path == null) {
            throw new PierException.Invalid("path is required");
        }
        files.mkdir(RequestContext.principal(ctx), id(ctx), path);
        ctx.status(201).json(Json.object("path", VolumePath.parse(path).display()));
    }

    public void move(Context ctx) {
        Fields f = Fields.of(ctx);
        String from = f.string("from");
        String to = f.string("to");
        if (from == null || to == null) {
            throw new PierException.Invalid("from and to are required");
        }
        files.move(RequestContext.principal(ctx), id(ctx), from, to);
        ctx.status(204);
    }

    public void delete(Context ctx) {
        files.delete(RequestContext.principal(ctx), id(ctx), required(ctx));
        ctx.status(204);
    }

    private static String path(Context ctx) {
        String p = ctx.queryParam("path");
        return p == null ? "" : p;
    }

    private static String required(Context ctx) {
        String p = ctx.queryParam("path");
        if (p == null || p.isEmpty()) {
            throw new PierException.Invalid("the query parameter path is required");
        }
        return p;
    }

    private static UUID id(Context ctx) {
        try {
            return UUID.fromString(ctx.pathParam("id").strip());
        } catch (IllegalArgumentException e) {
            throw new PierException.NotFound("instance '" + ctx.pathParam("id") + "' is not a known id");
        }
    }

    /** An attachment named as the file, in ASCII for old clients and UTF-8 for the rest (RFC 6266). */
    private static String disposition(String name) {
        String ascii = name.replaceAll("[^A-Za-z0-9._ -]", "_");
        return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''"
                + URLEncoder.encode(name, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
