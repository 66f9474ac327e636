package org.openkcm.keystore.plugins;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;

import javax.net.ssl.SSLException;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;

/**
 * go-plugin's AutoMTLS, host side: a fresh key pair and self-signed client certificate per plugin
 * start, handed to the plugin in {@code PLUGIN_CLIENT_CERT} (PEM); the plugin trusts only that
 * certificate, and the host trusts only the server certificate the plugin's handshake carries.
 * The certificate has the shape go-plugin's own client makes (CN and DNS name localhost, client
 * and server auth), so a plugin built with go-plugin accepts it.
 */
final class AutoMtls {
    /** The name both go-plugin certificates carry; the host checks the server certificate against it. */
    static final String HOST_NAME = "localhost";
    private static final Duration VALIDITY = Duration.ofDays(30);

    private final KeyPair keyPair;
    private final X509Certificate certificate;

    private AutoMtls(KeyPair keyPair, X509Certificate certificate) {
        this.keyPair = keyPair;
        this.certificate = certificate;
    }

    static AutoMtls generate() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            KeyPair keyPair = generator.generateKeyPair();
            Instant now = Instant.now();
            X500Name subject = new X500Name("CN=" + HOST_NAME + ",O=OpenKCM Keystore");
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject,
                    new BigInteger(128, new SecureRandom()), Date.from(now.minusSeconds(30)),
                    Date.from(now.plus(VALIDITY)), subject, keyPair.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature
                            | KeyUsage.keyEncipherment | KeyUsage.keyAgreement | KeyUsage.keyCertSign))
                    .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                            new KeyPurposeId[] {KeyPurposeId.id_kp_clientAuth, KeyPurposeId.id_kp_serverAuth}))
                    .addExtension(Extension.subjectAlternativeName, false,
                            new GeneralNames(new GeneralName(GeneralName.dNSName, HOST_NAME)));
            X509Certificate certificate = new JcaX509CertificateConverter().getCertificate(
                    builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keyPair.getPrivate())));
            return new AutoMtls(keyPair, certificate);
        } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
            throw new PluginStartException("could not make the client certificate for the plugin: " + e.getMessage(), e);
        }
    }

    /** The value of {@code PLUGIN_CLIENT_CERT}. */
    String clientCertificatePem() {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter pem = new JcaPEMWriter(out)) {
            pem.writeObject(certificate);
        } catch (IOException e) {
            throw new PluginStartException("could not write the client certificate: " + e.getMessage(), e);
        }
        return out.toString();
    }

    /** TLS for the connection to the plugin: this client certificate, and trust in the plugin's alone. */
    SslContext clientContext(X509Certificate serverCertificate) {
        try {
            // The JDK's TLS, not BoringSSL: go-plugin's server key is P-521, which BoringSSL does not offer.
            return GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
                    .keyManager(keyPair.getPrivate(), certificate)
                    .trustManager(serverCertificate)
                    .build();
        } catch (SSLException e) {
            throw new PluginStartException("could not set up mutual TLS with the plugin: " + e.getMessage(), e);
        }
    }

    /** TLS trusting the plugin's certificate but offering no client certificate: the probe that the plugin demands one. */
    SslContext anonymousClientContext(X509Certificate serverCertificate) {
        try {
            return GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
                    .trustManager(serverCertificate)
                    .build();
        } catch (SSLException e) {
            throw new PluginStartException("could not set up TLS with the plugin: " + e.getMessage(), e);
        }
    }
}
