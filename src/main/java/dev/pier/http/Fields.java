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
            Map<String, List<String>> params;
            try {
                params = ctx.formParamMap();
            } catch (Exception e) {
                // Jetty's parser throws ServletException (checked, rethrown unchecked by Javalin) on a bad body;
                // the rest of such a body may still be unread, so the connection is not reused
                ctx.header("Connection", "close");
                throw new PierException.Invalid(
                        Reason.MALFORMED_BODY,
                        "request body is not a valid " + (form ? "urlencoded form" : "multipart form"));
            }
            for (Map.Entry<String, List<String>> e : params.entrySet()) {
                if (e.getValue().size() > 1) {
                    // a=1&a=2: which one counts would depend on the reader; refuse, as for JSON
                    throw new PierException.Invalid(
                            Reason.MALFORMED_BODY, "field '" + e.getKey() + "' is given more than once");
                }
                if (!e.getValue().isEmpty()) {
                    map.put(
                            e.getKey(),
                            json.getNodeFactory().textNode(e.getValue().getFirst()));
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
            String m = e.getOriginalMessage();
            if (m != null && m.startsWith("Duplicate field")) {
                // Jackson's STRICT_DUPLICATE_DETECTION: "Duplicate field 'name'"
                throw new PierException.Invalid(
                        Reason.MALFORMED_BODY,
                        "request body has a " + m.substring(0, 1).toLowerCase() + m.substring(1)
                                + "; give each field once");
            }
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
        if (n.isIntegralNumber() && (n.asLong() == 0 || n.asLong() == 1)) {
            return n.asLong() == 1;
        }
        if (n.isTextual()) {
            switch (n.textValue().trim().toLowerCase()) {
                case "true", "1", "yes", "on" -> {
                    return true;
                }
                case "false", "0", "no", "off" -> {
                    return false;
                }
                default -> {}
            }
        }
        throw new PierException.Invalid("field '" + name + "' must be true or false");
    }

    /** A whole number given as a JSON number or a numeric string; null when absent. */
    public Long whole(String name) {
        String v = scalar(name);
        if (v == null || v.isBlank()) {
            return null;
        }
        try {
            return Long.parseLong(v.strip());
        } catch (NumberFormatException e) {
            throw new PierException.Invalid("field '" + name + "' must be a whole number");
        }
    }

    /** A finite decimal number given as a JSON number or a numeric string; null when absent. */
    public Double decimal(String name) {
        String v = scalar(name);
        if (v == null || v.isBlank()) {
            return null;
        }
        try {
            double d = Double.parseDouble(v.strip());
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw new PierException.Invalid("field '" + name + "' must be a number");
        }
    }

    /** An object of names to scalar values, given as a JSON object or a string holding one; null when absent. */
    public java.util.Map<String, String> stringMap(String name) {
        JsonNode n = values.get(name);
        if (n == null || n.isNull() || (n.isTextual() && n.textValue().isBlank())) {
            return null;
        }
        JsonNode obj = n;
        if (n.isTextual()) {
            try {
                obj = json.readTree(n.textValue());
            } catch (java.io.IOException e) {
                throw new PierException.Invalid("field '" + name + "' must be a JSON object");
            }
        }
        if (obj == null || !obj.isObject()) {
            throw new PierException.Invalid("field '" + name + "' must be a JSON object of names to values");
        }
        java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
        for (var e : obj.properties()) {
            JsonNode v = e.getValue();
            if (!(v.isTextual() || v.isNumber() || v.isBoolean())) {
                throw new PierException.Invalid(
                        "field '" + name + "': " + e.getKey() + " must be a string, number or boolean");
            }
            out.put(e.getKey(), v.asText());
        }
        return out;
    }

    /** A list of strings; null when absent. */
    public java.util.List<String> stringList(String name) {
        JsonNode n = values.get(name);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isArray()) {
            throw new PierException.Invalid("field '" + name + "' must be an array of strings");
        }
        java.util.List<String> out = new java.util.ArrayList<>();
        for (JsonNode e : n) {
            if (!e.isTextual()) {
                throw new PierException.Invalid("field '" + name + "' must be an array of strings");
            }
            out.add(e.textValue());
        }
        return out;
    }

    /** A list of whole numbers; null when absent. */
    public java.util.List<Integer> intList(String name) {
        JsonNode n = values.get(name);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isArray()) {
            throw new PierException.Invalid("field '" + name + "' must be an array of numbers");
        }
        java.util.List<Integer> out = new java.util.ArrayList<>();
        for (JsonNode e : n) {
            if (!e.isInt()) {
                throw new PierException.Invalid("field '" + name + "' must be an array of whole numbers");
            }
            out.add(e.intValue());
        }
        return out;
    }

    public JsonNode node(String name) {
        return values.get(name);
    }

    ObjectMapper json() {
        return json;
    }
}
