package org.openkcm.keystore.kek.transit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.RewrapReport;
import org.openkcm.keystore.core.admin.Administration;
import org.openkcm.keystore.core.envelope.Envelope;
import org.openkcm.keystore.core.envelope.KekRef;
import org.openkcm.keystore.core.kek.FileKekProvider;
import org.openkcm.keystore.core.kek.KnownKeks;
import org.openkcm.keystore.core.operations.DefaultKeystoreOperations;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openkcm.keystore.sdk.ComponentConfigs;

/**
 * Moving from the local file KEK to a ring sealed by a real OpenBao Transit key with the core's
 * re-wrap: every record ends under Transit with the same material, and opens with the file KEK gone.
 */
class FileToTransitMoveTest {
    private static TransitServer bao;

    @TempDir
    Path dir;

    @BeforeAll
    static void startOpenBao() {
        bao = TransitServer.start();
    }

    @AfterAll
    static void stopOpenBao() {
        bao.close();
    }

    @Test
    void aRewrapMovesEveryRecordFromTheFileKekToTransit() {
        bao.createKey("move-root");
        Map<String, Object> config = new HashMap<>();
        config.put("address", bao.address());
        config.put("key.name", "move-root");
        config.put("token.source", bao.tokenReference(dir));
        config.put("ring.file", dir.resolve("kek/transit.ring").toString());
        TransitKekProvider transit = new TransitKekProvider();
        transit.activate(ComponentConfigs.of(TransitKekProvider.Config.class, config));
        FileKekProvider file = FileKekProvider.open(dir.resolve("kek/local.kek"), "local", true);
        MemoryKeystore backend = new MemoryKeystore();
        KnownKeks known = KnownKeks.open(dir.resolve("kek/known-keks"));

        DefaultKeystoreOperations before = DefaultKeystoreOperations.of(backend, List.<KekProvider>of(file))
                .knownKeks(known);
        Map<KeyId, byte[]> materials = new LinkedHashMap<>();
        for (int i = 0; i < 5; i++) {
            KeyId id = before.generate(KeySpec.builder().name("key-" + i).type(KeyType.L3).algorithm("AES").keySize(256)
                    .owner(Owner.tenant("acme")).build()).id();
            try (KeyMaterial m = before.get(id)) {
                materials.put(id, m.copyBytes());
            }
            assertEquals(new KekRef("local", 1), Envelope.recordKek(backend.retrieveKey(id).sealed(), id));
        }

        DefaultKeystoreOperations both = DefaultKeystoreOperations.of(backend, List.<KekProvider>of(file, transit))
                .knownKeks(known).sealWith("transit");
        Administration admin = Administration.of(both);
        RewrapReport report = admin.rewrapAll();
        assertTrue(report.complete(), report.toString());
        assertEquals(5, report.rewrapped(), report.toString());
        assertEquals("transit", report.kekId());
        RewrapReport again = admin.rewrapAll();
        assertEquals(0, again.rewrapped(), "a second run finds every record moved: " + again);

        DefaultKeystoreOperations after = DefaultKeystoreOperations.of(backend, List.<KekProvider>of(transit))
                .knownKeks(known).sealWith("transit").openWith(List.of("transit"));
        materials.forEach((id, material) -> {
            assertEquals(new KekRef("transit", 1), Envelope.recordKek(backend.retrieveKey(id).sealed(), id));
            try (KeyMaterial m = after.get(id)) {
                assertArrayEquals(material, m.copyBytes(), "the same material under Transit for " + id);
            }
        });
    }
}
