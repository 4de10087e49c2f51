package dev.pier.http;

import dev.pier.config.ConfigException;
import io.javalin.config.JavalinConfig;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.List;
import java.util.stream.Stream;

/**
 * HTTPS from a directory holding one {@code *.crt} (PEM, leaf first, chain may follow) and one
 * {@code *.key} (PEM, PKCS#8 or PKCS#1), like the Matrix document's {@code --ssl-src}.
 */
public final class Tls {
    private Tls() {}

    public static void configure(JavalinConfig cfg, Path dir, String host, int port) {
        KeyStore ks = keyStore(dir);
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        ssl.setKeyStore(ks);
        ssl.setKeyStorePassword("");
        cfg.jetty.addConnector((server, httpConfig) -> {
            httpConfig.addCustomizer(new SecureRequestCustomizer(false));
            ServerConnector c = new ServerConnector(
                    server, new SslConnectionFactory(ssl, "http/1.1"), new HttpConnectionFactory(httpConfig));
            c.setHost(host);
            c.setPort(port);
            return c;
        });
    }

    static KeyStore keyStore(Path dir) {
        Path crt = only(dir, ".crt");
        Path key = only(dir, ".key");
        try {
            List<Certificate> chain;
            try (InputStream in = Files.newInputStream(crt)) {
                chain = List.copyOf(CertificateFactory.getInstance("X.509").generateCertificates(in));
            }
            if (chain.isEmpty()) {
                throw new ConfigException("no certificate in " + crt);
            }
            PrivateKey pk;
            try (Reader r = Files.newBufferedReader(key);
                    PEMParser p = new PEMParser(r)) {
                Object o = p.readObject();
                JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
                if (o instanceof PEMKeyPair kp) {
                    pk = conv.getKeyPair(kp).getPrivate();
                } else if (o instanceof PrivateKeyInfo info) {
                    pk = conv.getPrivateKey(info);
                } else {
                    throw new ConfigException("no unencrypted PEM private key in " + key);
                }
            }
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("pier", pk, new char[0], chain.toArray(Certificate[]::new));
            return ks;
        } catch (IOException | java.security.GeneralSecurityException e) {
            throw new ConfigException("cannot load TLS material from " + dir + ": " + e.getMessage());
        }
    }

    private static Path only(Path dir, String suffix) {
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> found = s.filter(p -> p.getFileName().toString().endsWith(suffix))
                    .sorted()
                    .toList();
            if (found.size() != 1) {
                throw new ConfigException(
                        "TLS directory " + dir + " must hold exactly one *" + suffix + " file, found " + found.size());
            }
            return found.getFirst();
        } catch (IOException e) {
            throw new ConfigException("cannot read TLS directory " + dir + ": " + e.getMessage());
        }
    }
}
