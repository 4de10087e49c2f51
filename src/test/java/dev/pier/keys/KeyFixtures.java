package dev.pier.keys;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.http.Json;
import dev.pier.security.AccessLevel;
import dev.pier.security.Principal;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.TestServer;
import dev.pier.users.User;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Helpers shared by the API key tests (keys, apitokens, userkeys, panel): users holding keys, request
 * bodies in the three encodings the families accept, and direct reads of the database.
 */
public final class KeyFixtures {
    private static final AtomicInteger SEQ = new AtomicInteger();

    private KeyFixtures() {}

    /** A user and one API key of theirs. */
    public record Holder(User user, String key, UUID keyId) {
        public String name() {
            return user.username();
        }

        public String[] xApiKey() {
            return new String[] {"x-api-key", key};
        }

        public String[] bearer() {
            return new String[] {"Authorization", "Bearer " + key};
        }
    }

    /** A username no other test of the run uses. */
    public static String name(String prefix) {
        return prefix + "-" + SEQ.incrementAndGet();
    }

    /** Creates a user (as the CLI would) with a never-expiring key of {@code level}. */
    public static Holder holder(TestServer server, String prefix, Role role, AccessLevel level) {
        User u = server.createUser(name(prefix), role).user();
        return withKey(server, u, level);
    }

    /** A further key for an existing user. */
    public static Holder withKey(TestServer server, User u, AccessLevel level) {
        CreatedKey k = server.core()
                .keys
                .create(Principal.system(), u.username(), new ApiKeyService.NewKey("fixture", true, null, level));
        return new Holder(u, k.value(), k.key().id());
    }

    /** The owner is unique: reuse it when the server has one. */
    public static Holder owner(TestServer server) {
        User owner = server.core().users.list().stream()
                .filter(u -> u.role() == Role.OWNER)
                .findFirst()
                .orElseGet(() -> server.createUser(name("owner"), Role.OWNER).user());
        return withKey(server, owner, AccessLevel.FULL);
    }

    /** A JSON object from name, value pairs (values: anything Jackson writes, null included). */
    public static String json(Object... pairs) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i + 1 < pairs.length; i += 2) {
            m.put((String) pairs[i], pairs[i + 1]);
        }
        try {
            return Json.MAPPER.writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Parses JSON text, to compare response bodies as trees. */
    public static JsonNode tree(String json) {
        try {
            return Json.MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** An urlencoded form from name, value pairs. */
    public static String form(String... pairs) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i + 1 < pairs.length; i += 2) {
            if (!sb.isEmpty()) {
                sb.append('&');
            }
            sb.append(URLEncoder.encode(pairs[i], StandardCharsets.UTF_8))
                    .append('=')
                    .append(URLEncoder.encode(pairs[i + 1], StandardCharsets.UTF_8));
        }
        return sb.toString();
    }

    /** POSTs a multipart/form-data body, as {@code curl -F name=value …} does. */
    public static Http.Response postMultipart(Http http, String path, String... pairs) {
        String boundary = "----pierTestBoundary" + UUID.randomUUID().toString().replace("-", "");
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (int i = 0; i + 1 < pairs.length; i += 2) {
            String part = "--" + boundary + "\r\n"
                    + "Content-Disposition: form-data; name=\"" + pairs[i] + "\"\r\n\r\n"
                    + pairs[i + 1] + "\r\n";
            body.writeBytes(part.getBytes(StandardCharsets.UTF_8));
        }
        body.writeBytes(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        HttpRequest req = HttpRequest.newBuilder(URI.create(http.base() + path))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray()))
                .build();
        return http.send(req);
    }

    /** Every row of a table, column names in lower case. */
    public static List<Map<String, Object>> rows(TestServer server, String sql, Object... params) {
        return server.core().db.jdbi().withHandle(h -> {
            var q = h.createQuery(sql);
            for (int i = 0; i < params.length; i++) {
                q.bind(i, params[i]);
            }
            return q.mapToMap().list();
        });
    }

    /** The audit entries of one action about one target, oldest first. */
    public static List<Map<String, Object>> audit(TestServer server, String action, String target) {
        return rows(server, "SELECT * FROM audit_log WHERE action = ? AND target = ? ORDER BY id", action, target);
    }

    public static int keyCount(TestServer server) {
        return server.core()
                .db
                .jdbi()
                .withHandle(h -> h.createQuery("SELECT COUNT(*) FROM api_keys")
                        .mapTo(Integer.class)
                        .one());
    }

    /** Asserts a User API keys error: {@code {"status":"error","error_id":id,"message":…}}. */
    public static JsonNode assertUserKeysError(Http.Response r, int status, String errorId) {
        assertThat(r.status()).as("status of %s", r.body()).isEqualTo(status);
        JsonNode b = r.json();
        assertThat(b.path("status").asText()).as(r.body()).isEqualTo("error");
        assertThat(b.path("error_id").asText()).as(r.body()).isEqualTo(errorId);
        assertThat(b.path("message").asText()).as(r.body()).isNotBlank();
        return b;
    }

    /** Asserts an error of the API tokens or Panel families: exactly {@code {"error": message}}. */
    public static String assertPlainError(Http.Response r, int status) {
        assertThat(r.status()).as("status of %s", r.body()).isEqualTo(status);
        JsonNode b = r.json();
        assertThat(b.isObject()).as(r.body()).isTrue();
        assertThat(b.size()).as("only an 'error' field in %s", r.body()).isEqualTo(1);
        assertThat(b.path("error").isTextual()).as(r.body()).isTrue();
        assertThat(b.path("error").asText()).as(r.body()).isNotBlank();
        return b.path("error").asText();
    }

    /** A body of {@code bytes} bytes: a JSON object whose one string fills it. */
    public static String bigJson(int bytes) {
        String head = "{\"description\":\"";
        String tail = "\"}";
        return head + "x".repeat(bytes - head.length() - tail.length()) + tail;
    }

    public static final int MIB = 1024 * 1024;
}
