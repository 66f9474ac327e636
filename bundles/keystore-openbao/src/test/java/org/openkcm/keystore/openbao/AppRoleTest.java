package org.openkcm.keystore.openbao;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.keystore.sdk.SampleKeys.full;
import static org.openkcm.keystore.sdk.SampleKeys.minimal;
import static org.openkcm.keystore.sdk.SampleKeys.sealed;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.StoredKey;
import io.github.jopenlibs.vault.json.Json;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;

/**
 * AppRole against a real server, with policies that grant only the backend's prefix: the
 * backend works there, is refused by policy elsewhere and when it may not delete (changing
 * nothing), and keeps working across token expiry and revocation by logging in again.
 */
class AppRoleTest {
    private static final String PREFIX = "approle-ks";
    private static OpenBaoDevServer server;
    private static String[] fullRole;
    private static String[] noDeleteRole;

    @BeforeAll
    static void startServer() {
        server = OpenBaoDevServer.dev();
        server.writeKeystorePolicy("keystore-full", PREFIX, true);
        server.writeKeystorePolicy("keystore-no-delete", PREFIX, false);
        // Short TTLs: renewal and re-login happen within a test.
        fullRole = server.createAppRole("keystore", "keystore-full", "2s", "4s");
        noDeleteRole = server.createAppRole("keystore-no-delete", "keystore-no-delete", "1h", "2h");
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    private static OpenBaoKeystore keystore(String[] role, String prefix) {
        Map<String, Object> props = TestConfig.forServer(server, prefix);
        props.remove("token.source");
        props.put("auth.method", "approle");
        props.put("role.id.source", role[0]);
        props.put("secret.id.source", role[1]);
        return TestConfig.open(props);
    }

    @Test
    void theBackendWorksWithinItsPrefix() {
        try (OpenBaoKeystore keystore = keystore(fullRole, PREFIX + "/works")) {
            KeyId id = KeyId.of("tenant-key", 1);
            KeyMetadata metadata = full(id);
            keystore.storeKey(id, sealed(1), metadata);
            assertEquals(StoredKey.of(sealed(1), metadata), keystore.retrieveKey(id));
            KeyMetadata next = metadata.toBuilder().status(KeyStatus.RETIRED).revision(metadata.revision() + 1).build();
            keystore.updateKeyMetadata(id, next);
            keystore.rewrapKey(id, sealed(2), next.revision());
            assertEquals(StoredKey.of(sealed(2), next), keystore.retrieveKey(id));
            assertEquals(List.of(next), keystore.listKeys(KeyFilter.all()).keys());
            assertTrue(keystore.health().isUp(), () -> keystore.health().toString());
            assertTrue(keystore.deleteKey(id));
            assertTrue(keystore.listKeys(KeyFilter.all()).keys().isEmpty());
        }
    }

    @Test
    void aPathOutsideThePolicyIsRefusedAndNothingIsWritten() {
        try (OpenBaoKeystore keystore = keystore(fullRole, "elsewhere")) {
            KeyId id = KeyId.of("outside", 1);

            PolicyRefusedException store = assertThrows(PolicyRefusedException.class,
                    () -> keystore.storeKey(id, sealed(3), minimal(id).build()));
            assertEquals(id, store.keyId().orElseThrow());
            assertTrue(store.getMessage().contains("secret/elsewhere/index/outside+000000001"), store.getMessage());
            assertThrows(PolicyRefusedException.class, () -> keystore.retrieveKey(id));
            assertThrows(PolicyRefusedException.class, () -> keystore.listKeys(KeyFilter.all()));
            assertThrows(PolicyRefusedException.class, () -> keystore.deleteKey(id));
        }
        // Nothing at all was written outside the prefix.
        assertEquals(404, server.status("GET", "secret/metadata/elsewhere?list=true", server.rootToken(), null));
    }

    @Test
    void aPolicyWithoutDeleteRefusesTheDeleteAndChangesNothing() {
        try (OpenBaoKeystore keystore = keystore(noDeleteRole, PREFIX + "/no-delete")) {
            KeyId id = KeyId.of("undeletable", 1);
            KeyMetadata metadata = minimal(id).build();
            keystore.storeKey(id, sealed(4), metadata);

            assertThrows(PolicyRefusedException.class, () -> keystore.deleteKey(id));

            assertEquals(StoredKey.of(sealed(4), metadata), keystore.retrieveKey(id));
            assertEquals(List.of(metadata), keystore.listKeys(KeyFilter.all()).keys());
            String state = Json.parse(server.request("GET", "secret/data/" + PREFIX
                    + "/no-delete/index/undeletable+000000001", null, 200)).asObject().get("data").asObject()
                    .get("data").asObject().getString("state", null);
            assertEquals("live", state, "the delete mark was undone");
            // Still refused the second time, and still nothing changes.
            assertThrows(PolicyRefusedException.class, () -> keystore.deleteKey(id));
            assertEquals(StoredKey.of(sealed(4), metadata), keystore.retrieveKey(id));
        }
    }

    @Test
    void expiredAndRevokedTokensAreReplacedByANewLogin() {
        try (OpenBaoKeystore keystore = keystore(fullRole, PREFIX + "/relogin")) {
            // Tokens live 2 s and at most 4 s: over 6 s the backend renews, then must log in again.
            // At least 10 round trips too, so a slow, loaded machine still spans several renewals.
            long end = System.nanoTime() + 6_000_000_000L;
            int n = 0;
            while (System.nanoTime() < end || n <= 10) {
                KeyId id = KeyId.of("k" + n, 1);
                keystore.storeKey(id, sealed(n), minimal(id).build());
                assertEquals(sealed(n), keystore.retrieveKey(id).sealed());
                n++;
                OpenBaoDevServer.pause(200);
            }

            // Revoke every token AppRole has issued: the next call finds its token refused and logs in.
            server.request("PUT", "sys/leases/revoke-prefix/auth/approle/login", "{}", 204, 200);
            KeyId after = KeyId.of("after-revoke", 1);
            keystore.storeKey(after, sealed(99), minimal(after).build());
            assertEquals(sealed(99), keystore.retrieveKey(after).sealed());

            server.request("PUT", "sys/leases/revoke-prefix/auth/approle/login", "{}", 204, 200);
            assertTrue(keystore.health().isUp(), () -> "health logs in again: " + keystore.health());
            List<KeyId> listed = keystore.listKeys(KeyFilter.builder().pageSize(1000).build()).keys().stream()
                    .map(KeyMetadata::id).collect(Collectors.toList());
            assertEquals(n + 1, listed.size());
            assertFalse(listed.isEmpty());
        }
    }
}
