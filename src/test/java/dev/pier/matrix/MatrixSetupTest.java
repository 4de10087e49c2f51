package dev.pier.matrix;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.zxing.BarcodeFormat;
import com.google.zxing.BinaryBitmap;
import com.google.zxing.DecodeHintType;
import com.google.zxing.MultiFormatReader;
import com.google.zxing.NotFoundException;
import com.google.zxing.client.j2se.BufferedImageLuminanceSource;
import com.google.zxing.common.HybridBinarizer;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Matrix;
import dev.pier.support.Shared;
import dev.pier.support.TestServer;
import dev.pier.users.Enrollment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.pier.support.Matrix.assertError;
import static dev.pier.support.Matrix.assertTokens;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code GET /api/v1/user/auth/setup/:user}: the authenticator enrolment. The QR code is decoded for
 * real and its secret used to log in. The owner may set up anyone; an admin only users below admin.
 */
class MatrixSetupTest {
    private static final String SETUP = "/api/v1/user/auth/setup/";
    private static final String PNG_PREFIX = "data:image/png;base64,";
    private static final AtomicInteger SEQ = new AtomicInteger();

    @Shared
    static TestServer server;

    static Http http;
    static Enrollment owner;

    @BeforeAll
    static void start() {
        http = server.http();
        owner = server.createUser("Chief.Owner", Role.OWNER);
    }

    private static Enrollment user(Role role) {
        return server.createUser("Setup." + role.wire() + "_" + SEQ.incrementAndGet(), role);
    }

    private static Http.Response setup(String username, String token) {
        return http.get(SETUP + username, Matrix.bearer(token));
    }

    private static JsonNode assertEnrollment(Http.Response r) {
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        JsonNode body = r.json();
        assertThat(body.size()).isEqualTo(2);
        assertThat(body.get("qr").asText()).startsWith(PNG_PREFIX);
        // 20 random bytes in unpadded Base32, as authenticator apps expect
        assertThat(body.get("secret").asText()).matches("[A-Z2-7]{32}");
        return body;
    }

    static String decodeQr(String dataUri) throws IOException, NotFoundException {
        byte[] png = Base64.getDecoder().decode(dataUri.substring(PNG_PREFIX.length()));
        assertThat(png).startsWith(0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n');
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
        assertThat(image).as("a readable PNG").isNotNull();
        BinaryBitmap bitmap = new BinaryBitmap(new HybridBinarizer(new BufferedImageLuminanceSource(image)));
        return new MultiFormatReader()
                .decode(
                        bitmap,
                        Map.of(
                                DecodeHintType.POSSIBLE_FORMATS,
                                List.of(BarcodeFormat.QR_CODE),
                                DecodeHintType.TRY_HARDER,
                                Boolean.TRUE))
                .getText();
    }

    static Map<String, String> query(URI uri) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String pair : uri.getRawQuery().split("&")) {
            int eq = pair.indexOf('=');
            m.put(
                    URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                    URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
        }
        return m;
    }

    @Test
    void owner_gets_a_png_qr_code_and_the_secret() {
        Enrollment v = user(Role.VIEWER);
        Http.Response r = setup(v.user().username(), server.accessToken(owner));
        JsonNode body = assertEnrollment(r);
        assertThat(body.get("secret").asText()).isEqualTo(v.secretBase32());
        assertThat(r.header("Cache-Control")).isEqualTo("no-store");
    }

    @Test
    void qr_code_encodes_the_otpauth_uri_with_that_secret() throws Exception {
        Enrollment v = user(Role.VIEWER);
        JsonNode body = assertEnrollment(setup(v.user().username(), server.accessToken(owner)));
        String text = decodeQr(body.get("qr").asText());
        String secret = body.get("secret").asText();

        assertThat(text)
                .startsWith("otpauth://totp/Pier:" + v.user().username() + "?secret=" + secret + "&issuer=Pier");
        URI uri = URI.create(text);
        assertThat(uri.getScheme()).isEqualTo("otpauth");
        assertThat(uri.getHost()).isEqualTo("totp");
        assertThat(uri.getPath()).isEqualTo("/Pier:" + v.user().username());
        Map<String, String> q = query(uri);
        assertThat(q).containsEntry("secret", secret).containsEntry("issuer", "Pier");
        // optional parameters, if present, must say what the server does
        assertThat(q.getOrDefault("algorithm", "SHA1")).isEqualTo("SHA1");
        assertThat(q.getOrDefault("digits", "6")).isEqualTo("6");
        assertThat(q.getOrDefault("period", "30")).isEqualTo("30");
    }

    @Test
    void secret_from_setup_logs_the_user_in() throws Exception {
        Enrollment m = user(Role.MANAGER);
        JsonNode body = assertEnrollment(setup(m.user().username(), server.accessToken(owner)));
        String secretInQr = query(URI.create(decodeQr(body.get("qr").asText()))).get("secret");
        String code = Matrix.code(secretInQr, server.clock.instant(), 0);
        assertTokens(Matrix.login(http, m.user().username(), code));
    }

    @Test
    void setup_shows_a_pending_secret_until_its_first_use_and_leaves_sessions_alone() {
        Enrollment v = user(Role.VIEWER);
        String ownerToken = server.accessToken(owner);
        String first = assertEnrollment(setup(v.user().username(), ownerToken))
                .get("secret")
                .asText();
        String second = assertEnrollment(setup(v.user().username(), ownerToken))
                .get("secret")
                .asText();
        assertThat(second).isEqualTo(first).isEqualTo(v.secretBase32());
        JsonNode session = assertTokens(server.login(v));
        server.clock.advance(Duration.ofSeconds(30));
        // active now: never shown again, and the session it opened is untouched
        Http.Response again = setup(v.user().username(), ownerToken);
        assertError(again, 409, 409);
        assertThat(again.body()).doesNotContain(first).contains("reset");
        Http.Response stillIn = http.delete(
                "/api/v1/user/auth/revoke/nobody",
                Matrix.bearer(session.get("access_token").asText()));
        assertError(stillIn, 400, 903);
    }

    @Test
    void owner_may_set_up_an_admin_but_not_see_their_own_active_secret() {
        String t = server.accessToken(owner);
        Http.Response own = setup(owner.user().username(), t);
        assertError(own, 409, 409);
        assertThat(own.body()).doesNotContain(owner.secretBase32());
        Enrollment admin = user(Role.ADMIN);
        assertThat(assertEnrollment(setup(admin.user().username(), t))
                        .get("secret")
                        .asText())
                .isEqualTo(admin.secretBase32());
    }

    @Test
    void admin_may_set_up_a_viewer_and_a_manager() {
        String t = server.accessToken(user(Role.ADMIN));
        assertEnrollment(setup(user(Role.VIEWER).user().username(), t));
        assertEnrollment(setup(user(Role.MANAGER).user().username(), t));
    }

    @Test
    void admin_may_not_set_up_another_admin_the_owner_or_themselves() {
        Enrollment admin = user(Role.ADMIN);
        String t = server.accessToken(admin);
        // answered as for a name that does not exist: the answer does not tell who exists
        Enrollment other = user(Role.ADMIN);
        assertError(setup(other.user().username(), t), 400, 903);
        assertThat(setup(other.user().username(), t).body()).doesNotContain(other.secretBase32());
        assertError(setup(owner.user().username(), t), 400, 903);
        assertError(setup(admin.user().username(), t), 400, 903);
    }

    @Test
    void viewer_and_manager_may_not_set_up_anyone_not_even_themselves() {
        for (Role role : new Role[] {Role.VIEWER, Role.MANAGER}) {
            Enrollment e = user(role);
            String t = server.accessToken(e);
            Http.Response self = setup(e.user().username(), t);
            assertError(self, 403, 912);
            assertThat(self.body()).doesNotContain(e.secretBase32());
            assertError(setup(user(Role.VIEWER).user().username(), t), 403, 912);
        }
    }

    @Test
    void setup_of_an_unknown_user_answers_903() {
        String t = server.accessToken(owner);
        assertError(setup("no-such-user", t), 400, 903);
        assertError(setup("x".repeat(500), t), 400, 903);
        assertError(setup("%27%20OR%20%271%27%3D%271", t), 400, 903);
    }

    @Test
    void setup_without_a_valid_token_is_refused() {
        Enrollment v = user(Role.VIEWER);
        assertError(http.get(SETUP + v.user().username()), 401, 904);
        assertError(setup(v.user().username(), "a".repeat(64)), 401, 908);
    }

    @Test
    void refresh_token_cannot_open_setup() {
        JsonNode t = assertTokens(server.login(owner));
        server.clock.advance(Duration.ofSeconds(30));
        Enrollment v = user(Role.VIEWER);
        assertError(setup(v.user().username(), t.get("refresh_token").asText()), 401, 908);
    }
}
