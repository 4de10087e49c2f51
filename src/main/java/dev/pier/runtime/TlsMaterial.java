package dev.pier.runtime;

import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Base64;
import java.util.Collection;
import java.util.Objects;

/**
 * Client certificates for a Docker engine that listens on TCP with {@code --tlsverify}: the CA that signed
 * the engine's certificate, and Pier's client certificate and private key, all PEM. They can come as text
 * (as stored with a node) or from a directory laid out as Docker's own {@code DOCKER_CERT_PATH}
 * ({@code ca.pem}, {@code cert.pem}, {@code key.pem}). Invalid material is rejected when constructed.
 *
 * <p>The private key never appears in {@link #toString()}.
 */
public record TlsMaterial(String caPem, String certPem, String keyPem) {

    public TlsMaterial {
        Objects.requireNonNull(caPem, "caPem");
        Objects.requireNonNull(certPem, "certPem");
        Objects.requireNonNull(keyPem, "keyPem");
        sslContext(caPem, certPem, keyPem); // fail now, with a clear message, rather than on first use
    }

    /** Reads {@code ca.pem}, {@code cert.pem} and {@code key.pem} from a directory. */
    public static TlsMaterial fromDirectory(Path dir) {
        return fromFiles(dir.resolve("ca.pem"), dir.resolve("cert.pem"), dir.resolve("key.pem"));
    }

    public static TlsMaterial fromFiles(Path ca, Path cert, Path key) {
        return new TlsMaterial(read(ca), read(cert), read(key));
    }

    /** A fresh SSL context trusting only the CA and presenting the client certificate. */
    SSLContext sslContext() {
        return sslContext(caPem, certPem, keyPem);
    }

    @Override
    public String toString() {
        return "TlsMaterial[ca=" + caPem.length() + " chars, cert=" + certPem.length() + " chars, key=(hidden)]";
    }

    private static SSLContext sslContext(String caPem, String certPem, String keyPem) {
        Collection<? extends Certificate> cas = certificates(caPem, "CA certificate");
        Collection<? extends Certificate> chain = certificates(certPem, "client certificate");
        PrivateKey key = privateKey(keyPem);
        try {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            int i = 0;
            for (Certificate ca : cas) {
                trust.setCertificateEntry("ca-" + i++, ca);
            }
            char[] password = randomPassword();
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            keys.setKeyEntry("client", key, password, chain.toArray(Certificate[]::new));

            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, password);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalArgumentException("the TLS certificates cannot be used: " + e.getMessage(), e);
        }
    }

    private static Collection<? extends Certificate> certificates(String pem, String what) {
        try {
            Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
            if (certs.isEmpty()) {
                throw new IllegalArgumentException("the " + what + " PEM holds no certificate");
            }
            return certs;
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("the " + what + " is not a valid PEM certificate: " + e.getMessage(), e);
        }
    }

    private static PrivateKey privateKey(String pem) {
        // PKCS#8 ("PRIVATE KEY") as well as the PKCS#1/SEC1 forms ("RSA/EC PRIVATE KEY") openssl writes
        try (PEMParser parser = new PEMParser(new StringReader(pem))) {
            for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
                PrivateKeyInfo info = o instanceof PEMKeyPair pair
                        ? pair.getPrivateKeyInfo()
                        : o instanceof PrivateKeyInfo i ? i : null;
                if (info != null) {
                    return new JcaPEMKeyConverter().getPrivateKey(info);
                }
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("the client key is not a valid PEM private key: " + e.getMessage(), e);
        }
        throw new IllegalArgumentException("the client key PEM holds no unencrypted private key");
    }

    private static char[] randomPassword() {
        byte[] b = new byte[18];
        new SecureRandom().nextBytes(b);
        return Base64.getEncoder().encodeToString(b).toCharArray();
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
