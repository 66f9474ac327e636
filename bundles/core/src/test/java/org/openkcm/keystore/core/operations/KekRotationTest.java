package org.openkcm.keystore.core.operations;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.RewrapReport;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.admin.Administration;
import org.openkcm.keystore.core.crypto.RandomSource;
import org.openkcm.keystore.core.envelope.Envelope;
import org.openkcm.keystore.core.envelope.KekRef;
import org.openkcm.keystore.core.kek.FileKekProvider;
import org.openkcm.keystore.core.kek.KekFile;
import org.openkcm.keystore.core.kek.KekRingText;
import org.openkcm.keystore.core.testing.CapturingLogger;
import org.openkcm.keystore.core.testing.RecordingKeystore;
import org.openkcm.keystore.core.testing.TestKeks;

/** KEK rotation with the local key file: v1 records open after rotation, re-wrap, resume, and v1's removal. */
class KekRotationTest {
    private static final int KEYS = 23;

    @TempDir
    Path dir;

    private final RecordingKeystore backend = new RecordingKeystore();
    private final CapturingLogger log = new CapturingLogger();
    private FileKekProvider kek;
    private DefaultKeystoreOperations ops;
    private final Map<KeyId, byte[]> materials = new LinkedHashMap<>();

    private void start() {
        kek = FileKekProvider.open(dir.resolve("local.kek"), "local", true);
        ops = DefaultKeystoreOperations.of(backend, List.<KekProvider>of(kek)).logger(log.logger());
        for (int i = 0; i < KEYS; i++) {
            KeyMetadata m = ops.generate(Fixture.spec(String.format("key-%02d", i)).build());
            materials.put(m.id(), material(m.id()));
        }
    }

    private byte[] material(KeyId id) {
        try (var m = ops.get(id)) {
            return m.copyBytes();
        }
    }

    private void rotateKekToV2() {
        assertEquals(2, KekFile.addVersion(kek.path(), RandomSource.secure()));
        kek.reload();
        assertEquals(2, kek.currentVersion());
    }

    private KekRef recordKek(KeyId id) {
        return Envelope.recordKek(backend.snapshot().get(id).sealed(), id);
    }

    private void assertAllReadable() {
        materials.forEach((id, material) -> assertArrayEquals(material, material(id), id.toString()));
    }

    private void removeV1() {
        Map<Integer, byte[]> ring = KekFile.read(kek.path());
        ring.remove(1);
        try {
            Files.write(kek.path(), KekRingText.format(ring));
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        kek.reload();
        assertEquals(List.of(2), kek.versions());
    }

    @Test
    void v1RecordsOpenAfterRotationAndAfterRewrapAndWithoutV1() {
        start();
        rotateKekToV2();
        assertAllReadable();
        KeyMetadata newer = ops.generate(Fixture.spec("after-rotation").build());
        materials.put(newer.id(), material(newer.id()));
        assertEquals(new KekRef("local", 2), recordKek(newer.id()), "new seals use the newest version");
        assertEquals(new KekRef("local", 1), recordKek(KeyId.of("key-00", 1)));

        Map<KeyId, StoredKey> before = backend.snapshot();
        RewrapReport report = Administration.of(ops).rewrapAll();
        assertEquals(new KekRef("local", 2), new KekRef(report.kekId(), report.kekVersion()));
        assertEquals(KEYS + 1, report.examined());
        assertEquals(KEYS, report.rewrapped());
        assertEquals(1, report.alreadyCurrent());
        assertTrue(report.complete(), report.toString());
        for (KeyId id : materials.keySet()) {
            StoredKey after = backend.snapshot().get(id);
            assertEquals(new KekRef("local", 2), Envelope.recordKek(after.sealed(), id));
            assertEquals(new KekRef("local", 2), Envelope.macKek(after.metadata()).orElseThrow());
            byte[] a = before.get(id).sealed().bytes();
            byte[] b = after.sealed().bytes();
            int tail = 12 + 32 + 16;
            assertArrayEquals(Arrays.copyOfRange(a, a.length - tail, a.length),
                    Arrays.copyOfRange(b, b.length - tail, b.length), "material ciphertext untouched: " + id);
        }
        assertAllReadable();

        removeV1();
        assertAllReadable();
        assertTrue(Administration.of(ops).rewrapAll().rewrapped() == 0, "nothing left to do");
    }

    @Test
    void removingV1BeforeTheRewrapIsRefusedNamingTheVersionAndNothingIsSealed() {
        start();
        rotateKekToV2();
        int stored = backend.snapshot().size();
        removeV1();
        UnavailableException open = assertThrows(UnavailableException.class, () -> ops.get(KeyId.of("key-00", 1)));
        assertTrue(open.getMessage().contains("KEK 'local' version 1 is missing from its ring, but records may still be "
                + "sealed under it"), open.getMessage());
        UnavailableException seal = assertThrows(UnavailableException.class,
                () -> ops.generate(Fixture.spec("after-removal").build()));
        assertTrue(seal.getMessage().contains("nothing is sealed under KEK 'local'"), seal.getMessage());
        assertEquals(stored, backend.snapshot().size(), "nothing was stored");
        assertTrue(log.text().contains("KEK refused: KEK 'local' version 1 is missing"), log.text());
    }

    @Test
    void anInterruptedRewrapIsFinishedByRunningItAgain() {
        start();
        rotateKekToV2();
        backend.crashAfterRewraps(9);
        assertThrows(RecordingKeystore.SimulatedCrash.class, () -> Administration.of(ops).rewrapAll());
        long underV2 = materials.keySet().stream().filter(id -> recordKek(id).version() == 2).count();
        assertEquals(9, underV2, "the run stopped part-way");
        assertAllReadable();

        RewrapReport resumed = Administration.of(ops).rewrapAll();
        assertTrue(resumed.complete(), resumed.toString());
        assertEquals(KEYS, resumed.examined());
        assertEquals(9, resumed.alreadyCurrent(), "the keys done before the crash are skipped");
        assertEquals(KEYS - 9, resumed.rewrapped(), resumed.toString());
        materials.keySet().forEach(id -> assertEquals(2, recordKek(id).version()));
        removeV1();
        assertAllReadable();
    }

    @Test
    void aCrashBetweenTheRewrapAndTheMacUpdateIsFinishedByRunningItAgain() {
        int[] updates = {0};
        RecordingKeystore crashing = new RecordingKeystore() {
            @Override
            public KeyMetadata updateKeyMetadata(KeyId id, KeyMetadata metadata) {
                if (++updates[0] == 4) {
                    throw new SimulatedCrash();
                }
                return super.updateKeyMetadata(id, metadata);
            }
        };
        kek = FileKekProvider.open(dir.resolve("local.kek"), "local", true);
        ops = DefaultKeystoreOperations.of(crashing, List.<KekProvider>of(kek));
        for (int i = 0; i < 6; i++) {
            KeyMetadata m = ops.generate(Fixture.spec("key-" + i).build());
            materials.put(m.id(), material(m.id()));
        }
        rotateKekToV2();
        assertThrows(RecordingKeystore.SimulatedCrash.class, () -> Administration.of(ops).rewrapAll());
        StoredKey half = crashing.snapshot().get(KeyId.of("key-3", 1));
        assertEquals(new KekRef("local", 2), Envelope.recordKek(half.sealed(), half.metadata().id()));
        assertEquals(new KekRef("local", 1), Envelope.macKek(half.metadata()).orElseThrow(), "record moved, MAC not yet");
        assertAllReadable();

        RewrapReport resumed = Administration.of(ops).rewrapAll();
        assertTrue(resumed.complete(), resumed.toString());
        assertEquals(3, resumed.alreadyCurrent());
        assertEquals(3, resumed.rewrapped());
        removeV1();
        assertAllReadable();
    }

    @Test
    void aConflictDuringTheRewrapIsRetriedAndTheCallersChangeIsKept() {
        start();
        rotateKekToV2();
        KeyId first = KeyId.of("key-00", 1);
        backend.beforeNextRewrap(() -> ops.changeStatus(first, KeyStatus.DEPRECATED, 1));
        RewrapReport report = Administration.of(ops).rewrapAll();
        assertTrue(report.complete(), report.toString());
        assertEquals(KEYS, report.rewrapped());
        assertEquals(KeyStatus.DEPRECATED, ops.metadata(first).status());
        removeV1();
        assertAllReadable();
    }

    @Test
    void aTamperedRecordIsReportedAndTheRestAreRewrapped() {
        start();
        rotateKekToV2();
        KeyId bad = KeyId.of("key-05", 1);
        StoredKey stored = backend.snapshot().get(bad);
        byte[] bytes = stored.sealed().bytes();
        bytes[bytes.length - 1] ^= 1;
        backend.rawPut(bad, SealedKey.of(bytes), stored.metadata());
        RewrapReport report = Administration.of(ops).rewrapAll();
        assertEquals(KEYS - 1, report.rewrapped());
        assertEquals(List.of(bad), List.copyOf(report.failed().keySet()));
        assertTrue(report.failed().get(bad).contains("integrity"), report.failed().toString());
        assertEquals(1, recordKek(bad).version(), "a record that does not open is never re-wrapped");
        assertTrue(log.text().contains("key-05:1"), log.text());
    }

    @Test
    void rotatingToAnotherProviderMovesEveryRecordToIt() {
        start();
        TestKeks.Fixed other = TestKeks.fixed("hsm", 1);
        ops.kekProviders(List.of(other, kek));
        // two providers and no seal.kek.id: the higher-ranked newcomer does not seal
        UnavailableException refused = assertThrows(UnavailableException.class, () -> Administration.of(ops).rewrapAll());
        assertTrue(refused.getMessage().contains("seal.kek.id"), refused.getMessage());
        ops.sealWith("hsm");
        RewrapReport report = Administration.of(ops).rewrapAll();
        assertEquals(new KekRef("hsm", 1), new KekRef(report.kekId(), report.kekVersion()));
        assertEquals(KEYS, report.rewrapped());
        ops.kekProviders(List.of(other));
        assertAllReadable();
    }
}
