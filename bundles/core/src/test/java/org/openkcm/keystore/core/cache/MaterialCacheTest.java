package org.openkcm.keystore.core.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.api.CacheStatistics.Layer;
import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.sdk.SampleKeys;

import com.github.benmanes.caffeine.cache.Scheduler;

/**
 * The material cache alone: records are handed to it as a record layer would (read from the memory
 * backend and confirmed now); the opener stands in for the envelope.
 */
class MaterialCacheTest extends CacheFixture {
    /** What the cache asks after an open: is the record still the key's? */
    volatile boolean recordsCurrent = true;
    MaterialCache cache = cache(CacheSettings.defaults());

    MaterialCache cache(CacheSettings settings) {
        return new MaterialCache(settings, ticker, Scheduler.disabledScheduler(), (id, record) -> recordsCurrent);
    }

    @AfterEach
    void close() {
        cache.close();
    }

    /** The key's record as the backend holds it now, confirmed now (as the record cache hands it on). */
    CachedRecord recordOf(KeyId id) {
        CachedRecord r = new CachedRecord("memory", backend.retrieveKey(id));
        r.confirmed(ticker.read());
        return r;
    }

    byte[] read(KeyId id, CachedRecord record) {
        try (KeyMaterial m = cache.material(id, record, opener)) {
            return m.copyBytes();
        }
    }

    CacheStatistics stats(KeyType tier) {
        for (CacheStatistics s : cache.statistics()) {
            if (s.layer() == Layer.MATERIAL && s.tier() == tier) {
                return s;
            }
        }
        throw new AssertionError("no material statistics for " + tier);
    }

    long size(KeyType tier) {
        cache.cleanUp(); // the scheduler is off in these tests: expiry is applied when the cache is cleaned
        return stats(tier).size();
    }

    @Test
    void openedMaterialIsServedFromTheCacheAsACopy() {
        KeyId id = store("k", 1, KeyType.L4);
        CachedRecord r = recordOf(id);
        byte[] first = read(id, r);
        byte[] second = read(id, r);
        assertArrayEquals(first, second);
        assertEquals(1, opens.get());
        CacheStatistics s = stats(KeyType.L4);
        assertEquals(1, s.hits());
        assertEquals(1, s.misses());
        assertEquals(1, s.loads());
        KeyMaterial m = cache.material(id, r, opener);
        m.close(); // the caller wipes its copy ...
        assertArrayEquals(first, read(id, r), "... and the cached bytes are untouched");
    }

    @Test
    void l2MaterialIsNotCachedByDefault() {
        KeyId id = store("tenant", 1, KeyType.L2);
        CachedRecord r = recordOf(id);
        read(id, r);
        read(id, r);
        assertEquals(2, opens.get());
        assertNull(cache.heldMaterialForTest(id));
    }

    @Test
    void aDisabledCacheOpensEveryTime() {
        cache.close();
        cache = cache(CacheSettings.disabled());
        KeyId id = store("k", 1, KeyType.L4);
        CachedRecord r = recordOf(id);
        read(id, r);
        read(id, r);
        assertEquals(2, opens.get());
        assertNull(cache.heldMaterialForTest(id));
    }

    @Test
    void materialIsServedOnlyForTheRecordItWasOpenedFrom() {
        KeyId id = store("k", 1, KeyType.L4);
        byte[] before = read(id, recordOf(id));
        byte[] held = cache.heldMaterialForTest(id);
        // a rewrap replaces the record (same key, new sealed bytes); the material cache is not told
        SealedKey rewrapped = SampleKeys.sealed(64, 4242);
        backend.rewrapKey(id, rewrapped, backend.retrieveKey(id).metadata().revision());
        byte[] after = read(id, recordOf(id));
        assertArrayEquals(material(rewrapped), after);
        assertFalse(Arrays.equals(before, after));
        assertTrue(zeros(held), "the material of the old record was replaced and wiped");
        assertEquals(2, opens.get());
    }

    @Test
    void anEqualRecordReadAgainIsServedTheMaterialOpenedFromIt() {
        KeyId id = store("k", 1, KeyType.L4);
        byte[] first = read(id, recordOf(id));
        assertArrayEquals(first, read(id, recordOf(id)), "another instance, the same sealed bytes");
        assertEquals(1, opens.get());
    }

    @Test
    void concurrentMissesOnOneKeyOpenItOnce() throws Exception {
        KeyId id = store("hot", 1, KeyType.L4);
        CachedRecord r = recordOf(id);
        KeyCache.Opener slow = stored -> {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return opener.open(stored);
        };
        int threads = 16;
        CyclicBarrier start = new CyclicBarrier(threads);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<byte[]>> results = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                results.add(pool.submit(() -> {
                    start.await();
                    try (KeyMaterial m = cache.material(id, r, slow)) {
                        return m.copyBytes();
                    }
                }));
            }
            byte[] expected = material(r.stored().sealed());
            for (Future<byte[]> f : results) {
                assertArrayEquals(expected, f.get(10, TimeUnit.SECONDS));
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, opens.get(), "16 concurrent misses, one open");
    }

    @Test
    void anOpenThatFailsKeepsNothing() {
        KeyId id = store("k", 1, KeyType.L4);
        CachedRecord r = recordOf(id);
        KeyCache.Opener failing = stored -> {
            throw new IntegrityException(id, "injected: the record does not open");
        };
        assertThrows(IntegrityException.class, () -> cache.material(id, r, failing));
        assertNull(cache.heldMaterialForTest(id));
        assertEquals(0, stats(KeyType.L4).size());
        read(id, r);
        assertEquals(1, opens.get(), "opened on the next read");
    }

    @Test
    void materialOpenedFromARecordNoLongerCurrentIsNotKept() {
        KeyId id = store("k", 1, KeyType.L4);
        recordsCurrent = false; // a write invalidated the key while it was being opened
        byte[] got = read(id, recordOf(id));
        assertArrayEquals(material(backend.retrieveKey(id).sealed()), got, "the reader still gets its answer");
        assertNull(cache.heldMaterialForTest(id), "but nothing is kept");
        assertEquals(0, size(KeyType.L4));
    }

    @Test
    void evictedMaterialIsOverwritten() {
        CacheSettings.Tier l4 = CacheSettings.defaults().tier(KeyType.L4);
        cache.close();
        cache = cache(CacheSettings.defaults().with(KeyType.L4, new CacheSettings.Tier(l4.recordsTtl(), 2,
                l4.materialTtl())));
        Map<KeyId, byte[]> held = new HashMap<>();
        for (int i = 1; i <= 10; i++) {
            KeyId id = store("k" + i, 1, KeyType.L4);
            read(id, recordOf(id));
            byte[] array = cache.heldMaterialForTest(id);
            if (array != null) {
                held.put(id, array);
            }
            cache.cleanUp();
        }
        int evicted = 0;
        for (Map.Entry<KeyId, byte[]> e : held.entrySet()) {
            if (cache.heldMaterialForTest(e.getKey()) != e.getValue()) {
                assertTrue(zeros(e.getValue()), "evicted material of " + e.getKey() + " was overwritten");
                evicted++;
            } else {
                assertFalse(zeros(e.getValue()));
            }
        }
        assertTrue(evicted >= 7, "evicted " + evicted);
        assertTrue(stats(KeyType.L4).evictions() >= 7);
    }

    @Test
    void expiredMaterialIsOverwritten() {
        cache.close();
        cache = cache(CacheSettings.defaults().revalidatingAfter(Duration.ZERO)); // expiry alone, no sweep
        KeyId id = store("k", 1, KeyType.L3);
        read(id, recordOf(id));
        byte[] held = cache.heldMaterialForTest(id);
        ticker.advance(Duration.ofSeconds(CacheSettings.DEFAULT_MATERIAL_TTL_SECONDS + 1));
        cache.cleanUp();
        assertTrue(zeros(held));
        assertNull(cache.heldMaterialForTest(id));
        assertEquals(1, stats(KeyType.L3).evictions());
    }

    @Test
    void withoutABoundMaterialKeepsItsTimeToLive() {
        cache.close();
        cache = cache(CacheSettings.defaults().revalidatingAfter(Duration.ZERO));
        KeyId id = store("k", 1, KeyType.L4);
        read(id, recordOf(id)); // never confirmed again: without a bound that does not matter
        ticker.advance(Duration.ofSeconds(CacheSettings.DEFAULT_MATERIAL_TTL_SECONDS).minusMillis(10));
        assertEquals(1, size(KeyType.L4));
        ticker.advance(Duration.ofMillis(20));
        assertEquals(0, size(KeyType.L4));
    }

    // --------------------------------------------------------------- unconfirmed material

    @Test
    void materialLeavesOnceItsRecordWentUnconfirmedForTheWindowAndAConfirmationOfTheRecordMovesTheDeadline() {
        Duration window = BOUND.multipliedBy(UnconfirmedMaterial.UNCONFIRMED_BOUNDS);
        KeyId id = store("k", 1, KeyType.L4);
        CachedRecord r = recordOf(id);
        read(id, r);
        byte[] held = cache.heldMaterialForTest(id);
        ticker.advance(window.minusMillis(10));
        assertEquals(1, size(KeyType.L4), "within the window");
        r.confirmed(ticker.read()); // the record layer revalidated this record: no material read
        ticker.advance(Duration.ofMillis(20));
        assertEquals(1, size(KeyType.L4), "the record's confirmation counts for its material");
        ticker.advance(window);
        assertEquals(0, size(KeyType.L4), "unconfirmed for the window since: gone without a read");
        assertTrue(zeros(held));
        assertEquals(1, opens.get());
    }

    @Test
    void aHitForAnotherInstanceOfTheRecordTakesItsConfirmations() {
        Duration window = BOUND.multipliedBy(UnconfirmedMaterial.UNCONFIRMED_BOUNDS);
        KeyId id = store("k", 1, KeyType.L4);
        read(id, recordOf(id));
        ticker.advance(BOUND.multipliedBy(3).dividedBy(2));
        CachedRecord again = recordOf(id); // read again (its entry had expired, say), confirmed now
        read(id, again);
        assertEquals(1, opens.get());
        ticker.advance(BOUND);
        assertEquals(1, size(KeyType.L4), "past the first record's window, within the second's");
        again.confirmed(ticker.read());
        ticker.advance(window.minusMillis(10));
        assertEquals(1, size(KeyType.L4), "confirmations of the instance it was last served for count");
        ticker.advance(Duration.ofMillis(20));
        assertEquals(0, size(KeyType.L4));
    }

    @Test
    void aRecordNoRecordCacheConfirmedCountsAsReadWhenOpened() {
        Duration window = BOUND.multipliedBy(UnconfirmedMaterial.UNCONFIRMED_BOUNDS);
        KeyId id = store("k", 1, KeyType.L4);
        ticker.advance(Duration.ofSeconds(30));
        CachedRecord unconfirmed = new CachedRecord("memory", backend.retrieveKey(id));
        read(id, unconfirmed);
        assertEquals(ticker.read(), unconfirmed.confirmedAt());
        ticker.advance(window.minusMillis(10));
        assertEquals(1, size(KeyType.L4));
        ticker.advance(Duration.ofMillis(20));
        assertEquals(0, size(KeyType.L4));
    }

    // --------------------------------------------------------------- invalidation

    @Test
    void invalidatingAKeyWipesItsMaterialOnly() {
        KeyId a = store("a", 1, KeyType.L4);
        KeyId b = store("b", 1, KeyType.L3);
        read(a, recordOf(a));
        read(b, recordOf(b));
        byte[] heldA = cache.heldMaterialForTest(a);
        cache.invalidate(a);
        assertTrue(zeros(heldA));
        assertNull(cache.heldMaterialForTest(a));
        assertNotNull(cache.heldMaterialForTest(b));
        assertEquals(1, stats(KeyType.L4).invalidations());
    }

    @Test
    void invalidatingANameWipesEveryVersionAndNothingElse() {
        KeyId a1 = store("a", 1, KeyType.L4);
        KeyId a2 = store("a", 2, KeyType.L3);
        KeyId b1 = store("b", 1, KeyType.L4);
        List.of(a1, a2, b1).forEach(id -> read(id, recordOf(id)));
        byte[] held1 = cache.heldMaterialForTest(a1);
        byte[] held2 = cache.heldMaterialForTest(a2);
        cache.invalidateName("a");
        assertTrue(zeros(held1) && zeros(held2));
        assertNull(cache.heldMaterialForTest(a1));
        assertNull(cache.heldMaterialForTest(a2));
        assertNotNull(cache.heldMaterialForTest(b1));
    }

    @Test
    void invalidatingABackendWipesTheMaterialOpenedFromItsRecordsOnly() {
        KeyId x = store("x", 1, KeyType.L4);
        KeyId y = store("y", 1, KeyType.L4);
        read(x, recordOf(x));
        read(y, new CachedRecord("other", backend.retrieveKey(y)));
        byte[] heldY = cache.heldMaterialForTest(y);
        cache.invalidateBackend("other");
        assertTrue(zeros(heldY));
        assertNull(cache.heldMaterialForTest(y));
        assertNotNull(cache.heldMaterialForTest(x));
    }

    @Test
    void invalidatingEverythingWipesEveryOpenedKey() {
        KeyId a = store("a", 1, KeyType.L4);
        KeyId b = store("b", 1, KeyType.L3);
        read(a, recordOf(a));
        read(b, recordOf(b));
        byte[] heldA = cache.heldMaterialForTest(a);
        byte[] heldB = cache.heldMaterialForTest(b);
        cache.invalidateAll();
        assertTrue(zeros(heldA) && zeros(heldB));
        read(a, recordOf(a));
        assertEquals(3, opens.get(), "opened again");
    }

    @Test
    void closingTheCacheWipesEveryOpenedKey() {
        KeyId id = store("k", 1, KeyType.L3);
        read(id, recordOf(id));
        byte[] held = cache.heldMaterialForTest(id);
        cache.close();
        assertTrue(zeros(held));
    }

    @Test
    void aClosedCacheKeepsNoMaterialForAReaderThatStillHoldsIt() {
        KeyId id = store("k", 1, KeyType.L3);
        cache.close();
        assertNotNull(read(id, recordOf(id)));
        assertNull(cache.heldMaterialForTest(id));
    }

    @Test
    void aReaderNeverGetsWipedBytesWhileEntriesAreInvalidated() throws Exception {
        KeyId id = store("k", 1, KeyType.L4);
        CachedRecord r = recordOf(id);
        byte[] expected = read(id, r);
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService pool = Executors.newFixedThreadPool(5);
        try {
            List<Future<Integer>> readers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                readers.add(pool.submit(() -> {
                    int n = 0;
                    while (!stop.get()) {
                        assertArrayEquals(expected, read(id, r));
                        n++;
                    }
                    return n;
                }));
            }
            pool.submit(() -> {
                long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
                while (System.nanoTime() < end) {
                    cache.invalidate(id);
                }
                stop.set(true);
            }).get(10, TimeUnit.SECONDS);
            for (Future<Integer> f : readers) {
                assertTrue(f.get(10, TimeUnit.SECONDS) > 0);
            }
        } finally {
            stop.set(true);
            pool.shutdownNow();
        }
    }
}
