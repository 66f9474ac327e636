package org.openkcm.keystore.openbao;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import org.openkcm.keystore.secrets.BoundedRead;
import org.openkcm.keystore.secrets.FileRefusedException;

/**
 * Builds the {@link SSLContext} of one configuration: the CA file to trust (or the JVM's trust
 * store), an optional client certificate and key for mutual TLS, or, only when
 * {@code tls.verify=false}, no verification at all. PEM only, read once at activation.
 */
final class Tls {
    private static final Pattern PEM = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");
    /** The ASN.1 object identifiers a key wrapped into PKCS#8 needs. */
    private static final byte[] OID_RSA = {0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01,
            0x01, 0x01};
    private static final byte[] OID_EC = {0x06, 0x07, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01};
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
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            for (Block block : blocks(property, file)) {
                if (block.type.equals("CERTIFICATE")) {
                    certificates.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(block.der)));
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

    private static PrivateKey privateKey(Path file, String algorithm) {
        for (Block block : blocks("tls.client.key.file", file)) {
            byte[] pkcs8;
            switch (block.type) {
                case "PRIVATE KEY":
                    pkcs8 = block.der;
                    break;
                case "RSA PRIVATE KEY":
                    pkcs8 = pkcs8(OID_RSA, new byte[] {0x05, 0x00}, block.der);
                    break;
                case "EC PRIVATE KEY":
                    pkcs8 = pkcs8(OID_EC, sec1CurveOid(block.der), block.der);
                    break;
                case "ENCRYPTED PRIVATE KEY":
                    throw new IllegalArgumentException("tls.client.key.file: " + file
                            + " is encrypted; give an unencrypted key readable only by this service");
                default:
                    continue;
            }
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
            } catch (GeneralSecurityException | IllegalArgumentException e) {
                throw new IllegalArgumentException("tls.client.key.file: " + file + " does not hold an " + algorithm
                        + " private key matching tls.client.cert.file");
            }
        }
        throw new IllegalArgumentException("tls.client.key.file: " + file + " holds no PEM private key");
    }

    /** PrivateKeyInfo ::= SEQUENCE { version 0, AlgorithmIdentifier { oid, parameters }, OCTET STRING key } */
    private static byte[] pkcs8(byte[] algorithmOid, byte[] parameters, byte[] key) {
        byte[] algorithm = der(0x30, concat(algorithmOid, parameters));
        return der(0x30, concat(new byte[] {0x02, 0x01, 0x00}, algorithm, der(0x04, key)));
    }

    /** The named-curve OID in the [0] parameters of a SEC1 ECPrivateKey. */
    private static byte[] sec1CurveOid(byte[] sec1) {
        // ECPrivateKey ::= SEQUENCE { version INTEGER, privateKey OCTET STRING, [0] parameters, [1] publicKey }
        int[] outer = header(sec1, 0);
        int pos = outer[0];
        int end = outer[0] + outer[1];
        while (pos < end) {
            int tag = sec1[pos] & 0xff;
            int[] h = header(sec1, pos);
            if (tag == 0xa0) {
                int[] oid = header(sec1, h[0]);
                int start = h[0];
                byte[] out = new byte[oid[0] + oid[1] - start];
                System.arraycopy(sec1, start, out, 0, out.length);
                return out;
            }
            pos = h[0] + h[1];
        }
        throw new IllegalArgumentException("tls.client.key.file: the EC key does not name its curve; convert it to"
                + " PKCS#8 (openssl pkcs8 -topk8 -nocrypt)");
    }

    /** {content offset, content length} of the DER element at {@code pos}. */
    private static int[] header(byte[] der, int pos) {
        try {
            int length = der[pos + 1] & 0xff;
            int offset = pos + 2;
            if (length > 0x80) {
                int bytes = length - 0x80;
                length = 0;
                for (int i = 0; i < bytes; i++) {
                    length = (length << 8) | (der[offset + i] & 0xff);
                }
                offset += bytes;
            }
            return new int[] {offset, length};
        } catch (ArrayIndexOutOfBoundsException e) {
            throw new IllegalArgumentException("tls.client.key.file: the key is not valid DER");
        }
    }

    private static byte[] der(int tag, byte[] content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(tag);
        int length = content.length;
        if (length < 0x80) {
            out.write(length);
        } else if (length < 0x100) {
            out.write(0x81);
            out.write(length);
        } else if (length < 0x10000) {
            out.write(0x82);
            out.write(length >> 8);
            out.write(length);
        } else {
            out.write(0x83);
            out.write(length >> 16);
            out.write(length >> 8);
            out.write(length);
        }
        out.write(content, 0, content.length);
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.write(part, 0, part.length);
        }
        return out.toByteArray();
    }

    private static List<Block> blocks(String property, Path file) {
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
        List<Block> blocks = new ArrayList<>();
        Matcher m = PEM.matcher(text);
        while (m.find()) {
            try {
                blocks.add(new Block(m.group(1), Base64.getMimeDecoder().decode(m.group(2))));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(property + ": " + file + " holds a PEM block that is not base64");
            }
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

    private static final class Block {
        final String type;
        final byte[] der;

        Block(String type, byte[] der) {
            this.type = type;
            this.der = der;
        }
    }
}
