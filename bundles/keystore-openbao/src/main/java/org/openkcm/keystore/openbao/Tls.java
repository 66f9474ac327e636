package org.openkcm.keystore.openbao;

import java.io.IOException;
import java.io.StringReader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMException;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.bouncycastle.util.encoders.DecoderException;
import org.openkcm.keystore.secrets.BoundedRead;
import org.openkcm.keystore.secrets.FileRefusedException;

/**
 * Builds the {@link SSLContext} of one configuration: the CA file to trust (or the JVM's trust
 * store), an optional client certificate and key for mutual TLS, or, only when
 * {@code tls.verify=false}, no verification at all. PEM only, read once at activation, parsed by
 * Bouncy Castle (bcpkix).
 */
final class Tls {
    private static final char[] NO_PASSWORD = new char[0];

    private Tls() {
    }

    /** @throws IllegalArgumentException naming the property whose file cannot be used */
    static SSLContext context(OpenBaoSettings settings) {
        try {
            TrustManager[] trust = settings.tlsVerify ? trustManagers(settings.tlsCaFile) : trustAll();
            KeyManager[] keys = settings.tlsClientCertFile == null ? null
                    : keyManagers(settings.tlsClientCertFile, settings.tlsClientKeyFile);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys, trust, new SecureRandom());
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("tls: cannot set up TLS: " + e.getMessage(), e);
        }
    }

    private static TrustManager[] trustManagers(Path caFile) throws GeneralSecurityException {
        TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        if (caFile == null) {
            factory.init((KeyStore) null);
            return factory.getTrustManagers();
        }
        List<X509Certificate> certificates = certificates("tls.ca.file", caFile);
        KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
        try {
            store.load(null, null);
        } catch (IOException e) {
            throw new GeneralSecurityException(e);
        }
        for (int i = 0; i < certificates.size(); i++) {
            store.setCertificateEntry("ca-" + i, certificates.get(i));
        }
        factory.init(store);
        return factory.getTrustManagers();
    }

    private static KeyManager[] keyManagers(Path certFile, Path keyFile) throws GeneralSecurityException {
        List<X509Certificate> chain = certificates("tls.client.cert.file", certFile);
        PrivateKey key = privateKey(keyFile, chain.get(0).getPublicKey().getAlgorithm());
        KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
        try {
            store.load(null, null);
        } catch (IOException e) {
            throw new GeneralSecurityException(e);
        }
        store.setKeyEntry("client", key, NO_PASSWORD, chain.toArray(new Certificate[0]));
        KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        factory.init(store, NO_PASSWORD);
        return factory.getKeyManagers();
    }

    private static List<X509Certificate> certificates(String property, Path file) {
        List<X509Certificate> certificates = new ArrayList<>();
        JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
        try {
            for (Object block : blocks(property, file)) {
                if (block instanceof X509CertificateHolder certificate) {
                    certificates.add(converter.getCertificate(certificate));
                }
            }
        } catch (CertificateException e) {
            throw new IllegalArgumentException(property + ": " + file + " holds a certificate that cannot be read ("
                    + e.getMessage() + ")");
        }
        if (certificates.isEmpty()) {
            throw new IllegalArgumentException(property + ": " + file + " holds no PEM CERTIFICATE block");
        }
        return certificates;
    }

    /**
     * The first private key of the file: PKCS#8 ({@code PRIVATE KEY}), PKCS#1 RSA ({@code RSA
     * PRIVATE KEY}) or SEC1 EC ({@code EC PRIVATE KEY}); an encrypted one is refused.
     */
    private static PrivateKey privateKey(Path file, String algorithm) {
        for (Object block : blocks("tls.client.key.file", file)) {
            PrivateKeyInfo info;
            if (block instanceof PrivateKeyInfo pkcs8) {
                info = pkcs8;
            } else if (block instanceof PEMKeyPair pair) {
                info = pair.getPrivateKeyInfo();
            } else if (block instanceof PKCS8EncryptedPrivateKeyInfo || block instanceof PEMEncryptedKeyPair) {
                throw new IllegalArgumentException("tls.client.key.file: " + file
                        + " is encrypted; give an unencrypted key readable only by this service");
            } else {
                continue;
            }
            if (X9ObjectIdentifiers.id_ecPublicKey.equals(info.getPrivateKeyAlgorithm().getAlgorithm())
                    && info.getPrivateKeyAlgorithm().getParameters() == null) {
                throw new IllegalArgumentException("tls.client.key.file: the EC key does not name its curve; convert"
                        + " it to PKCS#8 (openssl pkcs8 -topk8 -nocrypt)");
            }
            PrivateKey key;
            try {
                key = new JcaPEMKeyConverter().getPrivateKey(info);
            } catch (PEMException e) {
                key = null;
            }
            if (key == null || !key.getAlgorithm().equals(algorithm)) {
                throw new IllegalArgumentException("tls.client.key.file: " + file + " does not hold an " + algorithm
                        + " private key matching tls.client.cert.file");
            }
            return key;
        }
        throw new IllegalArgumentException("tls.client.key.file: " + file + " holds no PEM private key");
    }

    /** The PEM objects of the file as Bouncy Castle reads them (certificates, keys, key pairs…), in order. */
    private static List<Object> blocks(String property, Path file) {
        String text;
        try {
            // A regular file (a FIFO would block), of at most 64 KiB: PEM certificates and keys are small.
            text = BoundedRead.text(file, BoundedRead.KEY_FILE_BYTES, BoundedRead.Links.FOLLOW, StandardCharsets.US_ASCII);
        } catch (FileRefusedException e) {
            throw new IllegalArgumentException(property + ": " + e.getMessage());
        } catch (IOException e) {
            throw new IllegalArgumentException(property + ": cannot read " + file + " (" + e.getClass().getSimpleName()
                    + ")");
        }
        List<Object> blocks = new ArrayList<>();
        try (PEMParser parser = new PEMParser(new StringReader(text))) {
            for (Object block = parser.readObject(); block != null; block = parser.readObject()) {
                blocks.add(block);
            }
        } catch (DecoderException e) {
            throw new IllegalArgumentException(property + ": " + file + " holds a PEM block that is not base64");
        } catch (IOException | IllegalArgumentException | IllegalStateException e) {
            // a block whose DER content is not what its type says (Bouncy Castle wraps or throws the cause)
            throw new IllegalArgumentException(property + ": " + file + " holds a PEM block that cannot be read ("
                    + e.getMessage() + ")");
        }
        return blocks;
    }

    /** Trusts any server, host name included: only for {@code tls.verify=false}. */
    private static TrustManager[] trustAll() {
        return new TrustManager[] {new X509ExtendedTrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
                // Verification is switched off by tls.verify=false.
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
                // Verification is switched off by tls.verify=false.
            }

            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {
                // Verification is switched off by tls.verify=false.
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {
                // Verification is switched off by tls.verify=false.
            }

            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
                // Verification is switched off by tls.verify=false.
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
                // Verification is switched off by tls.verify=false.
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        }};
    }
}
