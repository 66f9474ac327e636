package org.openkcm.keystore.openbao;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.openkcm.keystore.sdk.SampleKeys.minimal;
import static org.openkcm.keystore.sdk.SampleKeys.sealed;

import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;


import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PKCS8Generator;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder;
import org.bouncycastle.openssl.jcajce.JcePEMEncryptorBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;

/**
 * Mutual TLS: an OpenBao listener that requires a client certificate signed by a test CA
 * (certificates made with the JDK's keytool). With the client certificate and key configured the
 * backend works; without them the server refuses the handshake and the backend reports down.
 */
class MutualTlsTest {
    private static final String PASSWORD = "changeit";
    private static OpenBaoDevServer server;
    private static Path certs;
    private static String mtlsAddress;
    /** The private keys issued, by name. */
    private static final Map<String, PrivateKey> keys = new HashMap<>();

    @BeforeAll
    static void startServer() throws Exception {
        certs = Files.createDirectories(Paths.get(System.getProperty("openkcm.bao.workdir", "target/bao-servers"))
                .toAbsolutePath().resolve("mtls-" + ProcessHandle.current().pid()));
        keytool("-genkeypair", "-alias", "ca", "-keyalg", "EC", "-groupname", "secp256r1", "-dname",
                "CN=openkcm-test-ca", "-ext", "bc:c", "-validity", "2", "-keystore", "ca.p12", "-storetype", "PKCS12",
                "-storepass", PASSWORD, "-keypass", PASSWORD);
        keytool("-exportcert", "-rfc", "-alias", "ca", "-keystore", "ca.p12", "-storepass", PASSWORD, "-file",
                "ca.pem");
        issue("server", "san=ip:127.0.0.1,dns:localhost", "eku=serverAuth");
        issue("client", "san=dns:openkcm-keystore", "eku=clientAuth");
        issue("client-rsa", "RSA", "san=dns:openkcm-keystore", "eku=clientAuth");
        int port = OpenBaoDevServer.freePortPair();
        mtlsAddress = "https://127.0.0.1:" + port;
        server = OpenBaoDevServer.devWithConfig("listener \"tcp\" {\n"
                + "  address = \"127.0.0.1:" + port + "\"\n"
                + "  cluster_address = \"127.0.0.1:" + (port + 1) + "\"\n"
                + "  tls_cert_file = \"" + certs.resolve("server.pem") + "\"\n"
                + "  tls_key_file = \"" + certs.resolve("server-key.pem") + "\"\n"
                + "  tls_client_ca_file = \"" + certs.resolve("ca.pem") + "\"\n"
                + "  tls_require_and_verify_client_cert = true\n"
                + "}\n");
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    private static Map<String, Object> props(String prefix) {
        Map<String, Object> props = TestConfig.forServer(server, prefix);
        props.put("address", mtlsAddress);
        props.put("tls.ca.file", certs.resolve("ca.pem").toString());
        return props;
    }

    @Test
    void withTheClientCertificateTheBackendWorks() {
        Map<String, Object> props = props("mtls-ok");
        props.put("tls.client.cert.file", certs.resolve("client.pem").toString());
        props.put("tls.client.key.file", certs.resolve("client-key.pem").toString());
        try (OpenBaoKeystore keystore = TestConfig.open(props)) {
            assertTrue(keystore.health().isUp(), () -> keystore.health().toString());
            KeyId id = KeyId.of("mutual", 1);
            keystore.storeKey(id, sealed(1), minimal(id).build());
            assertEquals(sealed(1), keystore.retrieveKey(id).sealed());
        }
    }

    @Test
    void withoutAClientCertificateTheServerRefuses() {
        Map<String, Object> props = props("mtls-none");
        props.put("retry.max.attempts", 2);
        try (OpenBaoKeystore keystore = TestConfig.open(props)) {
            KeystoreHealth health = keystore.health();
            assertFalse(health.isUp());
            // the alert, or (TLS 1.3, when the reset overtakes it) the reset: both name the client certificate
            assertTrue(health.reason().orElseThrow().contains("requires a client certificate"), health::toString);
            KeyId id = KeyId.of("refused", 1);
            UnavailableException e = assertThrows(UnavailableException.class,
                    () -> keystore.storeKey(id, sealed(2), minimal(id).build()));
            assertTrue(e.getMessage().contains("requires a client certificate"), e.getMessage());
        }
        assertEquals(404, server.status("GET", "secret/metadata/mtls-none?list=true", server.rootToken(), null));
    }

    /** An RSA client key is accepted as PKCS#1 ({@code RSA PRIVATE KEY}, as openssl genrsa wrote it) and as PKCS#8. */
    @Test
    void anRsaClientKeyInPkcs1OrPkcs8GivesAWorkingBackend() throws Exception {
        PrivateKey rsa = keys.get("client-rsa");
        byte[] pkcs1 = PrivateKeyInfo.getInstance(rsa.getEncoded()).parsePrivateKey().toASN1Primitive().getEncoded();
        Path pkcs1File = Files.writeString(certs.resolve("client-rsa-pkcs1.pem"), pem("RSA PRIVATE KEY", pkcs1));
        int version = 0;
        for (Path keyFile : List.of(pkcs1File, certs.resolve("client-rsa-key.pem"))) {
            Map<String, Object> props = props("mtls-rsa");
            props.put("tls.client.cert.file", certs.resolve("client-rsa.pem").toString());
            props.put("tls.client.key.file", keyFile.toString());
            try (OpenBaoKeystore keystore = TestConfig.open(props)) {
                assertTrue(keystore.health().isUp(), () -> keyFile + ": " + keystore.health());
                KeyId id = KeyId.of("rsa", ++version);
                keystore.storeKey(id, sealed(3), minimal(id).build());
                assertEquals(sealed(3), keystore.retrieveKey(id).sealed());
            }
        }
    }

    /**
     * An encrypted key is refused at once, with the reason, whether PKCS#8 ({@code ENCRYPTED
     * PRIVATE KEY}) or PKCS#1 with OpenSSL's encryption headers; no keystore comes up, nothing is written.
     */
    @Test
    void anEncryptedClientKeyIsRefusedWithTheReason() throws Exception {
        PrivateKey ec = keys.get("client");
        char[] password = "a passphrase".toCharArray();
        StringWriter pkcs8 = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(pkcs8)) {
            writer.writeObject(new JcaPKCS8Generator(ec, new JceOpenSSLPKCS8EncryptorBuilder(PKCS8Generator.AES_256_CBC)
                    .setProvider(new BouncyCastleProvider()).setPassword(password).build()));
        }
        assertTrue(pkcs8.toString().startsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----"), pkcs8::toString);
        Path encryptedPkcs8 = Files.writeString(certs.resolve("client-key-encrypted.pem"), pkcs8.toString());
        StringWriter legacy = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(legacy)) {
            writer.writeObject(keys.get("client-rsa"), new JcePEMEncryptorBuilder("AES-256-CBC")
                    .setProvider(new BouncyCastleProvider()).build(password));
        }
        assertTrue(legacy.toString().contains("Proc-Type: 4,ENCRYPTED"), legacy::toString);
        Path encryptedPkcs1 = Files.writeString(certs.resolve("client-rsa-key-encrypted.pem"), legacy.toString());

        for (Path[] pair : List.of(new Path[] {certs.resolve("client.pem"), encryptedPkcs8},
                new Path[] {certs.resolve("client-rsa.pem"), encryptedPkcs1})) {
            Map<String, Object> props = props("mtls-encrypted");
            props.put("tls.client.cert.file", pair[0].toString());
            props.put("tls.client.key.file", pair[1].toString());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TestConfig.open(props));
            assertEquals("tls.client.key.file: " + pair[1]
                    + " is encrypted; give an unencrypted key readable only by this service", e.getMessage());
        }
        assertEquals(404, server.status("GET", "secret/metadata/mtls-encrypted?list=true", server.rootToken(), null));
    }

    /** An EC key pair signed by the test CA, as {name}.pem and {name}-key.pem (PKCS#8). */
    private static void issue(String name, String san, String eku) throws Exception {
        issue(name, "EC", san, eku);
    }

    /** A key pair (EC P-256 or RSA 2048) signed by the test CA, as {name}.pem and {name}-key.pem (PKCS#8). */
    private static void issue(String name, String algorithm, String san, String eku) throws Exception {
        List<String> size = algorithm.equals("EC") ? List.of("-groupname", "secp256r1") : List.of("-keysize", "2048");
        keytool("-genkeypair", "-alias", name, "-keyalg", algorithm, size.get(0), size.get(1), "-dname", "CN=" + name,
                "-validity", "2", "-keystore", name + ".p12", "-storetype", "PKCS12", "-storepass", PASSWORD,
                "-keypass", PASSWORD);
        keytool("-certreq", "-alias", name, "-keystore", name + ".p12", "-storepass", PASSWORD, "-file", name + ".csr");
        keytool("-gencert", "-alias", "ca", "-keystore", "ca.p12", "-storepass", PASSWORD, "-infile", name + ".csr",
                "-outfile", name + ".pem", "-rfc", "-validity", "2", "-ext", san, "-ext", eku);
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(certs.resolve(name + ".p12"))) {
            store.load(in, PASSWORD.toCharArray());
        }
        PrivateKey key = (PrivateKey) store.getKey(name, PASSWORD.toCharArray());
        Files.writeString(certs.resolve(name + "-key.pem"), pem("PRIVATE KEY", key.getEncoded()));
        keys.put(name, key);
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    private static void keytool(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Paths.get(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).directory(certs.toFile()).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            fail("keytool " + String.join(" ", args) + " failed: " + new String(out));
        }
    }
}
