package org.openkcm.keystore.core.operations;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.admin.Administration;
import org.openkcm.keystore.core.envelope.Envelope;
import org.openkcm.keystore.core.envelope.KekRef;
import org.openkcm.keystore.core.kek.KekRing;
import org.openkcm.keystore.core.kek.KnownKeks;
import org.openkcm.keystore.core.testing.CapturingLogger;
import org.openkcm.keystore.core.testing.RecordingKeystore;
import org.openkcm.keystore.core.testing.TestKeks;

/**
 * The KEK's identity pinned by the known-KEK record, the sealing KEK explicit with several
 * providers, and the allow-list of KEKs that open: every refusal says which KEK and version, and
 * nothing is sealed or changed under a refused KEK.
 */
class KekPinningTest {
    @TempDir
    Path dir;

    private final RecordingKeystore backend = new RecordingKeystore();
    private final CapturingLogger log = new CapturingLogger();

    private Path recordFile() {
        return dir.resolve("kek/known-keks");
    }

    /** A runtime's operations over the shared backend and the record file (as after a restart). */
    private DefaultKeystoreOperations start(KekProvider... keks) {
        return DefaultKeystoreOperations.of(backend, List.of(keks)).knownKeks(KnownKeks.open(recordFile()))
                .logger(log.logger());
    }

    private static TestKeks.Fixed ring(String id, Map<Integer, byte[]> keys) {
        return new TestKeks.Fixed(id, keys, KekRing.Wrap.GCM);
    }

    private static byte[] material(DefaultKeystoreOperations ops, KeyId id) {
        try (var m = ops.get(id)) {
            return m.copyBytes();
        }
    }

    private Map<KeyId, StoredKey> snapshot() {
        return backend.snapshot();
    }

    private static void assertSame(Map<KeyId, StoredKey> before, Map<KeyId, StoredKey> after) {
        assertEquals(before.keySet(), after.keySet(), "no key added or removed");
        before.forEach((id, stored) -> {
            assertArrayEquals(stored.sealed().bytes(), after.get(id).sealed().bytes(), "record of " + id);
            assertEquals(stored.metadata(), after.get(id).metadata(), "metadata of " + id);
        });
    }

    @Test
    void theRecordHoldsACheckValuePerVersionAndNeverTheKey() throws IOException {
        DefaultKeystoreOperations ops = start(ring("local", Map.of(1, TestKeks.kek(1))));
        ops.generate(Fixture.spec("k").build());
        String text = Files.readString(recordFile());
        assertTrue(text.lines().anyMatch(l -> l.matches("local 1 [A-Za-z0-9_-]{43} used")), text);
        String key = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(TestKeks.kek(1));
        assertFalse(text.contains(key), "the KEK itself is not in the record");
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(recordFile())));
    }

    @Test
    void anotherKeyUnderAKnownIdAndVersionIsRefusedAndNothingIsSealedOrChanged() throws IOException {
        DefaultKeystoreOperations first = start(ring("local", Map.of(1, TestKeks.kek(1))));
        KeyMetadata k = first.generate(Fixture.spec("k").build());
        Map<KeyId, StoredKey> before = snapshot();
        String record = Files.readString(recordFile());

        // restarted with another key file under the same KEK id (a path change, a restored wrong backup)
        DefaultKeystoreOperations ops = start(ring("local", Map.of(1, TestKeks.kek(99))));
        UnavailableException seal = assertThrows(UnavailableException.class, () -> ops.generate(Fixture.spec("n").build()));
        assertTrue(seal.getMessage().contains("KEK refused: KEK 'local' version 1 is not the key recorded under that id "
                + "and version in the known-KEK record " + recordFile()), seal.getMessage());
        assertTrue(seal.getMessage().contains("nothing is sealed under KEK 'local'"), seal.getMessage());
        UnavailableException open = assertThrows(UnavailableException.class, () -> ops.get(k.id()));
        assertTrue(open.getMessage().contains("KEK 'local' version 1 is not the key recorded"), open.getMessage());
        assertThrows(UnavailableException.class, () -> ops.changeStatus(k.id(), KeyStatus.DEPRECATED, 1));
        assertThrows(UnavailableException.class, () -> Administration.of(ops).rewrapAll());
        assertSame(before, snapshot());
        assertEquals(record, Files.readString(recordFile()), "the record is unchanged");
        assertEquals(1, log.lines().stream().filter(l -> l.contains("KEK refused: KEK 'local' version 1")).count(),
                "the refusal is logged once: " + log.lines());
    }

    @Test
    void aRingReloadedWithOtherBytesIsCaughtOnTheNextCall() {
        TestKeks.Fixed kek = ring("local", Map.of(1, TestKeks.kek(1)));
        DefaultKeystoreOperations ops = start(kek);
        KeyMetadata k = ops.generate(Fixture.spec("k").build());
        Map<KeyId, StoredKey> before = snapshot();
        kek.replace("local", Map.of(1, TestKeks.kek(2)));
        UnavailableException e = assertThrows(UnavailableException.class, () -> ops.generate(Fixture.spec("n").build()));
        assertTrue(e.getMessage().contains("KEK 'local' version 1 is not the key recorded"), e.getMessage());
        assertSame(before, snapshot());
        kek.replace("local", Map.of(1, TestKeks.kek(1)));
        assertEquals(32, material(ops, k.id()).length, "the original ring works again");
    }

    @Test
    void oneChangedVersionLeavesTheConfirmedVersionsOpening() {
        TestKeks.Fixed kek = ring("local", Map.of(1, TestKeks.kek(1)));
        DefaultKeystoreOperations ops = start(kek);
        KeyMetadata underV1 = ops.generate(Fixture.spec("one").build());
        byte[] v1Material = material(ops, underV1.id());
        kek.replace("local", Map.of(1, TestKeks.kek(1), 2, TestKeks.kek(2)));
        KeyMetadata underV2 = ops.generate(Fixture.spec("two").build());
        assertEquals(new KekRef("local", 2), Envelope.recordKek(snapshot().get(underV2.id()).sealed(), underV2.id()));

        DefaultKeystoreOperations restarted = start(ring("local", Map.of(1, TestKeks.kek(1), 2, TestKeks.kek(77))));
        assertArrayEquals(v1Material, material(restarted, underV1.id()), "records under the confirmed v1 open");
        UnavailableException e = assertThrows(UnavailableException.class, () -> material(restarted, underV2.id()));
        assertTrue(e.getMessage().contains("KEK 'local' version 2 is not the key recorded"), e.getMessage());
        assertTrue(e.getMessage().contains("only its versions [1] open"), e.getMessage());
        assertThrows(UnavailableException.class, () -> restarted.generate(Fixture.spec("three").build()));
        assertFalse(snapshot().containsKey(KeyId.of("three", 1)));
    }

    @Test
    void aVersionReleasedByACompleteRewrapMayLeaveTheRingAcrossARestart() throws IOException {
        TestKeks.Fixed kek = ring("local", Map.of(1, TestKeks.kek(1)));
        DefaultKeystoreOperations ops = start(kek);
        KeyMetadata k = ops.generate(Fixture.spec("k").build());
        byte[] expected = material(ops, k.id());
        kek.replace("local", Map.of(1, TestKeks.kek(1), 2, TestKeks.kek(2)));
        assertTrue(Administration.of(ops).rewrapAll().complete());
        assertTrue(Files.readString(recordFile()).contains("local 1 "), "v1 stays recorded (pinned)");
        assertTrue(Files.readString(recordFile()).lines().anyMatch(l -> l.startsWith("local 1 ") && l.endsWith(" released")));

        DefaultKeystoreOperations restarted = start(ring("local", Map.of(2, TestKeks.kek(2))));
        assertArrayEquals(expected, material(restarted, k.id()));
        restarted.generate(Fixture.spec("after").build());
        // a released version that comes back with other bytes is still refused: the id and version stay pinned
        DefaultKeystoreOperations wrong = start(ring("local", Map.of(1, TestKeks.kek(5), 2, TestKeks.kek(2))));
        UnavailableException e = assertThrows(UnavailableException.class, () -> wrong.generate(Fixture.spec("x").build()));
        assertTrue(e.getMessage().contains("KEK 'local' version 1 is not the key recorded"), e.getMessage());
    }

    @Test
    void anIncompleteRewrapReleasesNothing() throws IOException {
        TestKeks.Fixed kek = ring("local", Map.of(1, TestKeks.kek(1)));
        DefaultKeystoreOperations ops = start(kek);
        ops.generate(Fixture.spec("a").build());
        KeyId bad = ops.generate(Fixture.spec("b").build()).id();
        kek.replace("local", Map.of(1, TestKeks.kek(1), 2, TestKeks.kek(2)));
        StoredKey stored = snapshot().get(bad);
        byte[] bytes = stored.sealed().bytes();
        bytes[bytes.length - 1] ^= 1;
        backend.rawPut(bad, org.openkcm.keystore.api.SealedKey.of(bytes), stored.metadata());
        assertFalse(Administration.of(ops).rewrapAll().complete());
        assertTrue(Files.readString(recordFile()).lines().anyMatch(l -> l.startsWith("local 1 ") && l.endsWith(" used")));
        DefaultKeystoreOperations restarted = start(ring("local", Map.of(2, TestKeks.kek(2))));
        UnavailableException e = assertThrows(UnavailableException.class,
                () -> restarted.generate(Fixture.spec("c").build()));
        assertTrue(e.getMessage().contains("KEK 'local' version 1 is missing"), e.getMessage());
    }

    @Test
    void withTwoProvidersNothingSealsUntilSealKekIdIsSet() {
        DefaultKeystoreOperations ops = start(ring("plugin", Map.of(1, TestKeks.kek(8))),
                ring("local", Map.of(1, TestKeks.kek(1))));
        UnavailableException e = assertThrows(UnavailableException.class, () -> ops.generate(Fixture.spec("k").build()));
        assertEquals("unavailable: KEK refused: 2 KEK providers are present (plugin, local) and seal.kek.id of "
                + "org.openkcm.keystore.operations is not set: set it to the one that seals; nothing is sealed until then",
                e.getMessage());
        assertTrue(snapshot().isEmpty(), "nothing was stored");
        assertTrue(log.text().contains("KEK refused: 2 KEK providers are present"), log.text());

        ops.sealWith("local");
        KeyMetadata k = ops.generate(Fixture.spec("k").build());
        assertEquals(new KekRef("local", 1), Envelope.recordKek(snapshot().get(k.id()).sealed(), k.id()));
    }

    @Test
    void aNewProviderAloneIsNotTheSealingKekOnceAnotherIsKnown() {
        start(ring("local", Map.of(1, TestKeks.kek(1)))).generate(Fixture.spec("k").build());
        DefaultKeystoreOperations ops = start(ring("plugin", Map.of(1, TestKeks.kek(8))));
        UnavailableException e = assertThrows(UnavailableException.class, () -> ops.generate(Fixture.spec("n").build()));
        assertTrue(e.getMessage().contains("the only KEK provider present, 'plugin', is not one this keystore has used "
                + "(known: [local])"), e.getMessage());
        assertEquals(1, snapshot().size());
        ops.sealWith("plugin");
        ops.generate(Fixture.spec("n").build());
        assertEquals(2, snapshot().size());
    }

    @Test
    void onAFreshInstallAProviderOfAnotherBundleAloneDoesNotSealUntilNamed() {
        TestKeks.Fixed ring = ring("plugin", Map.of(1, TestKeks.kek(8)));
        KekProvider foreign = foreign(ring);
        DefaultKeystoreOperations ops = start(foreign);
        UnavailableException e = assertThrows(UnavailableException.class, () -> ops.generate(Fixture.spec("k").build()));
        assertTrue(e.getMessage().contains("the only KEK provider present, 'plugin', is not one this keystore has used "
                + "(known: []) nor one of the core's own; set seal.kek.id"), e.getMessage());
        assertTrue(snapshot().isEmpty());
        assertFalse(Files.exists(recordFile()), "nothing recorded");
        ops.sealWith("plugin");
        ops.generate(Fixture.spec("k").build());
        assertEquals(1, snapshot().size());
    }

    @Test
    void aProviderNotOnTheAllowListNeitherSealsNorOpens() {
        // records under "plugin" exist in the backend (sealed by someone holding that KEK)
        TestKeks.Fixed plugin = ring("plugin", Map.of(1, TestKeks.kek(8)));
        DefaultKeystoreOperations other = DefaultKeystoreOperations.of(backend, List.<KekProvider>of(plugin));
        KeyMetadata planted = other.generate(Fixture.spec("planted").build());

        DefaultKeystoreOperations ops = start(ring("local", Map.of(1, TestKeks.kek(1)))); // records 'local'
        KeyMetadata own = ops.generate(Fixture.spec("own").build());
        DefaultKeystoreOperations withPlugin = start(plugin, ring("local", Map.of(1, TestKeks.kek(1)))).sealWith("local");
        UnavailableException e = assertThrows(UnavailableException.class, () -> withPlugin.get(planted.id()));
        assertTrue(e.getMessage().contains("KEK refused: the KEK provider 'plugin' is not on the allow-list of KEKs that "
                + "may open (open.kek.ids of org.openkcm.keystore.operations, in force: [local])"), e.getMessage());
        assertEquals(32, material(withPlugin, own.id()).length, "the allowed KEK opens");

        withPlugin.openWith(List.of("local", "plugin"));
        assertEquals(32, material(withPlugin, planted.id()).length, "allowed explicitly, it opens");
    }

    @Test
    void theOldKekLeavesTheAllowListAfterAMoveAndItsRecordsNoLongerOpen() {
        TestKeks.Fixed local = ring("local", Map.of(1, TestKeks.kek(1)));
        DefaultKeystoreOperations ops = start(local);
        KeyMetadata k = ops.generate(Fixture.spec("k").build());
        TestKeks.Fixed hsm = ring("hsm", Map.of(1, TestKeks.kek(50)));
        DefaultKeystoreOperations moved = start(hsm, local).sealWith("hsm");
        Map<KeyId, StoredKey> before = snapshot();
        moved.openWith(List.of("hsm"));
        UnavailableException e = assertThrows(UnavailableException.class, () -> moved.get(k.id()));
        assertTrue(e.getMessage().contains("'local' is not on the allow-list"), e.getMessage());
        assertSame(before, snapshot());
        moved.openWith(List.of());
        assertTrue(Administration.of(moved).rewrapAll().complete());
        moved.openWith(List.of("hsm"));
        assertEquals(32, material(moved, k.id()).length, "re-wrapped under hsm, it opens without 'local'");
    }

    /** A provider of another bundle over {@code ring}: not one of the core's own providers. */
    private static KekProvider foreign(KekProvider ring) {
        return new KekProvider() {
            public String kekId() {
                return ring.kekId();
            }

            public List<Integer> versions() {
                return ring.versions();
            }

            public int currentVersion() {
                return ring.currentVersion();
            }

            public byte[] wrap(int version, byte[] dataKey) {
                return ring.wrap(version, dataKey);
            }

            public byte[] unwrap(int version, byte[] wrapped) {
                return ring.unwrap(version, wrapped);
            }

            public byte[] mac(int version, byte[] data) {
                return ring.mac(version, data);
            }
        };
    }

    private long refusalLines(String text) {
        return log.lines().stream().filter(l -> l.contains("KEK refused: ") && l.contains(text)).count();
    }

    @Test
    void theCoresOwnKekIdleBesideAnotherSealingKekIsNotReportedButInUseOrForeignItIs() throws IOException {
        TestKeks.Fixed local = ring("local", Map.of(1, TestKeks.kek(1)));
        KekProvider hsm = foreign(ring("hsm", Map.of(1, TestKeks.kek(50))));
        String localOff = "the KEK provider 'local' is not on the allow-list";

        // records under the file KEK, then a move to an HSM provider with 'local' taken off the allow-list
        // before the re-wrap: records still use it, so that is reported (and its records are unavailable)
        KeyMetadata k = start(local).generate(Fixture.spec("k").build());
        DefaultKeystoreOperations early = start(hsm, local).sealWith("hsm").openWith(List.of("hsm"));
        early.generate(Fixture.spec("n").build());
        assertEquals(1, refusalLines(localOff), log.text());
        assertThrows(UnavailableException.class, () -> early.get(k.id()));

        // after a complete re-wrap the file KEK is idle (released): off the allow-list, nothing is reported
        DefaultKeystoreOperations moving = start(hsm, local).sealWith("hsm");
        assertTrue(Administration.of(moving).rewrapAll().complete());
        assertTrue(Files.readString(recordFile()).lines().anyMatch(l -> l.matches("local 1 \\S+ released")));
        long before = refusalLines("");
        DefaultKeystoreOperations moved = start(hsm, local).sealWith("hsm").openWith(List.of("hsm"));
        moved.generate(Fixture.spec("m").build());
        assertEquals(32, material(moved, k.id()).length, "re-wrapped under hsm");
        assertEquals(before, refusalLines(""), "nothing reported: " + log.text());

        // a provider of another bundle off the allow-list is reported, used or not
        KekProvider plugin = foreign(ring("plugin", Map.of(1, TestKeks.kek(8))));
        DefaultKeystoreOperations withPlugin = start(hsm, local, plugin).sealWith("hsm").openWith(List.of("hsm"));
        withPlugin.generate(Fixture.spec("p").build());
        assertEquals(1, refusalLines("the KEK provider 'plugin' is not on the allow-list"), log.text());
        assertEquals(1, refusalLines(localOff), "still only the early line for 'local': " + log.text());
    }

    @Test
    void onAFreshInstallTheCoresOwnKekBesideTheSealingKekOfAnotherProviderIsNotReported() throws IOException {
        TestKeks.Fixed local = ring("local", Map.of(1, TestKeks.kek(1)));
        DefaultKeystoreOperations fresh = start(foreign(ring("hsm", Map.of(1, TestKeks.kek(50)))), local).sealWith("hsm");
        KeyMetadata k = fresh.generate(Fixture.spec("k").build());
        assertEquals(32, material(fresh, k.id()).length);
        assertEquals(0, refusalLines(""), "no refusal: " + log.text());
        String record = Files.readString(recordFile());
        assertTrue(record.lines().anyMatch(l -> l.matches("hsm 1 \\S+ used")), record);
        assertFalse(record.contains("local "), "the idle file KEK is not recorded: " + record);
    }

    @Test
    void aConfiguredSealingKekNotPresentYetSealsNothingAndIsNoRefusalUntilItArrives() {
        DefaultKeystoreOperations early = start(ring("local", Map.of(1, TestKeks.kek(1)))).sealWith("hsm");
        UnavailableException e = assertThrows(UnavailableException.class, () -> early.generate(Fixture.spec("k").build()));
        assertTrue(e.getMessage().contains("the configured sealing KEK 'hsm' (seal.kek.id of "
                + "org.openkcm.keystore.operations) is not present (present: [local]); nothing is sealed until it is"),
                e.getMessage());
        assertTrue(snapshot().isEmpty());
        assertEquals(0, refusalLines(""), "a provider still to come is no refusal: " + log.text());

        DefaultKeystoreOperations arrived = start(ring("local", Map.of(1, TestKeks.kek(1))),
                foreign(ring("hsm", Map.of(1, TestKeks.kek(50))))).sealWith("hsm");
        arrived.generate(Fixture.spec("k").build());
        assertEquals(1, snapshot().size());
        assertEquals(0, refusalLines(""), log.text());
    }

    @Test
    void twoProvidersWithOneIdAreBothRefused() {
        DefaultKeystoreOperations ops = start(ring("local", Map.of(1, TestKeks.kek(8))),
                ring("local", Map.of(1, TestKeks.kek(1)))).sealWith("local");
        UnavailableException e = assertThrows(UnavailableException.class, () -> ops.generate(Fixture.spec("k").build()));
        assertTrue(e.getMessage().contains("KEK refused: 2 KEK providers register the KEK id 'local'"), e.getMessage());
        assertTrue(snapshot().isEmpty());
        assertFalse(Files.exists(recordFile()), "nothing recorded");
    }
}
