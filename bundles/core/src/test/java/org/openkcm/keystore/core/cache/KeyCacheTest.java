package org.openkcm.keystore.core.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.api.CacheStatistics.Layer;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore.Operation;
import org.openkcm.keystore.sdk.SampleKeys;

import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;

/** The two cache layers over a fault-injecting memory backend; the "opener" stands in for the envelope. */
class KeyCacheTest {
    static final Instant NOW = SampleKeys.T0.plusSeconds(60);
    static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

    final FaultyKeystore backend = new FaultyKeystore(new MemoryKeystore());
    final FakeTicker ticker = new FakeTicker();
    final AtomicInteger opens = new AtomicInteger();
    final Function<KeyId, CachedRecord> loader = id -> new CachedRecord("memory", backend.retrieveKey(id));
    /** Opens a record: the "material" is its sealed bytes reversed, so a test can tell what it got. */
    final KeyCache.Opener opener = stored -> {
        opens.incrementAndGet();
        return material(stored.sealed());
    };
    KeyCache cache = cache(CacheSettings.defaults());

    static final class FakeTicker implements Ticker {
        final AtomicLong nanos = new AtomicLong(1);

        @Override
        public long read() {
            return nanos.get();
        }

        void advance(Duration d) {
            nanos.addAndGet(d.toNanos());
        }
    }

    KeyCache cache(CacheSettings settings) {
        return new KeyCache(settings, ticker, Scheduler.disabledScheduler());
    }

    @AfterEach
    void close() {
        cache.close();
    }

    static byte[] material(SealedKey sealed) {
        byte[] b = sealed.bytes();
        byte[] out = new byte[32];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) (b[b.length - 1 - i] | 1); // never all zeros
        }
        return out;
    }

    KeyId store(String name, int version, KeyType type) {
        KeyId id = KeyId.of(name, version);
        backend.storeKey(id, SampleKeys.sealed(64, name.hashCode() * 31L + version),
                SampleKeys.minimal(id).type(type).build());
        return id;
    }

    byte[] read(KeyId id) {
        try (KeyMaterial m = cache.material(id, loader, opener, CLOCK)) {
            return m.copyBytes();
        }
    }

    void retire(KeyId id) {
        KeyMetadata m = backend.retrieveKey(id).metadata();
        backend.updateKeyMetadata(id, m.toBuilder().status(KeyStatus.RETIRED).revision(m.revision() + 1).build());
    }

    static boolean zeros(byte[] bytes) {
        for (byte b : bytes) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    // --------------------------------------------------------------- records

    @Test
    void aRecordIsReadFromTheBackendOnceThenServedFromTheCache() {
        KeyId id = store("k", 1, KeyType.L4);
        StoredKey first = cache.record(id, loader);
        for (int i = 0; i < 5; i++) {
            assertEquals(first, cache.record(id, loader));
        }
        assertEquals(1, backend.calls(Operation.RETRIEVE));
        CacheStatistics s = cache.statistics().of(Layer.RECORDS, KeyType.L4);
        assertEquals(5, s.hits());
        assertEquals(1, s.misses());
        assertEquals(1, s.loads());
        assertEquals(1, s.size());
    }

    @Test
    void invalidatingAKeyMakesTheNextReadSeeTheBackend() {
        KeyId id = store("k", 1, KeyType.L3);
        cache.record(id, loader);
        retire(id);
        assertEquals(KeyStatus.ACTIVE, cache.record(id, loader).metadata().status(), "cached until invalidated");
        cache.invalidate(id);
        assertEquals(KeyStatus.RETIRED, cache.record(id, loader).metadata().status());
        assertEquals(2, backend.calls(Operation.RETRIEVE) - 1 /* the retire's own read */);
    }

    @Test
    void afterWriteInvalidatesEvenWhenTheWriteFailsAfterReachingTheBackend() {
        KeyId id = store("k", 1, KeyType.L3);
        cache.record(id, loader);
        backend.failAfter(Operation.UPDATE, 1, () -> new UnavailableException("ack lost"));
        assertThrows(UnavailableException.class, () -> cache.afterWrite(id, () -> {
            retire(id);
            return null;
        }));
        assertEquals(KeyStatus.RETIRED, cache.record(id, loader).metadata().status());
    }

    @Test
    void invalidatingANameForgetsEveryVersionAndNothingElse() {
        KeyId a1 = store("a", 1, KeyType.L4);
        KeyId a2 = store("a", 2, KeyType.L4);
        KeyId b1 = store("b", 1, KeyType.L4);
        List.of(a1, a2, b1).forEach(id -> cache.record(id, loader));
        cache.invalidateName("a");
        long before = backend.calls(Operation.RETRIEVE);
        List.of(a1, a2, b1).forEach(id -> cache.record(id, loader));
        assertEquals(2, backend.calls(Operation.RETRIEVE) - before, "a:1 and a:2 read again, b:1 served from cache");
    }

    @Test
    void invalidatingABackendForgetsItsKeysOnly() {
        KeyId x = store("x", 1, KeyType.L4);
        KeyId y = store("y", 1, KeyType.L4);
        Function<KeyId, CachedRecord> fromOther = id -> new CachedRecord("other", backend.retrieveKey(id));
        cache.record(x, loader);
        cache.record(y, fromOther);
        cache.invalidateBackend("other");
        long before = backend.calls(Operation.RETRIEVE);
        cache.record(x, loader);
        cache.record(y, fromOther);
        assertEquals(1, backend.calls(Operation.RETRIEVE) - before);
    }

    @Test
    void invalidatingEverythingWipesEveryOpenedKey() {
        KeyId a = store("a", 1, KeyType.L4);
        KeyId b = store("b", 1, KeyType.L3);
        read(a);
        read(b);
        byte[] heldA = cache.heldMaterialForTest(a);
        byte[] heldB = cache.heldMaterialForTest(b);
        cache.invalidateAll();
        assertTrue(zeros(heldA) && zeros(heldB));
        long before = backend.calls(Operation.RETRIEVE);
        read(a);
        assertEquals(1, backend.calls(Operation.RETRIEVE) - before);
    }

    @Test
    void anExactInvalidationWaitsForALoadUnderWayAndRemovesWhatItRead() throws Exception {
        KeyId id = store("k", 1, KeyType.L4);
        CountDownLatch read = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Function<KeyId, CachedRecord> slow = key -> {
            CachedRecord r = loader.apply(key); // reads ACTIVE
            read.countDown();
            await(release);
            return r;
        };
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<StoredKey> reader = pool.submit(() -> cache.record(id, slow));
            assertTrue(read.await(5, TimeUnit.SECONDS));
            Future<?> writer = pool.submit(() -> cache.afterWrite(id, () -> {
                retire(id);
                return null;
            }));
            Thread.sleep(50); // the writer is now blocked in invalidate, behind the load
            release.countDown();
            assertEquals(KeyStatus.ACTIVE, reader.get(5, TimeUnit.SECONDS).metadata().status());
            writer.get(5, TimeUnit.SECONDS);
            assertEquals(KeyStatus.RETIRED, cache.record(id, loader).metadata().status(),
                    "no stale read after the write returned");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aBroadInvalidationDuringALoadIsNotLostWhenTheLoadFinishesAfterIt() throws Exception {
        KeyId id = store("k", 1, KeyType.L4);
        CountDownLatch read = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Function<KeyId, CachedRecord> slow = key -> {
            CachedRecord r = loader.apply(key);
            read.countDown();
            await(release);
            return r;
        };
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<StoredKey> reader = pool.submit(() -> cache.record(id, slow));
            assertTrue(read.await(5, TimeUnit.SECONDS));
            retire(id);
            cache.invalidateBackend("memory"); // does not wait for the load: the entry is not in the map yet
            release.countDown();
            reader.get(5, TimeUnit.SECONDS);
            assertEquals(KeyStatus.RETIRED, cache.record(id, loader).metadata().status());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void concurrentMissesOnOneKeyMakeOneBackendRead() throws Exception {
        KeyId id = store("hot", 1, KeyType.L4);
        backend.delay(Operation.RETRIEVE, Duration.ofMillis(200));
        int threads = 16;
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
            byte[] expected = material(backend.delegate().retrieveKey(id).sealed());
            for (Future<byte[]> r : results) {
                assertArrayEquals(expected, r.get(10, TimeUnit.SECONDS));
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, backend.calls(Operation.RETRIEVE), "16 concurrent misses, one backend read");
        assertEquals(1, opens.get(), "and one open");
    }

    @Test
    void aBackendThatIsDownDoesNotPoisonTheCache() {
        KeyId id = store("k", 1, KeyType.L4);
        backend.down("maintenance");
        assertThrows(UnavailableException.class, () -> cache.record(id, loader));
        assertThrows(UnavailableException.class, () -> read(id));
        assertEquals(2, cache.statistics().failedLoads());
        backend.reset();
        assertNotNull(read(id));
        long before = backend.calls(Operation.RETRIEVE);
        read(id);
        assertEquals(before, backend.calls(Operation.RETRIEVE), "cached once the backend is back");
    }

    @Test
    void anAbsentKeyIsNotRememberedAsAbsent() {
        KeyId id = KeyId.of("later", 1);
        assertThrows(KeyNotFoundException.class, () -> cache.record(id, loader));
        store("later", 1, KeyType.L4);
        assertEquals(id, cache.record(id, loader).metadata().id());
    }

    @Test
    void aRecordOfAnotherIdIsRefusedAndNotCached() {
        KeyId id = store("k", 1, KeyType.L4);
        KeyId other = store("other", 1, KeyType.L4);
        Function<KeyId, CachedRecord> swapped = key -> new CachedRecord("memory", backend.retrieveKey(other));
        assertThrows(org.openkcm.keystore.api.IntegrityException.class, () -> cache.record(id, swapped));
        assertEquals(id, cache.record(id, loader).metadata().id());
    }

    @Test
    void aTierWhoseRecordTtlIsZeroIsNotCached() {
        CacheSettings.Tier l4 = CacheSettings.defaults().tier(KeyType.L4);
        cache = cache(CacheSettings.defaults().with(KeyType.L4, new CacheSettings.Tier(Duration.ZERO,
                l4.materialMaxEntries(), l4.materialTtl())));
        KeyId id = store("k", 1, KeyType.L4);
        cache.record(id, loader);
        cache.record(id, loader);
        assertEquals(2, backend.calls(Operation.RETRIEVE));
    }

    @Test
    void aRecordExpiresAfterItsTierTimeToLive() {
        cache.close();
        cache = cache(CacheSettings.defaults().revalidatingAfter(Duration.ZERO)); // the time to live alone
        KeyId id = store("k", 1, KeyType.L3);
        cache.record(id, loader);
        ticker.advance(Duration.ofSeconds(CacheSettings.DEFAULT_RECORDS_TTL_SECONDS - 1));
        cache.record(id, loader);
        assertEquals(1, backend.calls(Operation.RETRIEVE));
        ticker.advance(Duration.ofSeconds(2));
        cache.record(id, loader);
        assertEquals(2, backend.calls(Operation.RETRIEVE));
        assertEquals(1, cache.statistics().of(Layer.RECORDS, KeyType.L3).evictions());
    }

    @Test
    void aDisabledCacheReadsTheBackendEveryTime() {
        cache = cache(CacheSettings.disabled());
        KeyId id = store("k", 1, KeyType.L4);
        read(id);
        read(id);
        assertEquals(2, backend.calls(Operation.RETRIEVE));
        assertEquals(2, opens.get());
    }

    // --------------------------------------------------------------- material

    @Test
    void openedMaterialIsServedFromTheCacheAsACopy() {
        KeyId id = store("k", 1, KeyType.L4);
        byte[] first = read(id);
        byte[] second = read(id);
        assertArrayEquals(first, second);
        assertEquals(1, opens.get());
        CacheStatistics s = cache.statistics().of(Layer.MATERIAL, KeyType.L4);
        assertEquals(1, s.hits());
        assertEquals(1, s.loads());
        KeyMaterial m = cache.material(id, loader, opener, CLOCK);
        m.close(); // the caller wipes its copy ...
        assertArrayEquals(first, read(id), "... and the cached bytes are untouched");
    }

    @Test
    void l2MaterialIsNotCachedByDefault() {
        KeyId id = store("tenant", 1, KeyType.L2);
        read(id);
        read(id);
        assertEquals(2, opens.get());
        assertNull(cache.heldMaterialForTest(id));
        assertEquals(1, backend.calls(Operation.RETRIEVE), "its sealed record is cached all the same");
    }

    @Test
    void aRetiredKeyIsRefusedOnTheNextReadAndItsCachedMaterialWiped() {
        KeyId id = store("k", 1, KeyType.L4);
        read(id);
        byte[] held = cache.heldMaterialForTest(id);
        cache.afterWrite(id, () -> {
            retire(id);
            return null;
        });
        assertTrue(zeros(held), "invalidation wiped the opened bytes");
        assertThrows(PolicyRefusedException.class, () -> read(id));
        assertNull(cache.heldMaterialForTest(id));
    }

    @Test
    void theStatusIsCheckedOnTheMetadataAtEveryReadEvenWithTheMaterialCached() {
        // material kept longer than records, so that a material entry outlives its record entry (without the
        // revocation bound: with it, material unconfirmed for two bounds is wiped, see CacheRevalidationTest)
        cache = cache(CacheSettings.defaults().with(KeyType.L4, new CacheSettings.Tier(Duration.ofSeconds(300), 100,
                Duration.ofSeconds(600))).revalidatingAfter(Duration.ZERO));
        KeyId id = store("k", 1, KeyType.L4);
        read(id);
        // retired behind the cache's back (another runtime): served until the record entry expires ...
        retire(id);
        read(id);
        ticker.advance(Duration.ofSeconds(CacheSettings.DEFAULT_RECORDS_TTL_SECONDS + 1));
        // ... the material entry is still there, but the RETIRED metadata now read refuses it and wipes it
        byte[] held = cache.heldMaterialForTest(id);
        assertNotNull(held);
        assertThrows(PolicyRefusedException.class, () -> read(id));
        assertTrue(zeros(held), "a refused key's cached material is wiped");
        assertNull(cache.heldMaterialForTest(id));
    }

    @Test
    void anExpiredKeyIsRefusedFromTheCacheWithoutAnyInvalidation() {
        KeyId id = KeyId.of("exp", 1);
        backend.storeKey(id, SampleKeys.sealed(9), SampleKeys.minimal(id).type(KeyType.L4)
                .expiry(NOW.plusSeconds(10)).build());
        read(id);
        byte[] held = cache.heldMaterialForTest(id);
        assertThrows(PolicyRefusedException.class,
                () -> cache.material(id, loader, opener, Clock.fixed(NOW.plusSeconds(10), ZoneOffset.UTC)).close());
        assertTrue(zeros(held));
        assertEquals(1, backend.calls(Operation.RETRIEVE), "refused on the cached metadata");
    }

    @Test
    void materialIsServedOnlyForTheRecordItWasOpenedFrom() {
        KeyId id = store("k", 1, KeyType.L4);
        byte[] before = read(id);
        byte[] held = cache.heldMaterialForTest(id);
        // a rewrap replaces the record (same key, new sealed bytes): the record layer is invalidated
        KeyMetadata m = backend.retrieveKey(id).metadata();
        SealedKey rewrapped = SampleKeys.sealed(64, 4242);
        cache.afterWrite(id, () -> {
            backend.rewrapKey(id, rewrapped, m.revision());
            return null;
        });
        byte[] after = read(id);
        assertArrayEquals(material(rewrapped), after);
        assertTrue(!java.util.Arrays.equals(before, after));
        assertTrue(zeros(held));
    }

    @Test
    void evictedMaterialIsOverwritten() {
        CacheSettings.Tier l4 = CacheSettings.defaults().tier(KeyType.L4);
        cache = cache(CacheSettings.defaults().with(KeyType.L4, new CacheSettings.Tier(l4.recordsTtl(), 2,
                l4.materialTtl())));
        Map<KeyId, byte[]> held = new HashMap<>();
        for (int i = 1; i <= 10; i++) {
            KeyId id = store("k" + i, 1, KeyType.L4);
            read(id);
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
                assertTrue(!zeros(e.getValue()));
            }
        }
        assertTrue(evicted >= 7, "evicted " + evicted);
        assertTrue(cache.statistics().of(Layer.MATERIAL, KeyType.L4).evictions() >= 7);
    }

    @Test
    void expiredMaterialIsOverwritten() {
        KeyId id = store("k", 1, KeyType.L3);
        read(id);
        byte[] held = cache.heldMaterialForTest(id);
        ticker.advance(Duration.ofSeconds(CacheSettings.DEFAULT_MATERIAL_TTL_SECONDS + 1));
        cache.cleanUp();
        assertTrue(zeros(held));
        assertNull(cache.heldMaterialForTest(id));
    }

    @Test
    void closingTheCacheWipesEveryOpenedKey() {
        KeyId id = store("k", 1, KeyType.L3);
        read(id);
        byte[] held = cache.heldMaterialForTest(id);
        cache.close();
        assertTrue(zeros(held));
    }

    @Test
    void materialOpenedAfterAWriteInvalidatedTheKeyIsNotKept() throws Exception {
        KeyId id = KeyId.of("k", 1);
        backend.storeKey(id, SampleKeys.sealed(5), SampleKeys.minimal(id).type(KeyType.L4)
                .expiry(NOW.plusSeconds(3600)).build());
        // the expiry check reads the clock between the record read and the open: a write lands there
        Clock writeOnRead = new Clock() {
            public java.time.ZoneId getZone() {
                return ZoneOffset.UTC;
            }

            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            public Instant instant() {
                Thread writer = new Thread(() -> cache.afterWrite(id, () -> {
                    retire(id);
                    return null;
                }));
                writer.start();
                try {
                    writer.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return NOW;
            }
        };
        try (KeyMaterial m = cache.material(id, loader, opener, writeOnRead)) {
            assertNotNull(m); // the read overlapped the write: either answer is right for it
        }
        assertNull(cache.heldMaterialForTest(id), "no material kept for a key changed meanwhile");
        assertThrows(PolicyRefusedException.class, () -> read(id));
    }

    @Test
    void aClosedCacheKeepsNoMaterialForAReaderThatStillHoldsIt() {
        KeyId id = store("k", 1, KeyType.L3);
        cache.close();
        assertNotNull(read(id));
        assertNull(cache.heldMaterialForTest(id));
    }

    @Test
    void aReaderNeverGetsWipedBytesWhileEntriesAreInvalidated() throws Exception {
        KeyId id = store("k", 1, KeyType.L4);
        byte[] expected = read(id);
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService pool = Executors.newFixedThreadPool(5);
        try {
            List<Future<Integer>> readers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                readers.add(pool.submit(() -> {
                    int n = 0;
                    while (!stop.get()) {
                        assertArrayEquals(expected, read(id));
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
            for (Future<Integer> r : readers) {
                assertTrue(r.get(10, TimeUnit.SECONDS) > 0);
            }
        } finally {
            stop.set(true);
            pool.shutdownNow();
        }
    }

    @Test
    void settingsAreCheckedAndTheDefaultsKeepL2MaterialOff() {
        CacheSettings d = CacheSettings.defaults();
        assertTrue(!d.tier(KeyType.L2).materialCached());
        assertTrue(d.tier(KeyType.L3).materialCached() && d.tier(KeyType.L4).materialCached());
        assertThrows(org.openkcm.keystore.api.InvalidInputException.class,
                () -> new CacheSettings.Tier(Duration.ofSeconds(-1), 1, Duration.ofSeconds(1)));
        assertThrows(org.openkcm.keystore.api.InvalidInputException.class,
                () -> new CacheSettings(true, -1, d.tiers()));
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
