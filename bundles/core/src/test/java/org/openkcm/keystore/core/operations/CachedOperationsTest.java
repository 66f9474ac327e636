package org.openkcm.keystore.core.operations;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.admin.Administration;
import org.openkcm.keystore.core.cache.CacheSettings;
import org.openkcm.keystore.core.cache.KeyCache;
import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.core.testing.TestKeks;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore.Operation;

/** KeystoreOperations reading through the key caches: hits, and every write invalidating what it changed. */
class CachedOperationsTest {
    final FaultyKeystore backend = new FaultyKeystore(new MemoryKeystore());
    final KeyCache cache = new KeyCache(CacheSettings.defaults());
    final Fixture.MutableClock clock = new Fixture.MutableClock();
    final DefaultKeystoreOperations ops = DefaultKeystoreOperations.of(backend,
            List.<KekProvider>of(TestKeks.fixed("test", 1))).clock(clock).cache(cache);

    @AfterEach
    void close() {
        cache.close();
    }

    KeyId generate(String name) {
        return ops.generate(Fixture.spec(name).build()).id();
    }

    byte[] read(KeyId id) {
        try (KeyMaterial m = ops.get(id)) {
            return m.copyBytes();
        }
    }

    @Test
    void aKeyIsReadFromTheBackendOnceThenServedFromTheCache() {
        KeyId id = generate("k");
        long before = backend.calls(Operation.RETRIEVE);
        byte[] first = read(id);
        for (int i = 0; i < 5; i++) {
            assertArrayEquals(first, read(id));
            ops.metadata(id);
        }
        assertEquals(1, backend.calls(Operation.RETRIEVE) - before);
        CacheStatistics material = cache.statistics().of(CacheStatistics.Layer.MATERIAL, KeyType.L4);
        assertEquals(5, material.hits());
    }

    @Test
    void retiringAKeyIsSeenByTheNextReadEvenThoughItWasCached() {
        KeyId id = generate("k");
        read(id);
        KeyMetadata m = ops.metadata(id);
        ops.changeStatus(id, KeyStatus.RETIRED, m.revision());
        assertThrows(PolicyRefusedException.class, () -> read(id));
    }

    @Test
    void everyWriteInvalidatesWhatItChanged() {
        KeyId id = generate("k");
        read(id);
        KeyMetadata m = ops.changeTags(id, Map.of("team", "crypto"), ops.metadata(id).revision());
        assertEquals(Map.of("team", "crypto"), ops.metadata(id).tags(), "tags");
        ops.changeExpiry(id, clock.instant().plusSeconds(1), m.revision());
        clock.advanceMillis(1_000);
        assertThrows(PolicyRefusedException.class, () -> read(id), "expiry");

        KeyId r = generate("r");
        read(r);
        ops.rotate("r");
        assertEquals(KeyStatus.DEPRECATED, ops.metadata(r).status(), "rotate");

        KeyId d = generate("d");
        read(d);
        ops.delete(d);
        assertThrows(KeyNotFoundException.class, () -> read(d), "delete");

        KeyId all = generate("all");
        ops.rotate("all");
        read(all);
        read(all.nextVersion());
        assertEquals(2, ops.deleteAllVersions("all"));
        assertThrows(KeyNotFoundException.class, () -> read(all), "delete all versions");
        assertThrows(KeyNotFoundException.class, () -> read(all.nextVersion()), "delete all versions");
    }

    @Test
    void aKekRewrapInvalidatesTheRecordsItReplaced() {
        TestKeks.Fixed kek = TestKeks.fixed("test", 1);
        DefaultKeystoreOperations o = DefaultKeystoreOperations.of(backend, List.<KekProvider>of(kek)).cache(cache);
        KeyId id = o.generate(Fixture.spec("k").build()).id();
        byte[] material;
        try (KeyMaterial m = o.get(id)) {
            material = m.copyBytes();
        }
        kek.replace("test", Map.of(1, TestKeks.kek(1), 2, TestKeks.kek(2)));
        Administration.of(o).rewrapAll();
        kek.replace("test", Map.of(2, TestKeks.kek(2))); // version 1 removed: only re-wrapped records open
        try (KeyMaterial m = o.get(id)) {
            assertArrayEquals(material, m.copyBytes());
        }
    }

    @Test
    void concurrentMissesMakeOneBackendReadThroughTheOperations() throws Exception {
        KeyId id = generate("hot");
        backend.delay(Operation.RETRIEVE, Duration.ofMillis(200));
        long before = backend.calls(Operation.RETRIEVE);
        int threads = 12;
        CyclicBarrier start = new CyclicBarrier(threads);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<byte[]>> results = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                results.add(pool.submit(() -> {
                    start.await();
                    return read(id);
                }));
            }
            byte[] first = results.get(0).get(10, TimeUnit.SECONDS);
            for (Future<byte[]> r : results) {
                assertArrayEquals(first, r.get(10, TimeUnit.SECONDS));
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, backend.calls(Operation.RETRIEVE) - before);
    }

    @Test
    void aBackendThatIsDownIsAskedAgainOnceItIsBack() {
        KeyId id = generate("k");
        backend.down("maintenance");
        assertThrows(UnavailableException.class, () -> read(id));
        backend.reset();
        assertTrue(read(id).length == 32);
    }
}
