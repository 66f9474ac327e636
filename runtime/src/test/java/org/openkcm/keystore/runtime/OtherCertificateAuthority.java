package org.openkcm.keystore.runtime;

import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;

import javax.security.auth.x500.X500Principal;

import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A client certificate from a CA the keystore does not know, with the admin's subject: what an
 * impostor would present. Written as PEM files for a grpc-java client.
 */
final class OtherCertificateAuthority {
    private OtherCertificateAuthority() {
    }

    /** Writes {@code <folder>/impostor.pem} and {@code impostor.key}, valid from {@code notBefore} to {@code notAfter}. */
    static void writeClient(Path folder, String subject, Instant notBefore, Instant notAfter) throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair ca = generator.generateKeyPair();
        KeyPair client = generator.generateKeyPair();
        X500Principal issuer = new X500Principal("CN=Some other CA");
        var builder = new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(System.nanoTime()),
                Date.from(notBefore), Date.from(notAfter), new X500Principal(subject), client.getPublic());
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        var certificate = new JcaX509CertificateConverter()
                .getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(ca.getPrivate())));
        Files.createDirectories(folder);
        Files.writeString(folder.resolve("impostor.pem"), pem(certificate));
        Files.writeString(folder.resolve("impostor.key"), pem(new JcaPKCS8Generator(client.getPrivate(), null)));
    }

    static void writeClient(Path folder, String subject) throws Exception {
        writeClient(folder, subject, Instant.now().minus(Duration.ofHours(1)), Instant.now().plus(Duration.ofDays(1)));
    }

    private static String pem(Object object) throws Exception {
        StringWriter text = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
            writer.writeObject(object);
        }
        return text.toString();
    }
}
