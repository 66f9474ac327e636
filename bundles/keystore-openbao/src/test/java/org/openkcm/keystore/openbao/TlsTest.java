package org.openkcm.keystore.openbao;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.keystore.sdk.SampleKeys.minimal;
import static org.openkcm.keystore.sdk.SampleKeys.sealed;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.Map;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;

/**
 * TLS against {@code bao server -dev -dev-tls}, whose CA is generated at start: the right CA is
 * trusted; a wrong CA, or the JVM's own trust store, is refused at once (no retry can fix it)
 * with a reason that says so, and nothing is written.
 */
class TlsTest {
    private static OpenBaoDevServer server;

    @TempDir
    Path dir;

    @BeforeAll
    static void startServer() {
        server = OpenBaoDevServer.devTls();
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void theRightCaIsTrusted() {
        assertTrue(server.address.startsWith("https://127.0.0.1:"));
        try (OpenBaoKeystore keystore = TestConfig.open(TestConfig.forServer(server, "tls-right"))) {
            KeyId id = KeyId.of("over-tls", 1);
            keystore.storeKey(id, sealed(1), minimal(id).build());
            assertEquals(sealed(1), keystore.retrieveKey(id).sealed());
            assertTrue(keystore.health().isUp(), () -> keystore.health().toString());
        }
    }

    @Test
    void aWrongCaIsRefused() throws Exception {
        Path wrongCa = dir.resolve("wrong-ca.pem");
        Files.writeString(wrongCa, pem(someOtherCa()));
        Map<String, Object> props = TestConfig.forServer(server, "tls-wrong");
        props.put("tls.ca.file", wrongCa.toString());
        assertRefused(props);
    }

    @Test
    void theJvmTrustStoreDoesNotTrustAGeneratedCa() {
        Map<String, Object> props = TestConfig.forServer(server, "tls-jvm");
        props.remove("tls.ca.file");
        assertRefused(props);
    }

    @Test
    void verificationSwitchedOffAcceptsTheServer() {
        Map<String, Object> props = TestConfig.forServer(server, "tls-unverified");
        props.remove("tls.ca.file");
        props.put("tls.verify", false);
        props.put("allow.unverified.tls", true);
        try (OpenBaoKeystore keystore = TestConfig.open(props)) {
            KeyId id = KeyId.of("unverified", 1);
            keystore.storeKey(id, sealed(2), minimal(id).build());
            assertEquals(sealed(2), keystore.retrieveKey(id).sealed());
        }
    }

    @Test
    void aClientCertificateAndItsSec1KeyAreLoadedForMutualTls() {
        // The dev server's own certificate and EC key (SEC1 PEM, as OpenBao and openssl write them).
        Path certs = server.caFile.getParent();
        Map<String, Object> props = TestConfig.forServer(server, "tls-client");
        props.put("tls.client.cert.file", certs.resolve("vault-cert.pem").toString());
        props.put("tls.client.key.file", certs.resolve("vault-key.pem").toString());
        SSLContext context = Tls.context(OpenBaoSettings.from(TestConfig.of(props), System::getenv));
        assertNotNull(context);
        try (OpenBaoKeystore keystore = TestConfig.open(props)) {
            assertTrue(keystore.health().isUp(), () -> keystore.health().toString());
        }
    }

    private static void assertRefused(Map<String, Object> props) {
        try (OpenBaoKeystore keystore = TestConfig.open(props)) {
            KeystoreHealth health = keystore.health();
            assertFalse(health.isUp());
            assertTrue(health.reason().orElseThrow().contains("certificate is not trusted"), health::toString);

            KeyId id = KeyId.of("never", 1);
            UnavailableException e = assertThrows(UnavailableException.class,
                    () -> keystore.storeKey(id, sealed(3), minimal(id).build()));
            assertTrue(e.getMessage().contains("TLS: the server certificate is not trusted"), e.getMessage());
            assertFalse(e.getMessage().contains("attempts"), "not retried: " + e.getMessage());
        }
        assertEquals(404, server.status("GET", "secret/metadata/" + props.get("path.prefix") + "?list=true",
                server.rootToken(), null));
    }

    private static X509Certificate someOtherCa() throws Exception {
        TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init((KeyStore) null);
        X509Certificate[] issuers = ((X509TrustManager) factory.getTrustManagers()[0]).getAcceptedIssuers();
        assertTrue(issuers.length > 0, "the JVM trusts some CA");
        return issuers[0];
    }

    private static String pem(X509Certificate certificate) throws Exception {
        return "-----BEGIN CERTIFICATE-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(certificate.getEncoded())
                + "\n-----END CERTIFICATE-----\n";
    }
}
