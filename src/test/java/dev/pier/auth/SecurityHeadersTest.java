package dev.pier.auth;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pier.keys.KeyFixtures;
import dev.pier.security.Role;
import dev.pier.support.Http;
import dev.pier.support.Matrix;
import dev.pier.support.Shared;
import dev.pier.support.TestServer;
import dev.pier.users.Enrollment;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 7, item 10: every answer carries {@code X-Content-Type-Options: nosniff}, {@code Referrer-Policy:
 * no-referrer} and a CSP that allows nothing; every answer that can hold a secret (key creation in both
 * families, login, refresh, setup, TOTP reset) is {@code Cache-Control: no-store}, errors included (Pier
 * sends it on every answer); HSTS only under TLS.
 */
class SecurityHeadersTest {
    @Shared
    static TestServer server;

    static Http http;
    static KeyFixtures.Holder owner;

    @BeforeAll
    static void start() {
        http = server.http();
        owner = KeyFixtures.owner(server);
    }

    private static void assertHardened(Http.Response r, String what) {
        assertThat(r.header("X-Content-Type-Options")).as(what).isEqualTo("nosniff");
        assertThat(r.header("Referrer-Policy")).as(what).isEqualTo("no-referrer");
        assertThat(r.header("Content-Security-Policy"))
                .as(what)
                .isEqualTo("default-src 'none'; frame-ancestors 'none'");
        assertThat(r.header("Cache-Control")).as(what).isEqualTo("no-store");
        assertThat(r.header("Strict-Transport-Security"))
                .as("%s: no HSTS over plain HTTP", what)
                .isNull();
    }

    @Test
    void answers_that_hold_a_secret_and_their_errors_are_not_stored() {
        Enrollment e = server.createUser("hdr-user", Role.VIEWER);
        Http.Response login = server.login(e);
        assertThat(login.status()).isEqualTo(200);
        assertHardened(login, "login");
        JsonNode tokens = login.json();
        Http.Response refresh = http.postJson(
                Matrix.REFRESH,
                Matrix.json(
                        "grant_type",
                        "refresh_token",
                        "refresh_token",
                        tokens.get("refresh_token").asText()));
        assertThat(refresh.status()).isEqualTo(200);
        assertHardened(refresh, "refresh");
        Enrollment pending = server.createUser("hdr-pending", Role.VIEWER);
        Http.Response setup =
                http.get("/api/v1/user/auth/setup/" + pending.user().username(), owner.xApiKey());
        assertThat(setup.status()).isEqualTo(200);
        assertHardened(setup, "setup");
        Http.Response reset = http.send("POST", "/api/v1/users/hdr-pending/totp/reset", null, null, owner.xApiKey());
        assertThat(reset.status()).isEqualTo(200);
        assertHardened(reset, "totp reset");
        Http.Response token = http.postJson("/api/v1/api_tokens", Matrix.json("description", "h"), owner.xApiKey());
        assertThat(token.status()).isEqualTo(200);
        assertHardened(token, "API token creation");
        Http.Response userKey = http.postForm(
                "/api/user/create_apikey", KeyFixtures.form("apikey", owner.key(), "access_level", "basic"));
        assertThat(userKey.status()).isEqualTo(200);
        assertHardened(userKey, "User API key creation");

        // their errors too
        assertHardened(Matrix.login(http, "hdr-user", "000000"), "failed login");
        assertHardened(http.postJson(Matrix.REFRESH, Matrix.json("refresh_token", "nope")), "failed refresh");
        assertHardened(http.get("/api/v1/user/auth/setup/hdr-user", owner.xApiKey()), "setup of an active secret");
        assertHardened(
                http.postJson("/api/v1/api_tokens", Matrix.json("expires", "yesterday"), owner.xApiKey()),
                "refused token");
        assertHardened(
                http.postForm(
                        "/api/user/create_apikey",
                        KeyFixtures.form("username", "hdr-user", "password", "wrong password")),
                "failed password");
    }

    @Test
    void every_answer_is_hardened_whatever_the_route_or_status() {
        for (Http.Response r : List.of(
                http.get("/healthz"),
                http.get("/api/v1/user/list", owner.xApiKey()),
                http.get("/api/v1/user/list"),
                http.get("/api/users", "x-api-key", "pier_nonsense"),
                http.get("/no/such/route"),
                http.get("/api/v1/unknown"),
                http.send("PUT", "/api/v1/nodes", "application/json", "{}", owner.xApiKey()),
                http.send("POST", "/api/v1/api_tokens", "text/plain", "{}", owner.xApiKey()),
                http.postJson("/api/v1/api_tokens", "{", owner.xApiKey()))) {
            assertHardened(r, r.status() + " " + r.body());
        }
    }

    @Test
    void hsts_is_sent_under_tls() throws Exception {
        Path dir = Files.createTempDirectory("pier-tls");
        writeSelfSigned(dir);
        try (TestServer tls = TestServer.start(c -> c.withTls(dir))) {
            SSLContext trustAll = SSLContext.getInstance("TLS");
            trustAll.init(
                    null,
                    new TrustManager[] {
                        new X509TrustManager() {
                            @Override
                            public void checkClientTrusted(X509Certificate[] chain, String authType) {}

                            @Override
                            public void checkServerTrusted(X509Certificate[] chain, String authType) {}

                            @Override
                            public X509Certificate[] getAcceptedIssuers() {
                                return new X509Certificate[0];
                            }
                        }
                    },
                    new SecureRandom());
            HttpClient client = HttpClient.newBuilder()
                    .sslContext(trustAll)
                    .connectTimeout(Duration.ofSeconds(5))
                    .build();
            for (String path : new String[] {"/healthz", "/api/v1/user/list", "/nowhere"}) {
                HttpResponse<String> r = client.send(
                        HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + tls.port() + path))
                                .timeout(Duration.ofSeconds(10))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(r.headers().firstValue("Strict-Transport-Security"))
                        .as(path)
                        .contains("max-age=63072000");
                assertThat(r.headers().firstValue("X-Content-Type-Options"))
                        .as(path)
                        .contains("nosniff");
            }
        } finally {
            try (var files = Files.list(dir)) {
                files.forEach(p -> p.toFile().delete());
            }
            Files.deleteIfExists(dir);
        }
    }

    private static void writeSelfSigned(Path dir) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair keys = g.generateKeyPair();
        X500Name name = new X500Name("CN=localhost");
        Instant now = Instant.now();
        var builder = new JcaX509v3CertificateBuilder(
                name,
                new BigInteger(64, new SecureRandom()),
                Date.from(now.minus(Duration.ofHours(1))),
                Date.from(now.plus(Duration.ofDays(1))),
                name,
                keys.getPublic());
        builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
            new GeneralName(GeneralName.iPAddress, "127.0.0.1")
        }));
        var cert = builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate()));
        StringWriter crt = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(crt)) {
            w.writeObject(cert);
        }
        StringWriter key = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(key)) {
            w.writeObject(new JcaPKCS8Generator(keys.getPrivate(), null));
        }
        Files.writeString(dir.resolve("server.crt"), crt.toString());
        Files.writeString(dir.resolve("server.key"), key.toString());
    }
}
