package org.openkcm.keystore.openbao;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.keystore.sdk.SampleKeys.T0;

import java.util.Base64;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.SealedKey;

import io.github.jopenlibs.vault.json.Json;
import io.github.jopenlibs.vault.json.JsonObject;
import io.github.jopenlibs.vault.json.JsonValue;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;

/**
 * What an operator sees with the {@code bao} CLI: each key version at
 * {@code <prefix>/<tier>/<owner kind>/<owner id>/<name>/<version>} holding exactly the sealed
 * bytes given (base64) and the known metadata fields, nothing else (no token, no secret); the
 * index entry holding only the location; a superseded version destroyed; and after a delete,
 * nothing at all: no version, no metadata.
 */
class StoredLayoutTest {
    private static final String PREFIX = "inspect";
    private static OpenBaoDevServer server;

    @BeforeAll
    static void startServer() {
        server = OpenBaoDevServer.dev();
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void theCliShowsSealedRecordsOnly() {
        byte[] sealedBytes = new byte[77];
        new SplittableRandom(42).nextBytes(sealedBytes);
        KeyId id = KeyId.of("tenant-root", 3);
        KeyMetadata metadata = KeyMetadata.builder().id(id).type(KeyType.L2).algorithm("AES").keySize(256)
                .status(KeyStatus.ACTIVE).owner(Owner.tenant("acme")).region("eu-west-1")
                .parent(KeyId.of("customer-l1", 1)).tags(Map.of("env", "prod")).createdAt(T0)
                .expiry(T0.plusSeconds(3600)).lifecycleMac("bWFj").build();
        String path = PREFIX + "/L2/tenant/acme/tenant-root/3";
        String indexPath = PREFIX + "/index/tenant-root+000000003";

        try (OpenBaoKeystore keystore = TestConfig.open(TestConfig.forServer(server, PREFIX))) {
            keystore.storeKey(id, SealedKey.of(sealedBytes), metadata);

            JsonObject record = data(server.cli("kv", "get", "-format=json", "-mount=secret", path));
            Map<String, String> expected = new TreeMap<>();
            expected.put("format", "openkcm-keystore-openbao/1");
            expected.put("key_id", "tenant-root:3");
            expected.put("sealed", Base64.getEncoder().encodeToString(sealedBytes));
            expected.put("type", "L2");
            expected.put("algorithm", "AES");
            expected.put("key_size", "256");
            expected.put("status", "ACTIVE");
            expected.put("expiry", "2026-01-01T01:00:00.123Z");
            expected.put("owner_kind", "tenant");
            expected.put("owner_id", "acme");
            expected.put("region", "eu-west-1");
            expected.put("parent", "customer-l1:1");
            expected.put("tags", "{\"env\":\"prod\"}");
            expected.put("created", "2026-01-01T00:00:00.123Z");
            expected.put("updated", "2026-01-01T00:00:00.123Z");
            expected.put("revision", "1");
            expected.put("lifecycle_mac", "bWFj");
            assertEquals(expected, flatten(record), "the record holds the sealed bytes and the metadata, nothing else");
            assertNoSecretIn(record);

            JsonObject index = data(server.cli("kv", "get", "-format=json", "-mount=secret", indexPath));
            assertEquals(Map.of("format", "openkcm-keystore-openbao/1", "key_id", "tenant-root:3",
                    "location", "L2/tenant/acme", "state", "live"), flatten(index));
            assertNoSecretIn(index);
            assertTrue(server.cli("kv", "list", "-format=json", "-mount=secret", PREFIX + "/index")
                    .contains("\"tenant-root+000000003\""));

            // An update writes version 2 and destroys version 1 (the old record must not linger).
            KeyMetadata next = metadata.toBuilder().status(KeyStatus.DEPRECATED).revision(2).build();
            keystore.updateKeyMetadata(id, next);
            JsonObject versions = Json.parse(server.cli("kv", "metadata", "get", "-format=json", "-mount=secret", path))
                    .asObject().get("data").asObject().get("versions").asObject();
            assertTrue(versions.get("1").asObject().getBoolean("destroyed", false), versions.toString());
            assertFalse(versions.get("2").asObject().getBoolean("destroyed", true), versions.toString());

            // A delete leaves nothing: neither a version nor the metadata (no soft delete).
            assertTrue(keystore.deleteKey(id));
            assertEquals(2, server.cliResult("kv", "get", "-mount=secret", path).exit);
            assertEquals(2, server.cliResult("kv", "get", "-mount=secret", "-version=2", path).exit);
            assertEquals(2, server.cliResult("kv", "metadata", "get", "-mount=secret", path).exit);
            assertEquals(2, server.cliResult("kv", "metadata", "get", "-mount=secret", indexPath).exit);
            assertEquals(404, server.status("GET", "secret/metadata/" + PREFIX + "?list=true", server.rootToken(),
                    null), "the prefix is empty again");
        }
    }

    @Test
    void aNamespaceHoldsTheRecordsOfABackendConfiguredForIt() {
        server.request("POST", "sys/namespaces/team-a", "{}", 200, 204);
        int mounted = server.statusIn("team-a", "POST", "sys/mounts/secret",
                "{\"type\":\"kv\",\"options\":{\"version\":\"2\"}}");
        assertTrue(mounted == 204 || mounted == 200, "KV v2 mounted in the namespace: HTTP " + mounted);
        Map<String, Object> props = TestConfig.forServer(server, "namespaced");
        props.put("namespace", "team-a");
        KeyId id = KeyId.of("ns-key", 1);
        KeyMetadata metadata = KeyMetadata.builder().id(id).type(KeyType.L3).algorithm("AES").keySize(256)
                .owner(Owner.service("billing")).createdAt(T0).build();
        try (OpenBaoKeystore keystore = TestConfig.open(props)) {
            keystore.storeKey(id, SealedKey.of(new byte[] {9, 8, 7}), metadata);
            assertEquals(metadata, keystore.retrieveKey(id).metadata());
            assertTrue(keystore.health().isUp(), () -> keystore.health().toString());

            String path = "secret/data/namespaced/L3/service/billing/ns-key/1";
            assertEquals(200, server.statusIn("team-a", "GET", path, null), "stored in the namespace");
            assertEquals(404, server.status("GET", path, server.rootToken(), null), "not in the root namespace");
            assertTrue(keystore.deleteKey(id));
            assertEquals(404, server.statusIn("team-a", "GET", path, null));
        }
    }

    @Test
    void aTokenFromAnEnvironmentVariableIsUsed() {
        // Surefire sets OPENKCM_TEST_BAO_TOKEN to the dev server's root token (see the module's pom).
        assertEquals(server.rootToken(), System.getenv("OPENKCM_TEST_BAO_TOKEN"), "run through Maven");
        Map<String, Object> props = TestConfig.forServer(server, "from-env");
        props.put("token.source", "env:OPENKCM_TEST_BAO_TOKEN");
        try (OpenBaoKeystore keystore = TestConfig.open(props)) {
            KeyId id = KeyId.of("env-token", 1);
            KeyMetadata metadata = KeyMetadata.builder().id(id).type(KeyType.L3).algorithm("AES").keySize(256)
                    .owner(Owner.node("n1")).createdAt(T0).build();
            keystore.storeKey(id, SealedKey.of(new byte[] {1}), metadata);
            assertEquals(metadata, keystore.retrieveKey(id).metadata());
        }
    }

    private static JsonObject data(String cliJson) {
        return Json.parse(cliJson).asObject().get("data").asObject().get("data").asObject();
    }

    private static Map<String, String> flatten(JsonObject data) {
        Map<String, String> out = new TreeMap<>();
        for (JsonObject.Member m : data) {
            JsonValue v = m.getValue();
            out.put(m.getName(), v.isString() ? v.asString() : v.toString());
        }
        return out;
    }

    private static void assertNoSecretIn(JsonObject data) {
        String text = data.toString();
        assertFalse(text.contains(server.rootToken()), "no token in the stored data");
        Set<String> names = new TreeSet<>();
        data.names().forEach(names::add);
        for (String forbidden : new String[] {"token", "secret_id", "role_id", "plaintext", "material"}) {
            assertFalse(names.contains(forbidden), forbidden);
        }
        assertNotEquals(-1, text.indexOf("format"));
    }
}
