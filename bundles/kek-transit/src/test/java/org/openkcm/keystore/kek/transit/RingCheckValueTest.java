package org.openkcm.keystore.kek.transit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.kek.KnownKeks;
import org.openkcm.keystore.core.operations.DefaultKeystoreOperations;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openkcm.keystore.sdk.ComponentConfigs;

/**
 * The key check value kept with a ring sealed by a real OpenBao Transit key: each version's value
 * is stored in the ring file, is the value the core's known-KEK record keeps, and is verified
 * against the unsealed key at every load; a ring file written before check values were kept still
 * loads and gains them. With the core, a ring that maps a known id and version to other bytes, or
 * drops a version records still use, seals nothing.
 */
class RingCheckValueTest {
    private static final String KEK_ID = "transit";
    private static final AtomicInteger KEYS = new AtomicInteger();
    private static TransitServer bao;

    @TempDir
    Path dir;
    private String key;
    private Path ringFile;

    @BeforeAll
    static void startOpenBao() {
        bao = TransitServer.start();
    }

    @AfterAll
    static void stopOpenBao() {
        bao.close();
    }

    @BeforeEach
    void freshTransitKey() {
        key = "check-root-" + KEYS.incrementAndGet();
        bao.createKey(key);
        ringFile = dir.resolve("kek/transit.ring");
    }

    private Map<String, Object> config(Path ring, int versions) {
        Map<String, Object> c = new HashMap<>();
        c.put("address", bao.address());
        c.put("key.name", key);
        c.put("token.source", bao.tokenReference(dir));
        c.put("ring.file", ring.toString());
        c.put("kek.versions", String.valueOf(versions));
        c.put("timeout.seconds", "3");
        return c;
    }

    private static TransitKekProvider start(Map<String, Object> config) {
        TransitKekProvider provider = new TransitKekProvider();
        provider.activate(ComponentConfigs.of(TransitKekProvider.Config.class, config));
        return provider;
    }

    /** The ring file's version lines, version to its fields. */
    private static Map<Integer, String[]> versionLines(String text) {
        return text.lines().filter(l -> !l.startsWith("#") && !l.startsWith("openkcm-sealed-kek-ring"))
                .map(l -> l.split(" ")).collect(Collectors.toMap(f -> Integer.parseInt(f[0]), f -> f));
    }

    private static byte[] dataKey() {
        byte[] k = new byte[KekProvider.DATA_KEY_BYTES];
        new SecureRandom().nextBytes(k);
        return k;
    }

    private DefaultKeystoreOperations operations(MemoryKeystore backend, KekProvider kek) {
        return DefaultKeystoreOperations.of(backend, List.of(kek)).knownKeks(KnownKeks.open(dir.resolve("known-keks")))
                .sealWith(KEK_ID);
    }

    private static KeySpec spec(String name) {
        return KeySpec.builder().name(name).type(KeyType.L3).algorithm("AES").keySize(256)
                .owner(Owner.tenant("acme")).build();
    }

    @Test
    void eachVersionKeepsItsCheckValueInTheRingAndItIsTheOneTheKnownKekRecordKeeps() throws IOException {
        TransitKekProvider provider = start(config(ringFile, 2));
        String text = Files.readString(ringFile);
        assertTrue(text.contains("\nopenkcm-sealed-kek-ring 2 transit\n"), text);
        Map<Integer, String[]> lines = versionLines(text);
        assertEquals(List.of(1, 2), List.copyOf(new java.util.TreeSet<>(lines.keySet())));
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        for (int version : List.of(1, 2)) {
            assertEquals(3, lines.get(version).length, String.join(" ", lines.get(version)));
            assertEquals(b64.encodeToString(KnownKeks.checkValue(provider, version)), lines.get(version)[2],
                    "version " + version + ": the ring keeps the check value the core computes from the provider");
        }

        operations(new MemoryKeystore(), provider).generate(spec("pinned"));
        String record = Files.readString(dir.resolve("known-keks"));
        for (int version : List.of(1, 2)) {
            assertTrue(record.contains("transit " + version + " " + lines.get(version)[2] + " used"), record);
        }
    }

    @Test
    void aSealedKeyWhoseStoredCheckValueDiffersIsRefusedAndNothingIsLoadedOrWritten() throws IOException {
        Map<String, Object> config = config(ringFile, 1);
        TransitKekProvider provider = start(config);
        byte[] dk = dataKey();
        byte[] wrapped = provider.wrap(1, dk);
        // Another ring file under the same Transit key and KEK id: its v1 unseals under the same
        // context, but is another key. Its sealed v1 put in this ring keeps this ring's check value.
        Path otherRing = dir.resolve("other/transit.ring");
        start(config(otherRing, 1));
        String otherSealed = versionLines(Files.readString(otherRing)).get(1)[1];
        String text = Files.readString(ringFile);
        String mixed = text.replace(versionLines(text).get(1)[1], otherSealed);
        Files.writeString(ringFile, mixed);

        IntegrityException fresh = assertThrows(IntegrityException.class, () -> start(config));
        assertTrue(fresh.getMessage().contains("version 1 of the ring " + ringFile + " unseals to a key whose check "
                + "value is not the one stored with it"), fresh.getMessage());
        assertTrue(fresh.getMessage().contains("nothing was loaded"), fresh.getMessage());

        config.put("reload", "after-the-mix");
        assertThrows(IntegrityException.class,
                () -> provider.modified(ComponentConfigs.of(TransitKekProvider.Config.class, config)));
        assertArrayEquals(dk, provider.unwrap(1, wrapped), "the ring loaded before stays in force");
        assertEquals(mixed, Files.readString(ringFile), "a refused ring is not rewritten");

        String[] v1 = versionLines(text).get(1);
        String altered = text.replace(v1[2], Base64.getUrlEncoder().withoutPadding().encodeToString(new byte[32]));
        Files.writeString(ringFile, altered);
        IntegrityException value = assertThrows(IntegrityException.class, () -> start(config));
        assertTrue(value.getMessage().contains("check value is not the one stored with it"), value.getMessage());
        assertEquals(altered, Files.readString(ringFile));
    }

    @Test
    void aRingWrittenBeforeCheckValuesWereKeptStillLoadsAndIsRewrittenWithThem() throws IOException {
        Map<String, Object> config = config(ringFile, 2);
        TransitKekProvider first = start(config);
        byte[] dk = dataKey();
        byte[] underV1 = first.wrap(1, dk);
        String current = Files.readString(ringFile);
        Map<Integer, String[]> lines = versionLines(current);
        String formatOne = "openkcm-sealed-kek-ring 1 transit\n1 " + lines.get(1)[1] + "\n2 " + lines.get(2)[1] + "\n";
        Files.writeString(ringFile, formatOne);

        TransitKekProvider upgraded = start(config);
        assertEquals(List.of(1, 2), upgraded.versions());
        assertArrayEquals(dk, upgraded.unwrap(1, underV1), "the same KEK as before the upgrade");
        String rewritten = Files.readString(ringFile);
        assertTrue(rewritten.contains("\nopenkcm-sealed-kek-ring 2 transit\n"), rewritten);
        Map<Integer, String[]> after = versionLines(rewritten);
        for (int version : List.of(1, 2)) {
            assertEquals(lines.get(version)[1], after.get(version)[1], "the sealed KEK is kept as it was");
            assertEquals(lines.get(version)[2], after.get(version)[2], "the check value is the one computed before");
        }
        assertEquals(rewritten, Files.readString(ringFile));
        start(config);
        assertEquals(rewritten, Files.readString(ringFile), "an upgraded ring is not rewritten again");

        Files.writeString(ringFile, "openkcm-sealed-kek-ring 1 transit\n1 " + lines.get(1)[1] + " "
                + lines.get(1)[2] + "\n");
        assertThrows(org.openkcm.keystore.api.InvalidInputException.class, () -> start(config),
                "format 1 has no third field");
    }

    @Test
    void aFreshRingUnderAKnownIdSealsNothingThroughTheCore() throws IOException {
        MemoryKeystore backend = new MemoryKeystore();
        Map<String, Object> config = config(ringFile, 1);
        DefaultKeystoreOperations ops = operations(backend, start(config));
        KeyMetadata before = ops.generate(spec("before"));
        Files.delete(ringFile); // a lost ring file: the next load starts a new ring (create = true)

        DefaultKeystoreOperations restarted = operations(backend, start(config));
        UnavailableException seal = assertThrows(UnavailableException.class, () -> restarted.generate(spec("after")));
        assertTrue(seal.getMessage().contains("KEK 'transit' version 1 is not the key recorded under that id and version"),
                seal.getMessage());
        assertTrue(seal.getMessage().contains("nothing is sealed under KEK 'transit'"), seal.getMessage());
        UnavailableException open = assertThrows(UnavailableException.class, () -> restarted.get(before.id()));
        assertTrue(open.getMessage().contains("is not the key recorded"), open.getMessage());
        assertEquals(List.of(before.id()), backend.listKeys(KeyFilter.all()).keys().stream().map(KeyMetadata::id)
                .toList(), "nothing was sealed under the fresh ring");
    }

    @Test
    void aRingThatDropsAVersionRecordsStillUseSealsNothingAndItsOtherVersionsStillOpen() throws IOException {
        MemoryKeystore backend = new MemoryKeystore();
        Map<String, Object> config = config(ringFile, 2);
        DefaultKeystoreOperations ops = operations(backend, start(config));
        KeyMetadata underV2 = ops.generate(spec("under-v2"));
        byte[] material;
        try (KeyMaterial m = ops.get(underV2.id())) {
            material = m.copyBytes();
        }
        String text = Files.readString(ringFile);
        String withoutV2 = text.lines().filter(l -> !l.startsWith("2 ")).collect(Collectors.joining("\n", "", "\n"));
        Files.writeString(ringFile, withoutV2);
        config.put("kek.versions", "1");

        TransitKekProvider dropped = start(config);
        assertEquals(List.of(1), dropped.versions());
        DefaultKeystoreOperations restarted = operations(backend, dropped);
        UnavailableException seal = assertThrows(UnavailableException.class, () -> restarted.generate(spec("after")));
        assertTrue(seal.getMessage().contains("KEK 'transit' version 2 is missing from its ring, but records may still "
                + "be sealed under it"), seal.getMessage());
        assertThrows(UnavailableException.class, () -> restarted.get(underV2.id()));
        assertEquals(1, backend.listKeys(KeyFilter.all()).keys().size(), "nothing was sealed");

        Files.writeString(ringFile, text); // the version restored: everything opens and seals again
        DefaultKeystoreOperations restored = operations(backend, start(config(ringFile, 2)));
        try (KeyMaterial m = restored.get(underV2.id())) {
            assertArrayEquals(material, m.copyBytes());
        }
        restored.generate(spec("after"));
    }
}
