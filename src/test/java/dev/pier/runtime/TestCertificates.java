package dev.pier.runtime;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;

/** A throwaway CA with a server certificate for 127.0.0.1/localhost and a client certificate, as PEM. */
final class TestCertificates {
    final String caPem;
    final String serverCertPem;
    final String serverKeyPem;
    final String clientCertPem;
    final String clientKeyPem;

    private TestCertificates(
            String caPem, String serverCertPem, String serverKeyPem, String clientCertPem, String clientKeyPem) {
        this.caPem = caPem;
        this.serverCertPem = serverCertPem;
        this.serverKeyPem = serverKeyPem;
        this.clientCertPem = clientCertPem;
        this.clientKeyPem = clientKeyPem;
    }

    TlsMaterial clientMaterial() {
        return new TlsMaterial(caPem, clientCertPem, clientKeyPem);
    }

    static TestCertificates generate(String name) {
        try {
            KeyPair ca = keyPair();
            X500Name caName = new X500Name("CN=" + name + " test CA");
            X509CertificateHolder caCert = sign(caName, ca, caName, ca, true, null, null);

            KeyPair server = keyPair();
            X509CertificateHolder serverCert = sign(
                    new X500Name("CN=localhost"),
                    server,
                    caName,
                    ca,
                    false,
                    KeyPurposeId.id_kp_serverAuth,
                    new GeneralNames(new GeneralName[] {
                        new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
                        new GeneralName(GeneralName.dNSName, "localhost")
                    }));

            KeyPair client = keyPair();
            X509CertificateHolder clientCert =
                    sign(new X500Name("CN=pier"), client, caName, ca, false, KeyPurposeId.id_kp_clientAuth, null);

            return new TestCertificates(
                    pem(caCert), pem(serverCert), pem(server.getPrivate()), pem(clientCert), pem(client.getPrivate()));
        } catch (GeneralSecurityException | IOException | org.bouncycastle.operator.OperatorCreationException e) {
            throw new IllegalStateException(e);
        }
    }

    private static KeyPair keyPair() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    private static X509CertificateHolder sign(
            X500Name subject,
            KeyPair subjectKeys,
            X500Name issuer,
            KeyPair issuerKeys,
            boolean isCa,
            KeyPurposeId purpose,
            GeneralNames sans)
            throws IOException, org.bouncycastle.operator.OperatorCreationException {
        Instant now = Instant.now();
        var builder = new JcaX509v3CertificateBuilder(
                issuer,
                new BigInteger(64, new SecureRandom()),
                Date.from(now.minus(Duration.ofHours(1))),
                Date.from(now.plus(Duration.ofDays(1))),
                subject,
                subjectKeys.getPublic());
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
        if (isCa) {
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        } else {
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose));
        }
        if (sans != null) {
            builder.addExtension(Extension.subjectAlternativeName, false, sans);
        }
        return builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKeys.getPrivate()));
    }

    private static String pem(Object o) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            // keys as PKCS#8 ("PRIVATE KEY"), which keeps the curve with the key, as openssl genpkey writes them
            w.writeObject(o instanceof PrivateKey key ? new JcaPKCS8Generator(key, null) : o);
        }
        return out.toString();
    }
}
