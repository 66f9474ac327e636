package org.openkcm.keystore.core.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.api.CacheStatistics.Layer;
import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.sdk.FaultyKeystore.Operation;
import org.openkcm.keystore.sdk.SampleKeys;

import com.github.benmanes.caffeine.cache.Scheduler;

/**
 * The two layers composed: what {@link KeyCache} adds to {@link RecordCache} and {@link MaterialCache}
 * (the lifecycle rules on the metadata read now, writes, invalidations reaching both layers, a write
 * racing an open, a record that does not open, the statistics of both). Each layer's own behaviour is
 * tested in {@link RecordCacheTest} and {@link MaterialCacheTest}; the revocation bound across the
 * layers in {@link CacheRevalidationTest}.
 */
class KeyCacheTest extends CacheFixture {
    KeyCache cache = cache(CacheSettings.defaults());

    KeyCache cache(CacheSettings settings) {
        return new KeyCache(settings, ticker, Scheduler.disabledScheduler());
    }

    @AfterEach
    void close() {
        cache.close();
    }

    byte[] read(KeyId id) {
        try (KeyMaterial m = cache.material(id, loader, opener, CLOCK)) {
            return m.copyBytes();
        }
    }

    // --------------------------------------------------------------- writes and invalidation

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
    void invalidatingAKeyForgetsItInBothLayers() {
        KeyId id = store("k", 1, KeyType.L4);
        read(id);
        byte[] held = cache.heldMaterialForTest(id);
        cache.invalidate(id);
        assertTrue(zeros(held), "its material is wiped");
        long before = backend.calls(Operation.RETRIEVE);
        read(id);
        assertEquals(1, backend.calls(Operation.RETRIEVE) - before, "and its record read again");
    }

    @Test
    void invalidatingANameOrABackendReachesBothLayers() {
        KeyId a = store("a", 1, KeyType.L4);
        KeyId b = store("b", 1, KeyType.L4);
        read(a);
        read(b);
        byte[] heldA = cache.heldMaterialForTest(a);
        byte[] heldB = cache.heldMaterialForTest(b);
        cache.invalidateName("a");
        assertTrue(zeros(heldA));
        assertFalse(zeros(heldB));
        cache.invalidateBackend("memory");
        assertTrue(zeros(heldB));
        long before = backend.calls(Operation.RETRIEVE);
        read(a);
        read(b);
        assertEquals(2, backend.calls(Operation.RETRIEVE) - before, "both records read again");
        assertEquals(4, opens.get(), "each opened again");
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
    void closingTheCacheWipesEveryOpenedKeyAndKeepsNoneAfter() {
        KeyId id = store("k", 1, KeyType.L3);
        read(id);
        byte[] held = cache.heldMaterialForTest(id);
        cache.close();
        assertTrue(zeros(held));
        assertNotNull(read(id), "a caller that still holds the closed cache is served");
        assertNull(cache.heldMaterialForTest(id), "and nothing is kept for it");
    }

    @Test
    void aDisabledCacheReadsTheBackendAndOpensTheRecordEveryTime() {
        cache = cache(CacheSettings.disabled());
        assertFalse(cache.enabled());
        KeyId id = store("k", 1, KeyType.L4);
        read(id);
        read(id);
        assertEquals(2, backend.calls(Operation.RETRIEVE));
        assertEquals(2, opens.get());
    }

    // --------------------------------------------------------------- the lifecycle rules

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
    void aRefusedKeyIsNotOpened() {
        KeyId id = store("k", 1, KeyType.L2); // no material cache: every read would open
        retire(id);
        assertThrows(PolicyRefusedException.class, () -> read(id));
        assertEquals(0, opens.get());
    }

    // --------------------------------------------------------------- across the layers

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
    void withoutARecordCacheForTheTierOpenedMaterialIsKept() {
        CacheSettings.Tier l4 = CacheSettings.defaults().tier(KeyType.L4);
        cache = cache(CacheSettings.defaults().with(KeyType.L4, new CacheSettings.Tier(Duration.ZERO,
                l4.materialMaxEntries(), l4.materialTtl())));
        KeyId id = store("k", 1, KeyType.L4);
        read(id);
        read(id);
        assertEquals(2, backend.calls(Operation.RETRIEVE), "no record is held ...");
        assertEquals(1, opens.get(), "... and the material opened from the record read is kept all the same");
    }

    @Test
    void aRecordThatDoesNotOpenIsReadAnewOnTheNextRead() {
        KeyId id = store("k", 1, KeyType.L4);
        cache.record(id, loader);
        AtomicInteger attempts = new AtomicInteger();
        KeyCache.Opener failing = stored -> {
            attempts.incrementAndGet();
            throw new IntegrityException(id, "injected: the record does not open");
        };
        assertThrows(IntegrityException.class, () -> cache.material(id, loader, failing, CLOCK));
        assertEquals(1, attempts.get());
        long before = backend.calls(Operation.RETRIEVE);
        read(id);
        assertEquals(1, backend.calls(Operation.RETRIEVE) - before, "the record that failed left the record cache");
    }

    @Test
    void theStatisticsHoldBothLayersEveryTierAndTheFailedLoads() {
        KeyId id = store("k", 1, KeyType.L4);
        read(id);
        read(id);
        backend.down("maintenance");
        assertThrows(UnavailableException.class, () -> read(KeyId.of("absent", 1)));
        CacheSnapshot s = cache.statistics();
        assertTrue(s.enabled());
        assertEquals(2 * KeyType.values().length, s.tiers().size());
        assertEquals(Layer.RECORDS, s.tiers().get(0).layer(), "records first");
        CacheStatistics records = s.of(Layer.RECORDS, KeyType.L4);
        assertEquals(1, records.hits());
        assertEquals(1, records.loads());
        CacheStatistics material = s.of(Layer.MATERIAL, KeyType.L4);
        assertEquals(1, material.hits());
        assertEquals(1, material.loads());
        assertEquals(1, material.size());
        assertEquals(1, s.failedLoads());
    }

    @Test
    void settingsAreCheckedAndTheDefaultsKeepL2MaterialOff() {
        CacheSettings d = CacheSettings.defaults();
        assertTrue(!d.tier(KeyType.L2).materialCached());
        assertTrue(d.tier(KeyType.L3).materialCached() && d.tier(KeyType.L4).materialCached());
        assertThrows(InvalidInputException.class, () -> new CacheSettings.Tier(Duration.ofSeconds(-1), 1,
                Duration.ofSeconds(1)));
        assertThrows(InvalidInputException.class, () -> new CacheSettings(true, -1, d.tiers()));
    }
}
