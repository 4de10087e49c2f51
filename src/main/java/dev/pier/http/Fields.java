package dev.pier.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pier.errors.PierException;
import dev.pier.errors.Reason;
import io.javalin.http.Context;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The fields of a request body, whatever its encoding (JSON object, urlencoded or multipart form),
 * parsed once per request. Accessors check types and name the field when it is wrong.
 */
public final class Fields {
    private static final String ATTR = "pier.fields";
    private final Map<String, JsonNode> values;
    private final ObjectMapper json;

    private Fields(Map<String, JsonNode> values, ObjectMapper json) {
        this.values = values;
        this.json = json;
    }

    public static Fields of(Context ctx) {
        Fields f = ctx.attribute(ATTR);
        if (f == null) {
            f = parse(ctx, Json.MAPPER);
            ctx.attribute(ATTR, f);
        }
        return f;
    }

    private static Fields parse(Context ctx, ObjectMapper json) {
        Map<String, JsonNode> map = new LinkedHashMap<>();
        String type = ctx.contentType() == null ? "" : ctx.contentType().toLowerCase();
        boolean form = type.startsWith("application/x-www-form-urlencoded");
        if (form && ctx.body().stripLeading().startsWith("{")) {
            // curl -d '{...}' sends JSON labelled as a form: read it as the JSON it is
            form = false;
        }
        if (form || type.startsWith("multipart/form-data")) {
            for (Map.Entry<String, List<String>> e : ctx.formParamMap().entrySet()) {
                if (!e.getValue().isEmpty()) {
                    map.put(e.getKey(), json.getNodeFactory().textNode(e.getValue().getFirst()));
                }
            }
            return new Fields(map, json);
        }
        byte[] body = ctx.bodyAsBytes();
        if (body.length == 0 || new String(body, java.nio.charset.StandardCharsets.UTF_8).isBlank()) {
            return new Fields(map, json);
        }
        JsonNode root;
        try {
            root = json.readTree(body);
        } catch (JsonProcessingException e) {
            throw new PierException.Invalid(Reason.MALFORMED_BODY, "request body is not valid JSON");
        } catch (java.io.IOException e) {
            throw new PierException.Invalid(Reason.MALFORMED_BODY, "request body could not be read");
        }
        if (!(root instanceof ObjectNode obj)) {
            throw new PierException.Invalid(Reason.MALFORMED_BODY, "request body must be a JSON object");
        }
        obj.properties().forEach(e -> map.put(e.getKey(), e.getValue()));
        return new Fields(map, json);
    }

    public boolean has(String name) {
        JsonNode n = values.get(name);
        return n != null && !n.isNull();
    }

    /** A string field, or null when absent; numbers are not silently accepted as strings. */
    public String string(String name) {
        JsonNode n = values.get(name);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isTextual()) {
            throw new PierException.Invalid("field '" + name + "' must be a string");
        }
        return n.textValue();
    }

    /** A string field where a JSON number is acceptable too (the Panel API sends "memory": "512" or 512). */
    public String scalar(String name) {
        JsonNode n = values.get(name);
        if (n == null || n.isNull()) {
            return null;
        }
        if (n.isTextual() || n.isNumber() || n.isBoolean()) {
            return n.asText();
        }
        throw new PierException.Invalid("field '" + name + "' must be a string or a number");
    }

    public Boolean bool(String name) {
        JsonNode n = values.get(name);
        if (n == null || n.isNull()) {
            return null;
        }
        if (n.isBoolean()) {
            return n.booleanValue();
        }
        if (n.isTextual()) {
            switch (n.textValue().trim().toLowerCase()) {
                case "true", "1", "yes", "on" -> { return true; }
                case "false", "0", "no", "off" -> { return false; }
                default -> { }
            }
        }
        throw new PierException.Invalid("field '" + name + "' must be true or false");
    }

    public JsonNode node(String name) {
        return values.get(name);
    }

    ObjectMapper json() {
        return json;
    }
}
