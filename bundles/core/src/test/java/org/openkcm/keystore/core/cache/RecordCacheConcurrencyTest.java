package org.openkcm.keystore.core.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.ConflictException;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore.Operation;
import org.openkcm.keystore.sdk.SampleKeys;

/**
 * Many threads updating (compare-and-set) and reading the same few keys through the record cache, with
 * broad invalidations mixed in and a backend slow enough that loads overlap writes: no read may
 * return a revision older than one whose write had returned before the read began (no stale read
 * after a write returns), and no acknowledged update may be lost. A write invalidates the key when it
 * returns or fails, as {@link KeyCache#afterWrite} does.
 */
class RecordCacheConcurrencyTest {

    @Test
    void noStaleReadAfterAWriteReturnsAndNoLostUpdate() throws Exception {
        FaultyKeystore backend = new FaultyKeystore(new MemoryKeystore());
        backend.delay(Operation.RETRIEVE, Duration.ofMillis(1));
        int keys = 4;
        List<KeyId> ids = new ArrayList<>();
        for (int i = 0; i < keys; i++) {
            KeyId id = KeyId.of("hot" + i, 1);
            backend.storeKey(id, SampleKeys.sealed(i), SampleKeys.minimal(id).type(KeyType.L4).build());
            ids.add(id);
        }
        CoarseTicker ticker = new CoarseTicker(CoarseTicker.RESOLUTION); // as KeyCache runs it
        RecordCache cache = new RecordCache(CacheSettings.defaults(), ticker, id -> { });
        Function<KeyId, CachedRecord> loader = id -> new CachedRecord("memory", backend.retrieveKey(id));
        AtomicLongArray acknowledged = new AtomicLongArray(keys); // highest revision whose write returned
        LongAdder updates = new LongAdder();
        LongAdder reads = new LongAdder();
        List<String> violations = java.util.Collections.synchronizedList(new ArrayList<>());
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService pool = Executors.newFixedThreadPool(12);
        List<Future<?>> running = new ArrayList<>();
        try {
            for (int w = 0; w < 4; w++) {
                running.add(pool.submit(() -> {
                    int n = 0;
                    while (!stop.get()) {
                        int k = n++ % keys;
                        KeyId id = ids.get(k);
                        KeyMetadata current = backend.delegate().retrieveKey(id).metadata();
                        KeyMetadata next = current.toBuilder().revision(current.revision() + 1)
                                .tags(java.util.Map.of("n", Long.toString(current.revision() + 1))).build();
                        try {
                            backend.updateKeyMetadata(id, next);
                        } catch (ConflictException lostRace) {
                            continue; // another writer won this revision
                        } finally {
                            cache.invalidate(id);
                        }
                        updates.increment();
                        acknowledged.accumulateAndGet(k, next.revision(), Math::max);
                    }
                }));
            }
            for (int r = 0; r < 7; r++) {
                running.add(pool.submit(() -> {
                    int n = 0;
                    while (!stop.get()) {
                        int k = n++ % keys;
                        long floor = acknowledged.get(k);
                        long seen = cache.record(ids.get(k), loader).stored().metadata().revision();
                        reads.increment();
                        if (seen < floor) {
                            violations.add(ids.get(k) + ": read revision " + seen + " after revision " + floor
                                    + " was acknowledged");
                        }
                    }
                }));
            }
            running.add(pool.submit(() -> {
                while (!stop.get()) {
                    cache.invalidateBackend("other"); // matches nothing: exercises the broad-invalidation check
                    cache.invalidateName("hot0");
                    try {
                        Thread.sleep(2);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }));
            Thread.sleep(1_500);
            stop.set(true);
            for (Future<?> f : running) {
                f.get(30, TimeUnit.SECONDS);
            }
        } finally {
            stop.set(true);
            pool.shutdownNow();
            cache.close();
            ticker.close();
        }
        assertTrue(violations.isEmpty(), violations.size() + " stale reads, e.g. " + violations.subList(0,
                Math.min(5, violations.size())));
        long stored = 0;
        for (int k = 0; k < keys; k++) {
            long revision = backend.delegate().retrieveKey(ids.get(k)).metadata().revision();
            assertEquals(acknowledged.get(k), revision, "the last acknowledged update of " + ids.get(k) + " stands");
            stored += revision - 1;
        }
        assertEquals(updates.sum(), stored, "every acknowledged update is one revision: none lost");
        assertTrue(reads.sum() > 100 && updates.sum() > 100, reads.sum() + " reads, " + updates.sum() + " updates");
    }
}
