package org.openkcm.keystore.openbao;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.keystore.sdk.SampleKeys.minimal;
import static org.openkcm.keystore.sdk.SampleKeys.sealed;

import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;

/**
 * A static token: renewed before its short TTL runs out, so a run longer than the TTL keeps
 * working; once revoked, health reports the keystore down with the reason, calls fail as
 * unavailable (not as a policy refusal), and a new token at the same source is picked up.
 */
class TokenRenewalTest {
    private static final String PREFIX = "renewal";
    private static OpenBaoDevServer server;

    @BeforeAll
    static void startServer() {
        server = OpenBaoDevServer.dev();
        server.writeKeystorePolicy("keystore", PREFIX, true);
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    private static OpenBaoKeystore keystore(String tokenReference, String prefix) {
        Map<String, Object> props = TestConfig.forServer(server, PREFIX + "/" + prefix);
        props.put("token.source", tokenReference);
        return TestConfig.open(props);
    }

    @Test
    void aShortLivedTokenIsRenewedThroughALongerRun() {
        String token = server.createToken("keystore", "2s", true);
        try (OpenBaoKeystore keystore = keystore(server.secretFile("short-token", token), "long-run")) {
            long end = System.nanoTime() + 6_000_000_000L; // three TTLs
            int n = 0;
            while (System.nanoTime() < end) {
                KeyId id = KeyId.of("k" + n, 1);
                keystore.storeKey(id, sealed(n), minimal(id).build());
                assertEquals(sealed(n), keystore.retrieveKey(id).sealed());
                n++;
                OpenBaoDevServer.pause(150);
            }
            assertTrue(n > 20);
            assertTrue(keystore.health().isUp(), () -> keystore.health().toString());
        }
        // The token is still alive after the run: it was renewed, not merely lucky.
        assertEquals(200, server.status("GET", "auth/token/lookup-self", token, null));
    }

    @Test
    void aRevokedStaticTokenIsReportedDownWithTheReason() throws Exception {
        String token = server.createToken("keystore", "1h", true);
        String reference = server.secretFile("revoked-token", token);
        try (OpenBaoKeystore keystore = keystore(reference, "revoked")) {
            KeyId id = KeyId.of("before", 1);
            keystore.storeKey(id, sealed(1), minimal(id).build());
            assertTrue(keystore.health().isUp());

            server.revokeToken(token);

            KeystoreHealth health = keystore.health();
            assertFalse(health.isUp());
            String reason = health.reason().orElseThrow();
            assertTrue(reason.contains("no longer valid (revoked or expired)"), reason);
            assertTrue(reason.contains(reference), "names the token's source: " + reason);
            assertFalse(reason.contains(token), "never the token itself");
            assertTrue(health.latency().compareTo(KeystoreHealth.MAX_PROBE_TIME) <= 0);

            UnavailableException e = assertThrows(UnavailableException.class, () -> keystore.retrieveKey(id));
            assertTrue(e.getMessage().contains("revoked or expired"), e.getMessage());
            assertFalse(e.getMessage().contains(token));

            // A new token written to the same source is read and used.
            String fresh = server.createToken("keystore", "1h", true);
            Files.writeString(Paths.get(reference.substring("file:".length())), fresh);
            assertEquals(sealed(1), keystore.retrieveKey(id).sealed());
            assertTrue(keystore.health().isUp(), () -> keystore.health().toString());
        }
    }
}
