package org.openkcm.keystore.grpc;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.io.Writer;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.List;
import java.util.Set;

import javax.security.auth.x500.X500Principal;

import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.openkcm.keystore.secrets.BoundedRead;

/**
 * The keystore's own certificate authority, kept in a folder that only the runtime's user can read
 * ({@code data/tls/}): it issues the loopback server certificate, the admin client certificate and
 * the client certificates of applications. Keys are EC P-256, written as PKCS#8 PEM files with
 * owner-only permissions. Bouncy Castle builds the certificates; the JDK's providers make the keys
 * and the signatures, so no security provider is registered.
 */
final class LocalCertificateAuthority {
    static final String CA_CERTIFICATE = "ca.pem";
    static final String CA_KEY = "ca.key";
    static final String SERVER_CERTIFICATE = "server.pem";
    static final String SERVER_KEY = "server.key";
    static final String ADMIN_CERTIFICATE = "admin.pem";
    static final String ADMIN_KEY = "admin.key";
    /** The subject of the admin client certificate, which the shipped admin grant matches. */
    static final X500Principal ADMIN_SUBJECT = new X500Principal("CN=keystore-admin,O=OpenKCM Keystore");
    static final String CLIENTS = "clients";

    private static final Set<PosixFilePermission> OWNER_FILE = PosixFilePermissions.fromString("rw-------");
    private static final Set<PosixFilePermission> OWNER_FOLDER = PosixFilePermissions.fromString("rwx------");
    private static final Duration CA_LIFETIME = Duration.ofDays(3650);
    private static final Duration LEAF_LIFETIME = Duration.ofDays(825);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path folder;
    private final X509Certificate certificate;
    private final PrivateKey key;

    private LocalCertificateAuthority(Path folder, X509Certificate certificate, PrivateKey key) {
        this.folder = folder;
        this.certificate = certificate;
        this.key = key;
    }

    /**
     * The authority in the folder; on first use creates it there, with a server certificate for
     * loopback and the admin client certificate.
     */
    static LocalCertificateAuthority openOrCreate(Path folder) throws IOException, GeneralSecurityException {
        Path caCertificate = folder.resolve(CA_CERTIFICATE);
        if (Files.exists(caCertificate)) {
            return open(folder);
        }
        createFolder(folder);
        KeyPair pair = newKeyPair();
        X500Principal subject = new X500Principal("CN=OpenKCM Keystore local CA");
        Instant now = Instant.now();
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject, serial(),
                Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(CA_LIFETIME)), subject,
                pair.getPublic());
        JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
        builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        builder.addExtension(Extension.subjectKeyIdentifier, false,
                extensions.createSubjectKeyIdentifier(pair.getPublic()));
        X509Certificate ca = sign(builder, pair.getPrivate());
        writeOwnerOnly(folder.resolve(CA_KEY), pem(pair.getPrivate()));
        LocalCertificateAuthority authority = new LocalCertificateAuthority(folder, ca, pair.getPrivate());
        authority.issueServer(folder.resolve(SERVER_CERTIFICATE), folder.resolve(SERVER_KEY));
        authority.issueClient(ADMIN_SUBJECT, folder.resolve(ADMIN_CERTIFICATE), folder.resolve(ADMIN_KEY));
        // The CA certificate last: its presence means the folder is complete.
        writeOwnerOnly(caCertificate, pem(ca));
        return authority;
    }

    static LocalCertificateAuthority open(Path folder) throws IOException, GeneralSecurityException {
        X509Certificate ca = readCertificates(folder.resolve(CA_CERTIFICATE)).get(0);
        PrivateKey key = readPrivateKey(folder.resolve(CA_KEY));
        return new LocalCertificateAuthority(folder, ca, key);
    }

    Path folder() {
        return folder;
    }

    X509Certificate certificate() {
        return certificate;
    }

    /** A server certificate for localhost, 127.0.0.1 and ::1. */
    void issueServer(Path certificateFile, Path keyFile) throws IOException, GeneralSecurityException {
        List<GeneralName> names = List.of(new GeneralName(GeneralName.dNSName, "localhost"),
                new GeneralName(GeneralName.iPAddress, "127.0.0.1"), new GeneralName(GeneralName.iPAddress, "::1"));
        issue(new X500Principal("CN=localhost,O=OpenKCM Keystore"), names, KeyPurposeId.id_kp_serverAuth,
                certificateFile, keyFile);
    }

    /** A client certificate with this subject (a grant matches it by subject). */
    void issueClient(X500Principal subject, Path certificateFile, Path keyFile)
            throws IOException, GeneralSecurityException {
        issue(subject, List.of(), KeyPurposeId.id_kp_clientAuth, certificateFile, keyFile);
    }

    private void issue(X500Principal subject, List<GeneralName> names, KeyPurposeId purpose, Path certificateFile,
            Path keyFile) throws IOException, GeneralSecurityException {
        KeyPair pair = newKeyPair();
        Instant now = Instant.now();
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(certificate, serial(),
                Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(LEAF_LIFETIME)), subject,
                pair.getPublic());
        JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
        builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose));
        builder.addExtension(Extension.authorityKeyIdentifier, false,
                extensions.createAuthorityKeyIdentifier(certificate));
        if (!names.isEmpty()) {
            builder.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(names.toArray(GeneralName[]::new)));
        }
        X509Certificate issued = sign(builder, key);
        writeOwnerOnly(keyFile, pem(pair.getPrivate()));
        writeOwnerOnly(certificateFile, pem(issued));
    }

    /** PEM certificates (a CA bundle included) and keys are small: a larger file is refused, not parsed. */
    static final int MAX_PEM_BYTES = BoundedRead.KEY_FILE_BYTES;

    /** A PEM file's bytes: a regular file (a FIFO would block the start) of at most {@link #MAX_PEM_BYTES}. */
    static byte[] readPem(Path file) throws IOException {
        return BoundedRead.bytes(file, MAX_PEM_BYTES, BoundedRead.Links.FOLLOW);
    }

    static List<X509Certificate> readCertificates(Path file) throws IOException, GeneralSecurityException {
        try (var in = new java.io.ByteArrayInputStream(readPem(file))) {
            Collection<? extends java.security.cert.Certificate> read = CertificateFactory.getInstance("X.509")
                    .generateCertificates(in);
            List<X509Certificate> certificates = new ArrayList<>();
            for (var c : read) {
                certificates.add((X509Certificate) c);
            }
            if (certificates.isEmpty()) {
                throw new GeneralSecurityException("no certificate in " + file);
            }
            return certificates;
        }
    }

    static PrivateKey readPrivateKey(Path file) throws IOException {
        byte[] pem = readPem(file);
        try (Reader reader = new java.io.InputStreamReader(new java.io.ByteArrayInputStream(pem), StandardCharsets.US_ASCII);
                PEMParser parser = new PEMParser(reader)) {
            Object read = parser.readObject();
            if (read instanceof PrivateKeyInfo info) {
                return new JcaPEMKeyConverter().getPrivateKey(info);
            }
            throw new IOException("no PKCS#8 private key in " + file);
        }
    }

    private static KeyPair newKeyPair() throws GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
        return generator.generateKeyPair();
    }

    private static BigInteger serial() {
        return new BigInteger(127, RANDOM).add(BigInteger.ONE);
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey signer)
            throws GeneralSecurityException {
        try {
            return new JcaX509CertificateConverter()
                    .getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer)));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException("cannot sign a certificate: " + e.getMessage(), e);
        }
    }

    private static String pem(Object object) throws IOException {
        StringWriter text = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
            if (object instanceof PrivateKey privateKey) {
                writer.writeObject(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(privateKey, null));
            } else {
                writer.writeObject(object);
            }
        }
        return text.toString();
    }

    static void createFolder(Path folder) throws IOException {
        Files.createDirectories(folder);
        setPermissions(folder, OWNER_FOLDER);
    }

    /** Writes a file readable by its owner only, replacing any previous one atomically. */
    static void writeOwnerOnly(Path file, String content) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path temporary = parent.resolve("." + file.getFileName() + ".tmp");
        Files.deleteIfExists(temporary);
        try {
            Files.createFile(temporary, PosixFilePermissions.asFileAttribute(OWNER_FILE));
        } catch (UnsupportedOperationException e) {
            Files.createFile(temporary);
        } catch (FileAlreadyExistsException e) {
            throw new IOException("cannot create " + temporary, e);
        }
        try (Writer writer = Files.newBufferedWriter(temporary, StandardCharsets.US_ASCII,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            writer.write(content);
        }
        Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static void setPermissions(Path path, Set<PosixFilePermission> permissions) throws IOException {
        try {
            Files.setPosixFilePermissions(path, permissions);
        } catch (UnsupportedOperationException e) {
            // Not a POSIX file system: the folder's own access rules apply.
        }
    }
}
