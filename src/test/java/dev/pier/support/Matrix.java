package dev.pier.support;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.auth.Totp;
import dev.pier.http.Json;
import org.bouncycastle.util.encoders.Base32;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Small helpers for talking the Matrix API in tests: bodies, codes from a Base32 secret, error checks. */
public final class Matrix {
    public static final String AUTH = "/api/v1/user/auth";
    public static final String REFRESH = "/api/v1/user/auth/refresh";

    private Matrix() {}

    /** A JSON object from name, value pairs; values may be any JSON-serializable object (arrays, maps, numbers). */
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

    /** The TOTP code of a Base32 secret (as the setup route or the CLI prints it) at {@code at}, plus {@code offset} steps. */
    public static String code(String secretBase32, Instant at, int offset) {
        return Totp.code(decode(secretBase32), Totp.step(at) + offset);
    }

    public static byte[] decode(String secretBase32) {
        int rem = secretBase32.length() % 8;
        return Base32.decode(rem == 0 ? secretBase32 : secretBase32 + "=".repeat(8 - rem));
    }

    public static Http.Response login(Http http, String username, String code) {
        return http.postJson(AUTH, json("username", username, "code", code));
    }

    public static String[] bearer(String token) {
        return new String[] {"Authorization", "Bearer " + token};
    }

    /** Asserts a Matrix error: the status, and a body of exactly {@code {"error": …, "errorId": id}}. */
    public static JsonNode assertError(Http.Response r, int status, int errorId) {
        assertThat(r.status()).as("status of %s", r.body()).isEqualTo(status);
        JsonNode body = r.json();
        assertThat(body.get("errorId").asInt()).as("errorId of %s", r.body()).isEqualTo(errorId);
        assertThat(body.get("error").isTextual())
                .as("error message in %s", r.body())
                .isTrue();
        assertThat(body.get("error").asText()).isNotBlank();
        assertThat(body.size()).as("fields of %s", r.body()).isEqualTo(2);
        return body;
    }

    /** Asserts a successful token response in the Matrix document's shape and returns it. */
    public static JsonNode assertTokens(Http.Response r) {
        assertThat(r.status()).as("status of %s", r.body()).isEqualTo(200);
        JsonNode body = r.json();
        assertThat(body.get("token_type").asText()).isEqualTo("Bearer");
        assertThat(body.get("expires_in").isIntegralNumber()).isTrue();
        assertThat(body.get("expires_in").asLong()).isEqualTo(7200);
        assertThat(body.get("access_token").asText()).matches("[0-9a-f]{64}");
        assertThat(body.get("refresh_token").asText()).matches("[0-9a-f]{64}");
        assertThat(body.get("access_token").asText())
                .isNotEqualTo(body.get("refresh_token").asText());
        assertThat(body.size()).isEqualTo(4);
        return body;
    }
}
