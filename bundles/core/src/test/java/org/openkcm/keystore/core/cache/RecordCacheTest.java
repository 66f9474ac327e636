package org.openkcm.keystore.core.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.api.CacheStatistics.Layer;
import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.sdk.FaultyKeystore.Operation;

/** The record cache alone, over a fault-injecting memory backend: sealed records, never opened. */
class RecordCacheTest extends CacheFixture {
    /** The keys the cache told its listener of (records a revalidation found changed or gone). */
    final List<KeyId> superseded = new java.util.concurrent.CopyOnWriteArrayList<>();
    RecordCache cache = cache(CacheSettings.defaults());

    RecordCache cache(CacheSettings settings) {
        return new RecordCache(settings, ticker, superseded::add);
    }

    @AfterEach
    void close() {
        cache.close();
    }

    StoredKey read(KeyId id) {
        return cache.record(id, loader).stored();
    }

    CacheStatistics stats(KeyType tier) {
        for (CacheStatistics s : cache.statistics()) {
            if (s.layer() == Layer.RECORDS && s.tier() == tier) {
                return s;
            }
        }
        throw new AssertionError("no record statistics for " + tier);
    }

    /** A write as KeyCache.afterWrite makes it: the key is invalidated whether the write succeeded or not. */
    void written(KeyId id, Runnable write) {
        try {
            write.run();
        } finally {
            cache.invalidate(id);
        }
    }

    // --------------------------------------------------------------- reads

    @Test
    void aRecordIsReadFromTheBackendOnceThenServedFromTheCache() {
        KeyId id = store("k", 1, KeyType.L4);
        StoredKey first = read(id);
        for (int i = 0; i < 5; i++) {
            assertEquals(first, read(id));
        }
        assertEquals(1, backend.calls(Operation.RETRIEVE));
        CacheStatistics s = stats(KeyType.L4);
        assertEquals(5, s.hits());
        assertEquals(1, s.misses());
        assertEquals(1, s.loads());
        assertEquals(1, s.size());
    }

    @Test
    void l2RecordsAreCachedByDefault() {
        KeyId id = store("tenant", 1, KeyType.L2);
        read(id);
        read(id);
        assertEquals(1, backend.calls(Operation.RETRIEVE), "the sealed record of an L2 key is cached");
    }

    @Test
    void concurrentMissesOnOneKeyMakeOneBackendRead() throws Exception {
        KeyId id = store("hot", 1, KeyType.L4);
        backend.delay(Operation.RETRIEVE, Duration.ofMillis(200));
        int threads = 16;
        CyclicBarrier start = new CyclicBarrier(threads);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<CachedRecord>> results = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                results.add(pool.submit(() -> {
                    start.await();
                    return cache.record(id, loader);
                }));
            }
            CachedRecord first = results.get(0).get(10, TimeUnit.SECONDS);
            for (Future<CachedRecord> r : results) {
                assertSame(first, r.get(10, TimeUnit.SECONDS), "every waiter gets the one record read");
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, backend.calls(Operation.RETRIEVE), "16 concurrent misses, one backend read");
    }

    @Test
    void aBackendThatIsDownDoesNotPoisonTheCache() {
        KeyId id = store("k", 1, KeyType.L4);
        backend.down("maintenance");
        assertThrows(UnavailableException.class, () -> read(id));
        assertThrows(UnavailableException.class, () -> read(id));
        assertEquals(2, cache.failedLoads());
        backend.reset();
        assertEquals(id, read(id).metadata().id());
        long before = backend.calls(Operation.RETRIEVE);
        read(id);
        assertEquals(before, backend.calls(Operation.RETRIEVE), "cached once the backend is back");
    }

    @Test
    void anAbsentKeyIsNotRememberedAsAbsent() {
        KeyId id = KeyId.of("later", 1);
        assertThrows(KeyNotFoundException.class, () -> read(id));
        store("later", 1, KeyType.L4);
        assertEquals(id, read(id).metadata().id());
    }

    @Test
    void aRecordOfAnotherIdIsRefusedAndNotCached() {
        KeyId id = store("k", 1, KeyType.L4);
        KeyId other = store("other", 1, KeyType.L4);
        Function<KeyId, CachedRecord> swapped = key -> new CachedRecord("memory", backend.retrieveKey(other));
        assertThrows(IntegrityException.class, () -> cache.record(id, swapped));
        assertEquals(id, read(id).metadata().id());
    }

    @Test
    void aTierWhoseRecordTtlIsZeroIsNotCached() {
        CacheSettings.Tier l4 = CacheSettings.defaults().tier(KeyType.L4);
        cache.close();
        cache = cache(CacheSettings.defaults().with(KeyType.L4, new CacheSettings.Tier(Duration.ZERO,
                l4.materialMaxEntries(), l4.materialTtl())));
        KeyId id = store("k", 1, KeyType.L4);
        CachedRecord first = cache.record(id, loader);
        read(id);
        assertEquals(2, backend.calls(Operation.RETRIEVE));
        assertFalse(cache.holds(id, first), "nothing is held for the tier");
    }

    @Test
    void aRecordExpiresAfterItsTierTimeToLive() {
        cache.close();
        cache = cache(CacheSettings.defaults().revalidatingAfter(Duration.ZERO)); // the time to live alone
        KeyId id = store("k", 1, KeyType.L3);
        read(id);
        ticker.advance(Duration.ofSeconds(CacheSettings.DEFAULT_RECORDS_TTL_SECONDS - 1));
        read(id);
        assertEquals(1, backend.calls(Operation.RETRIEVE));
        ticker.advance(Duration.ofSeconds(2));
        read(id);
        assertEquals(2, backend.calls(Operation.RETRIEVE));
        assertEquals(1, stats(KeyType.L3).evictions());
    }

    @Test
    void aDisabledCacheReadsTheBackendEveryTime() {
        cache.close();
        cache = cache(CacheSettings.disabled());
        KeyId id = store("k", 1, KeyType.L4);
        read(id);
        read(id);
        assertEquals(2, backend.calls(Operation.RETRIEVE));
        assertFalse(cache.enabled());
    }

    @Test
    void holdsIsTrueForTheVeryRecordItServesOnly() {
        KeyId id = store("k", 1, KeyType.L4);
        CachedRecord served = cache.record(id, loader);
        assertTrue(cache.holds(id, served));
        assertFalse(cache.holds(id, new CachedRecord(served.backend(), served.stored())), "an equal one is not it");
        long hits = stats(KeyType.L4).hits();
        cache.holds(id, served);
        assertEquals(hits, stats(KeyType.L4).hits(), "asking is not a read");
        cache.invalidate(id);
        assertFalse(cache.holds(id, served), "invalidated");
        CachedRecord again = cache.record(id, loader);
        assertNotSame(served, again);
        assertFalse(cache.holds(id, served));
        assertTrue(cache.holds(id, again));
    }

    @Test
    void aRecordReadIsConfirmedAtTheTimeOfTheRead() {
        KeyId id = store("k", 1, KeyType.L4);
        ticker.advance(Duration.ofSeconds(5));
        long readAt = ticker.read();
        CachedRecord r = cache.record(id, loader);
        assertEquals(readAt, r.confirmedAt());
        ticker.advance(BOUND.minusMillis(10));
        cache.record(id, loader);
        assertEquals(readAt, r.confirmedAt(), "a hit within the bound confirms nothing");
    }

    // --------------------------------------------------------------- invalidation

    @Test
    void invalidatingAKeyMakesTheNextReadSeeTheBackend() {
        KeyId id = store("k", 1, KeyType.L3);
        read(id);
        retire(id);
        assertEquals(KeyStatus.ACTIVE, read(id).metadata().status(), "cached until invalidated");
        cache.invalidate(id);
        assertEquals(KeyStatus.RETIRED, read(id).metadata().status());
        assertEquals(2, backend.calls(Operation.RETRIEVE) - 1 /* the retire's own read */);
        assertTrue(superseded.isEmpty(), "the listener hears of revalidations only, not of invalidations");
    }

    @Test
    void invalidatingANameForgetsEveryVersionAndNothingElse() {
        KeyId a1 = store("a", 1, KeyType.L4);
        KeyId a2 = store("a", 2, KeyType.L4);
        KeyId b1 = store("b", 1, KeyType.L4);
        List.of(a1, a2, b1).forEach(this::read);
        cache.invalidateName("a");
        long before = backend.calls(Operation.RETRIEVE);
        List.of(a1, a2, b1).forEach(this::read);
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
    void invalidatingEverythingForgetsEveryRecord() {
        KeyId a = store("a", 1, KeyType.L4);
        KeyId b = store("b", 1, KeyType.L2);
        read(a);
        read(b);
        cache.invalidateAll();
        long before = backend.calls(Operation.RETRIEVE);
        read(a);
        read(b);
        assertEquals(2, backend.calls(Operation.RETRIEVE) - before);
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
            Future<CachedRecord> reader = pool.submit(() -> cache.record(id, slow));
            assertTrue(read.await(5, TimeUnit.SECONDS));
            Future<?> writer = pool.submit(() -> written(id, () -> retire(id)));
            Thread.sleep(50); // the writer is now blocked in invalidate, behind the load
            release.countDown();
            assertEquals(KeyStatus.ACTIVE, reader.get(5, TimeUnit.SECONDS).stored().metadata().status());
            writer.get(5, TimeUnit.SECONDS);
            assertEquals(KeyStatus.RETIRED, read(id).metadata().status(), "no stale read after the write returned");
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
            Future<CachedRecord> reader = pool.submit(() -> cache.record(id, slow));
            assertTrue(read.await(5, TimeUnit.SECONDS));
            retire(id);
            cache.invalidateBackend("memory"); // does not wait for the load: the entry is not in the map yet
            release.countDown();
            reader.get(5, TimeUnit.SECONDS);
            assertEquals(KeyStatus.RETIRED, read(id).metadata().status());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void anEntryOlderThanTheRememberedBroadInvalidationsIsReadAgain() {
        KeyId id = store("k", 1, KeyType.L4);
        read(id);
        for (int i = 0; i < RecordCache.BROAD_HISTORY + 1; i++) {
            cache.invalidateBackend("other"); // none matches the key, but the oldest is forgotten
        }
        read(id);
        assertEquals(2, backend.calls(Operation.RETRIEVE), "the forgotten invalidations are assumed to match");
        read(id);
        assertEquals(2, backend.calls(Operation.RETRIEVE));
    }

    @Test
    void closingForgetsEveryRecord() {
        KeyId id = store("k", 1, KeyType.L4);
        CachedRecord r = cache.record(id, loader);
        cache.close();
        assertFalse(cache.holds(id, r));
        assertEquals(0, stats(KeyType.L4).size());
    }

    // --------------------------------------------------------------- the revocation bound

    @Test
    void withinTheBoundTheCacheServesAfterItTheBackendIsAskedAndAChangeMadeElsewhereIsSeen() {
        KeyId id = store("k", 1, KeyType.L4);
        read(id);
        statusElsewhere(id, KeyStatus.DEPRECATED);
        ticker.advance(BOUND.minusMillis(10));
        assertEquals(KeyStatus.ACTIVE, read(id).metadata().status(), "within the bound: the cache");
        assertEquals(1, backend.calls(Operation.RETRIEVE));
        ticker.advance(Duration.ofMillis(20));
        assertEquals(KeyStatus.DEPRECATED, read(id).metadata().status(), "past it: the backend's");
        assertEquals(2, backend.calls(Operation.RETRIEVE));
        read(id);
        assertEquals(2, backend.calls(Operation.RETRIEVE), "confirmed again: served from the cache for another bound");
        assertEquals(List.of(id), superseded, "the listener is told the record changed");
    }

    @Test
    void anUnchangedRecordIsKeptAndConfirmedOnTheSameInstance() {
        KeyId id = store("k", 1, KeyType.L4);
        CachedRecord first = cache.record(id, loader);
        for (int i = 0; i < 3; i++) {
            ticker.advance(BOUND.plusMillis(10));
            long at = ticker.read();
            assertSame(first, cache.record(id, loader), "the same record, kept");
            assertEquals(at, first.confirmedAt(), "and confirmed at the revalidation");
        }
        assertEquals(4, backend.calls(Operation.RETRIEVE), "one read per bound");
        assertEquals(1, stats(KeyType.L4).size());
        assertTrue(superseded.isEmpty(), "nothing changed");
    }

    @Test
    void aKeyDeletedElsewhereIsNotFoundPastTheBoundAndLeavesTheCache() {
        KeyId id = store("k", 1, KeyType.L4);
        CachedRecord r = cache.record(id, loader);
        backend.delegate().deleteKey(id);
        ticker.advance(BOUND.plusMillis(10));
        assertThrows(KeyNotFoundException.class, () -> read(id));
        assertEquals(0, stats(KeyType.L4).size());
        assertFalse(cache.holds(id, r));
        assertEquals(List.of(id), superseded, "the listener is told the key is gone");
    }

    @Test
    void aBackendThatCannotBeAskedPastTheBoundFailsTheReadRatherThanServeStale() {
        KeyId id = store("k", 1, KeyType.L4);
        CachedRecord r = cache.record(id, loader);
        ticker.advance(BOUND.plusMillis(10));
        backend.failBefore(Operation.RETRIEVE, 1, () -> new UnavailableException("injected: down"));
        assertThrows(UnavailableException.class, () -> read(id));
        assertEquals(1, cache.failedLoads());
        assertTrue(cache.holds(id, r), "kept, unconfirmed, for the next reader to try");
        assertTrue(superseded.isEmpty(), "not known to have changed");
        assertSame(r, cache.record(id, loader), "served again once the backend answers");
    }

    @Test
    void concurrentReadersPastTheBoundMakeOneBackendRead() throws Exception {
        KeyId id = store("k", 1, KeyType.L4);
        read(id);
        ticker.advance(BOUND.plusMillis(10));
        backend.delay(Operation.RETRIEVE, Duration.ofMillis(200));
        int readers = 8;
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(readers);
        try {
            List<Future<StoredKey>> results = new ArrayList<>();
            for (int i = 0; i < readers; i++) {
                results.add(pool.submit(() -> {
                    start.await();
                    return read(id);
                }));
            }
            start.countDown();
            for (Future<StoredKey> f : results) {
                assertEquals(id, f.get().metadata().id());
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(2, backend.calls(Operation.RETRIEVE));
    }

    @Test
    void aBoundOfZeroServesTheRecordForItsWholeTimeToLive() {
        cache.close();
        cache = cache(CacheSettings.defaults().revalidatingAfter(Duration.ZERO));
        KeyId id = store("k", 1, KeyType.L4);
        read(id);
        statusElsewhere(id, KeyStatus.RETIRED);
        ticker.advance(Duration.ofSeconds(CacheSettings.DEFAULT_RECORDS_TTL_SECONDS - 1));
        assertEquals(KeyStatus.ACTIVE, read(id).metadata().status());
        assertEquals(1, backend.calls(Operation.RETRIEVE));
    }
}
