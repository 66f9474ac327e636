package org.openkcm.keystore.memory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.keystore.sdk.SampleKeys.minimal;
import static org.openkcm.keystore.sdk.SampleKeys.sealed;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.api.Validation;
import org.openkcm.keystore.sdk.ComponentConfigs;

/** What the in-memory backend does beyond the shared contract: wiping, its bound, its configuration. */
class MemoryKeystoreTest {

    private final List<MemoryKeystore> made = new ArrayList<>();

    @AfterEach
    void deactivateAll() {
        made.forEach(MemoryKeystore::deactivate);
    }

    // ---- wiping ----

    @Test
    @DisplayName("delete overwrites the record's bytes with zeros")
    void deleteWipesTheRecord() {
        MemoryKeystore keystore = plain();
        KeyId id = KeyId.of("doomed", 1);
        keystore.storeKey(id, sealed(64, 1), minimal(id).build());
        byte[] held = keystore.internalRecordBytes(id);
        assertFalse(allZero(held), "sample record should not be all zeros to begin with");

        assertTrue(keystore.deleteKey(id));

        assertTrue(allZero(held), "the deleted record's bytes should be overwritten with zeros");
        assertNull(keystore.internalRecordBytes(id));
        assertThrows(KeyNotFoundException.class, () -> keystore.retrieveKey(id));
        assertFalse(keystore.deleteKey(id));
    }

    @Test
    @DisplayName("a metadata update keeps the sealed bytes in a copy and wipes the replaced one; the later delete wipes the copy")
    void updateKeepsTheRecordAndDeleteWipesIt() {
        MemoryKeystore keystore = plain();
        KeyId id = KeyId.of("updated", 1);
        KeyMetadata stored = minimal(id).build();
        keystore.storeKey(id, sealed(64, 2), stored);
        byte[] before = keystore.internalRecordBytes(id);

        keystore.updateKeyMetadata(id, stored.toBuilder().tags(Map.of("phase", "two")).revision(2).build());
        byte[] after = keystore.internalRecordBytes(id);
        assertTrue(allZero(before), "the record the update replaced should be overwritten with zeros");
        assertFalse(allZero(after), "the record in the store keeps the sealed bytes");
        assertEquals(sealed(64, 2), keystore.retrieveKey(id).sealed());

        keystore.deleteKey(id);
        assertTrue(allZero(after));
    }

    @Test
    @DisplayName("rewrap overwrites the replaced record with zeros and keeps the new one")
    void rewrapWipesTheReplacedRecord() {
        MemoryKeystore keystore = plain();
        KeyId id = KeyId.of("rewrapped", 1);
        keystore.storeKey(id, sealed(64, 3), minimal(id).build());
        byte[] old = keystore.internalRecordBytes(id);

        keystore.rewrapKey(id, sealed(80, 4), 1);

        assertTrue(allZero(old), "the replaced record's bytes should be overwritten with zeros");
        assertEquals(sealed(80, 4), keystore.retrieveKey(id).sealed());
        assertFalse(allZero(keystore.internalRecordBytes(id)));
    }

    @Test
    @DisplayName("the store keeps its own copy: an identical retry leaves the stored array as it was")
    void identicalRetryKeepsTheFirstRecord() {
        MemoryKeystore keystore = plain();
        KeyId id = KeyId.of("retried", 1);
        keystore.storeKey(id, sealed(64, 5), minimal(id).build());
        byte[] held = keystore.internalRecordBytes(id);
        byte[] before = held.clone();

        keystore.storeKey(id, sealed(64, 5), minimal(id).build());

        assertTrue(held == keystore.internalRecordBytes(id), "the first record should stay in place");
        assertArrayEquals(before, held);
        assertEquals(1, keystore.size());
    }

    @Test
    @DisplayName("deactivate overwrites every record with zeros, empties the store and reports down")
    void deactivateWipesEverything() {
        MemoryKeystore keystore = plain();
        List<byte[]> held = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            KeyId id = KeyId.of("k" + i, 1);
            keystore.storeKey(id, sealed(32 + i, i), minimal(id).build());
            held.add(keystore.internalRecordBytes(id));
        }

        keystore.deactivate();

        for (byte[] bytes : held) {
            assertTrue(allZero(bytes), "every record should be overwritten with zeros");
        }
        assertEquals(0, keystore.size());
        assertNull(keystore.internalRecordBytes(KeyId.of("k0", 1)));
        KeystoreHealth health = keystore.health();
        assertFalse(health.isUp());
        assertEquals("deactivated", health.reason().orElseThrow());
    }

    @Test
    @DisplayName("after deactivate every operation is refused as unavailable, and nothing is stored")
    void deactivatedRefusesEverything() {
        MemoryKeystore keystore = plain();
        KeyId id = KeyId.of("late", 1);
        KeyMetadata metadata = minimal(id).build();
        keystore.deactivate();

        assertThrows(UnavailableException.class, () -> keystore.storeKey(id, sealed(1), metadata));
        assertThrows(UnavailableException.class, () -> keystore.retrieveKey(id));
        assertThrows(UnavailableException.class,
                () -> keystore.updateKeyMetadata(id, metadata.toBuilder().revision(2).build()));
        assertThrows(UnavailableException.class, () -> keystore.rewrapKey(id, sealed(2), 1));
        assertThrows(UnavailableException.class, () -> keystore.deleteKey(id));
        assertThrows(UnavailableException.class, () -> keystore.listKeys(KeyFilter.all()));
        assertEquals(0, keystore.size());
    }

    // ---- the entry bound ----

    @Test
    @DisplayName("a store beyond maxEntries is refused by policy, names the bound, and changes nothing")
    void storeBeyondTheBoundIsRefused() {
        MemoryKeystore keystore = track(new MemoryKeystore(2));
        KeyId a = KeyId.of("a", 1);
        KeyId b = KeyId.of("b", 1);
        KeyId c = KeyId.of("c", 1);
        keystore.storeKey(a, sealed(1), minimal(a).build());
        keystore.storeKey(b, sealed(2), minimal(b).build());

        PolicyRefusedException refused = assertThrows(PolicyRefusedException.class,
                () -> keystore.storeKey(c, sealed(3), minimal(c).build()));

        assertTrue(refused.getMessage().contains("maxEntries=2"), refused.getMessage());
        assertEquals(c, refused.keyId().orElseThrow());
        assertEquals(List.of(a, b), ids(keystore));
        assertThrows(KeyNotFoundException.class, () -> keystore.retrieveKey(c));
        assertEquals(2, keystore.size());

        // an identical retry of a stored key is no new entry: it still succeeds when full
        keystore.storeKey(a, sealed(1), minimal(a).build());
        // and a delete makes room
        keystore.deleteKey(a);
        keystore.storeKey(c, sealed(3), minimal(c).build());
        assertEquals(List.of(b, c), ids(keystore));
    }

    @Test
    @DisplayName("racing stores never exceed maxEntries")
    void racingStoresRespectTheBound() throws Exception {
        int bound = 50;
        int threads = 8;
        int perThread = 20;
        MemoryKeystore keystore = track(new MemoryKeystore(bound));
        AtomicInteger refused = new AtomicInteger();
        List<Callable<Void>> tasks = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int thread = t;
            tasks.add(() -> {
                for (int i = 0; i < perThread; i++) {
                    KeyId id = KeyId.of("t" + thread + "-k" + i, 1);
                    try {
                        keystore.storeKey(id, sealed(16, thread * 1000L + i), minimal(id).build());
                    } catch (PolicyRefusedException e) {
                        refused.incrementAndGet();
                    }
                }
                return null;
            });
        }

        race(tasks);

        assertEquals(bound, keystore.size());
        assertEquals(bound, ids(keystore).size());
        assertEquals(threads * perThread - bound, refused.get());
    }

    @Test
    @DisplayName("reads racing metadata updates always return the stored bytes, never a wiped copy")
    void readsRacingUpdatesNeverSeeAWipedRecord() throws Exception {
        MemoryKeystore keystore = plain();
        KeyId id = KeyId.of("raced", 1);
        KeyMetadata first = minimal(id).build();
        SealedKey bytes = sealed(64, 7);
        keystore.storeKey(id, bytes, first);
        int updates = 2_000;
        AtomicInteger reads = new AtomicInteger();
        List<Callable<Void>> tasks = new ArrayList<>();
        tasks.add(() -> {
            KeyMetadata current = first;
            for (int i = 0; i < updates; i++) {
                current = keystore.updateKeyMetadata(id, current.toBuilder().revision(current.revision() + 1).build());
            }
            return null;
        });
        for (int t = 0; t < 3; t++) {
            tasks.add(() -> {
                // each update wipes the record it replaces: a read that copied it must look again
                while (keystore.retrieveKey(id).metadata().revision() <= updates) {
                    assertEquals(bytes, keystore.retrieveKey(id).sealed());
                    reads.incrementAndGet();
                }
                return null;
            });
        }

        race(tasks);

        assertEquals(updates + 1, keystore.retrieveKey(id).metadata().revision());
        assertTrue(reads.get() > 0);
    }

    @Test
    @DisplayName("the plain-object constructors: defaults, and a bound below 1 is refused")
    void constructors() {
        MemoryKeystore keystore = plain();
        assertTrue(keystore.health().isUp());
        for (KeyType tier : KeyType.values()) {
            KeyId id = KeyId.of("tier-" + tier, 1);
            keystore.storeKey(id, sealed(1), minimal(id).type(tier).build());
        }
        assertEquals(3, keystore.size());

        InvalidInputException e = assertThrows(InvalidInputException.class, () -> new MemoryKeystore(0));
        assertEquals("maxEntries", e.field());
    }

    // ---- configuration ----

    static Stream<Arguments> invalidConfigurations() {
        return Stream.of(
                Arguments.of("keystore.name", Map.of("keystore_name", "")),
                Arguments.of("keystore.name", Map.of("keystore_name", "../etc")),
                Arguments.of("keystore.name", Map.of("keystore_name", "has space")),
                Arguments.of("keystore.name", Map.of("keystore_name", "n".repeat(Validation.MAX_NAME_LENGTH + 1))),
                Arguments.of("keystore.tiers", Map.of("keystore_tiers", new String[0])),
                Arguments.of("keystore.tiers[0]", Map.of("keystore_tiers", new String[] {"L1"})),
                Arguments.of("keystore.tiers[1]", Map.of("keystore_tiers", new String[] {"L2", "L9"})),
                Arguments.of("keystore.tiers[0]", Map.of("keystore_tiers", new String[] {"l2"})),
                Arguments.of("keystore.regions[1]", Map.of("keystore_regions", new String[] {"eu-west-1", "eu/west"})),
                Arguments.of("maxEntries", Map.of("maxEntries", 0)),
                Arguments.of("maxEntries", Map.of("maxEntries", -5)));
    }

    @ParameterizedTest(name = "{0} in {1}")
    @MethodSource("invalidConfigurations")
    @DisplayName("an invalid configuration fails activation with an error naming the attribute")
    void invalidConfigurationFailsActivation(String field, Map<String, Object> values) {
        MemoryKeystore keystore = new MemoryKeystore();

        InvalidInputException e = assertThrows(InvalidInputException.class, () -> keystore.activate(ComponentConfigs.of(MemoryKeystore.Config.class, values)));

        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.getMessage().startsWith("invalid " + field + ": "), e.getMessage());
    }

    @Test
    @DisplayName("the configured tiers are the ones accepted; the name appears in refusals")
    void configuredTiersAreEnforced() {
        MemoryKeystore keystore = configured(Map.of("keystore_name", "edge-cache", "keystore_tiers", new String[] {"L4"},
                "keystore_regions", new String[] {"eu-west-1"}, "service_ranking", 10, "maxEntries", 5));
        KeyId l4 = KeyId.of("data", 1);
        KeyId l3 = KeyId.of("kek", 1);
        keystore.storeKey(l4, sealed(1), minimal(l4).type(KeyType.L4).build());

        PolicyRefusedException e = assertThrows(PolicyRefusedException.class,
                () -> keystore.storeKey(l3, sealed(2), minimal(l3).type(KeyType.L3).build()));

        assertTrue(e.getMessage().contains("'edge-cache'") && e.getMessage().contains("L3"), e.getMessage());
        assertEquals(List.of(l4), ids(keystore));
    }

    @Test
    @DisplayName("a plain comma-separated tiers value (keystore.tiers=L2,L4 in a .cfg) means two tiers")
    void plainCommaSeparatedTiersAreSplit() {
        MemoryKeystore keystore = configured(Map.of("keystore_tiers", new String[] {"L2, L4"}));
        KeyId l2 = KeyId.of("tenant", 1);
        KeyId l3 = KeyId.of("kek", 1);
        KeyId l4 = KeyId.of("data", 1);

        keystore.storeKey(l2, sealed(1), minimal(l2).type(KeyType.L2).build());
        keystore.storeKey(l4, sealed(2), minimal(l4).type(KeyType.L4).build());
        assertThrows(PolicyRefusedException.class,
                () -> keystore.storeKey(l3, sealed(3), minimal(l3).type(KeyType.L3).build()));

        assertEquals(List.of(l4, l2), ids(keystore));
    }

    @Test
    @DisplayName("a valid modification keeps every key and applies the new bound and tiers")
    void modifiedKeepsKeys() {
        MemoryKeystore keystore = configured(Map.of());
        KeyId a = KeyId.of("a", 1);
        KeyId b = KeyId.of("b", 1);
        keystore.storeKey(a, sealed(1), minimal(a).build());
        keystore.storeKey(b, sealed(2), minimal(b).build());

        keystore.modified(ComponentConfigs.of(MemoryKeystore.Config.class, Map.of("maxEntries", 2, "keystore_tiers", new String[] {"L3"})));

        assertEquals(List.of(a, b), ids(keystore));
        assertEquals(sealed(2), keystore.retrieveKey(b).sealed());
        KeyId c = KeyId.of("c", 1);
        assertThrows(PolicyRefusedException.class, () -> keystore.storeKey(c, sealed(3), minimal(c).build()));
        keystore.deleteKey(a);
        assertThrows(PolicyRefusedException.class,
                () -> keystore.storeKey(c, sealed(3), minimal(c).type(KeyType.L4).build()));
        keystore.storeKey(c, sealed(3), minimal(c).build());
        assertTrue(keystore.health().isUp());
    }

    @Test
    @DisplayName("an invalid modification is refused: the previous settings stay in force and health says why")
    void invalidModificationKeepsThePreviousSettings() {
        MemoryKeystore keystore = configured(Map.of("keystore_tiers", new String[] {"L3"}, "maxEntries", 2));
        KeyId a = KeyId.of("a", 1);
        keystore.storeKey(a, sealed(1), minimal(a).build());

        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> keystore.modified(ComponentConfigs.of(MemoryKeystore.Config.class, Map.of("maxEntries", 0))));

        assertEquals("maxEntries", e.field());
        KeystoreHealth health = keystore.health();
        assertFalse(health.isUp());
        assertTrue(health.reason().orElseThrow().contains("invalid maxEntries"), health::toString);
        // still serving, under the settings it had: tiers L3, at most 2 keys
        assertNotNull(keystore.retrieveKey(a));
        KeyId b = KeyId.of("b", 1);
        KeyId c = KeyId.of("c", 1);
        assertThrows(PolicyRefusedException.class,
                () -> keystore.storeKey(b, sealed(2), minimal(b).type(KeyType.L4).build()));
        keystore.storeKey(b, sealed(2), minimal(b).build());
        assertThrows(PolicyRefusedException.class, () -> keystore.storeKey(c, sealed(3), minimal(c).build()));

        keystore.modified(ComponentConfigs.of(MemoryKeystore.Config.class, Map.of("maxEntries", 3)));
        assertTrue(keystore.health().isUp());
        keystore.storeKey(c, sealed(3), minimal(c).type(KeyType.L2).build());
        assertEquals(3, keystore.size());
    }

    // ---- helpers ----

    private MemoryKeystore plain() {
        return track(new MemoryKeystore());
    }

    private MemoryKeystore configured(Map<String, Object> values) {
        MemoryKeystore keystore = track(new MemoryKeystore());
        keystore.activate(ComponentConfigs.of(MemoryKeystore.Config.class, values));
        return keystore;
    }

    private MemoryKeystore track(MemoryKeystore keystore) {
        made.add(keystore);
        return keystore;
    }

    private static List<KeyId> ids(MemoryKeystore keystore) {
        List<KeyId> ids = new ArrayList<>();
        KeyFilter filter = KeyFilter.builder().pageSize(Validation.MAX_PAGE_SIZE).build();
        while (true) {
            var page = keystore.listKeys(filter);
            page.keys().forEach(m -> ids.add(m.id()));
            if (page.nextCursor().isEmpty()) {
                return ids;
            }
            filter = filter.withCursor(page.nextCursor().get());
        }
    }

    private static boolean allZero(byte[] bytes) {
        for (byte b : bytes) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    private static void race(List<Callable<Void>> tasks) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(tasks.size());
        CountDownLatch start = new CountDownLatch(1);
        try {
            List<Future<Void>> futures = new ArrayList<>();
            for (Callable<Void> task : tasks) {
                futures.add(pool.submit(() -> {
                    start.await();
                    return task.call();
                }));
            }
            start.countDown();
            for (Future<Void> f : futures) {
                f.get(1, TimeUnit.MINUTES);
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
