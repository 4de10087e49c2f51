package dev.pier.images;

import dev.pier.errors.PierException;
import dev.pier.http.Fields;
import dev.pier.http.Paging;
import dev.pier.http.RequestContext;
import io.javalin.http.Context;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/** The native images API under {@code /api/v1/images}. */
public final class ImageRoutes {
    private final ImageService images;

    public ImageRoutes(ImageService images) {
        this.images = images;
    }

    public void list(Context ctx) {
        ctx.json(Paging.of(ctx).page(images.list(), ImageRoutes::json));
    }

    public void get(Context ctx) {
        ctx.json(json(images.require(id(ctx))));
    }

    public void create(Context ctx) {
        ctx.status(201).json(json(images.create(RequestContext.principal(ctx), spec(Fields.of(ctx)), line -> {})));
    }

    public void update(Context ctx) {
        ctx.json(json(images.update(RequestContext.principal(ctx), id(ctx), spec(Fields.of(ctx)), line -> {})));
    }

    public void delete(Context ctx) {
        images.delete(RequestContext.principal(ctx), id(ctx));
        ctx.status(204);
    }

    private static ImageService.Spec spec(Fields f) {
        return new ImageService.Spec(
                f.string("name"),
                f.string("reference"),
                f.string("description"),
                f.stringList("command"),
                f.intList("ports"),
                f.stringMap("variables"),
                f.bool("default"),
                f.bool("stdin"),
                f.string("data_path"));
    }

    private static UUID id(Context ctx) {
        try {
            return UUID.fromString(ctx.pathParam("id"));
        } catch (IllegalArgumentException e) {
            throw new PierException.NotFound("image " + ctx.pathParam("id") + " not found");
        }
    }

    static Map<String, Object> json(Image i) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", i.id().toString());
        m.put("name", i.name());
        m.put("reference", i.reference());
        m.put("description", i.description());
        m.put("command", i.command());
        m.put("ports", i.ports());
        m.put("variables", i.variables());
        m.put("default", i.isDefault());
        m.put("stdin", i.stdin());
        m.put("data_path", i.dataPath().orElse(null));
        m.put("created_at", i.createdAt().toString());
        m.put("updated_at", i.updatedAt().toString());
        return m;
    }
}
