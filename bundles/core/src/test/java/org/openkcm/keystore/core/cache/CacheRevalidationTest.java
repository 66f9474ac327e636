package org.openkcm.keystore.core.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.sdk.FaultyKeystore.Operation;

import com.github.benmanes.caffeine.cache.Scheduler;

/**
 * The revocation bound across the two layers: a change another runtime makes at the shared backend
 * (here: written to the backend directly, behind the cache) is honoured once a cached record is older
 * than the bound, and what the record cache learns then (the same record, a changed one, none) keeps or
 * wipes the opened material. The bound within the record cache alone is tested in
 * {@link RecordCacheTest}, the unconfirmed window within the material cache in {@link MaterialCacheTest}.
 */
class CacheRevalidationTest extends CacheFixture {
    KeyCache cache = new KeyCache(CacheSettings.defaults(), ticker, Scheduler.disabledScheduler());

    @AfterEach
    void close() {
        cache.close();
    }

    KeyId store(String name) {
        return store(name, 1, KeyType.L4);
    }

    byte[] read(KeyId id) {
        try (KeyMaterial m = cache.material(id, loader, opener, CLOCK)) {
            return m.copyBytes();
        }
    }

    @Test
    void theDefaultBoundIsOneSecond() {
        assertEquals(Duration.ofSeconds(1), CacheSettings.defaults().revalidateAfter());
        CacheConfig defaults = defaults();
        assertEquals(Duration.ofSeconds(1), CacheSettings.of(defaults).revalidateAfter());
    }

    @Test
    void materialOfAKeyRetiredElsewhereIsRefusedPastTheBoundAndWiped() {
        KeyId id = store("k");
        read(id);
        byte[] held = cache.heldMaterialForTest(id);
        statusElsewhere(id, KeyStatus.RETIRED);
        ticker.advance(BOUND.plusMillis(10));
        assertThrows(PolicyRefusedException.class, () -> read(id));
        assertTrue(zeros(held), "the opened bytes were overwritten");
        assertNull(cache.heldMaterialForTest(id));
        assertThrows(PolicyRefusedException.class, () -> cache.material(id, loader, opener, CLOCK));
    }

    @Test
    void metadataReadsWipeTheMaterialOfAChangedRecordToo() {
        KeyId id = store("k");
        read(id);
        byte[] held = cache.heldMaterialForTest(id);
        statusElsewhere(id, KeyStatus.RETIRED);
        ticker.advance(BOUND.plusMillis(10));
        assertEquals(KeyStatus.RETIRED, cache.record(id, loader).metadata().status());
        assertTrue(zeros(held));
    }

    @Test
    void anUnchangedRecordIsConfirmedAndKeepsItsOpenedMaterial() {
        KeyId id = store("k");
        read(id);
        for (int i = 0; i < 3; i++) {
            ticker.advance(BOUND.plusMillis(10));
            read(id);
        }
        assertEquals(4, backend.calls(Operation.RETRIEVE), "one read per bound");
        assertEquals(1, opens.get(), "never opened again");
        assertEquals(1, cache.statistics().of(CacheStatistics.Layer.RECORDS, KeyType.L4).size());
    }

    @Test
    void metadataReadsOfAnUnchangedRecordKeepItsOpenedMaterial() {
        KeyId id = store("k");
        read(id);
        byte[] held = cache.heldMaterialForTest(id);
        for (int i = 0; i < 3; i++) {
            ticker.advance(BOUND.plusMillis(10));
            cache.record(id, loader); // revalidates the record: the material learns of it through the record
            assertEquals(1, materialSize(cache), "past the window since the open, not since the confirmation");
        }
        assertTrue(held == cache.heldMaterialForTest(id) && !zeros(held));
        read(id);
        assertEquals(1, opens.get());
    }

    long materialSize(KeyCache c) {
        c.cleanUp(); // the scheduler is off in these tests: expiry is applied when the cache is cleaned
        return c.statistics().of(CacheStatistics.Layer.MATERIAL, KeyType.L4).size();
    }

    @Test
    void materialOfAKeyRetiredOnAnotherRuntimeIsWipedHereWithoutAnyRead() {
        // Two runtimes' caches on one shared backend: A retires the key, B never reads it again.
        KeyCache a = new KeyCache(CacheSettings.defaults(), ticker, Scheduler.disabledScheduler());
        try {
            KeyId id = store("k");
            KeyId other = store("other");
            read(id);
            read(other);
            byte[] held = cache.heldMaterialForTest(id);
            assertEquals(2, materialSize(cache));

            a.afterWrite(id, () -> {
                statusElsewhere(id, KeyStatus.RETIRED);
                return null;
            });
            Duration window = BOUND.multipliedBy(UnconfirmedMaterial.UNCONFIRMED_BOUNDS);
            ticker.advance(window.minusMillis(10));
            assertEquals(2, materialSize(cache), "within the window a read would still revalidate and keep it");
            ticker.advance(Duration.ofMillis(20));
            assertEquals(0, materialSize(cache), "unconfirmed past the window: gone without a read");
            assertTrue(zeros(held), "and its bytes overwritten");
            assertNull(cache.heldMaterialForTest(id));
            assertEquals(2, backend.calls(Operation.RETRIEVE), "B asked its backend nothing more: no read, no sweep");
            assertThrows(PolicyRefusedException.class, () -> read(id));
        } finally {
            a.close();
        }
    }

    @Test
    void aKeyReadOncePerBoundKeepsItsMaterialPastTheWindow() {
        KeyId id = store("k");
        read(id);
        byte[] held = cache.heldMaterialForTest(id);
        for (int i = 0; i < 5; i++) {
            ticker.advance(BOUND.plusMillis(10));
            read(id);
        }
        assertEquals(1, opens.get(), "each read past the bound confirmed the record and moved the deadline on");
        assertEquals(1, materialSize(cache));
        assertTrue(held == cache.heldMaterialForTest(id) && !zeros(held));
        ticker.advance(BOUND.multipliedBy(UnconfirmedMaterial.UNCONFIRMED_BOUNDS).plusMillis(10));
        assertEquals(0, materialSize(cache), "then unread for the window: wiped");
        assertTrue(zeros(held));
    }

    @Test
    void withoutARecordCacheEveryReadConfirmsTheMaterial() {
        cache.close();
        cache = new KeyCache(CacheSettings.defaults().with(KeyType.L4, new CacheSettings.Tier(Duration.ZERO, 100,
                Duration.ofSeconds(CacheSettings.DEFAULT_MATERIAL_TTL_SECONDS))), ticker, Scheduler.disabledScheduler());
        KeyId id = store("k");
        read(id);
        for (int i = 0; i < 4; i++) {
            ticker.advance(BOUND.plusMillis(500));
            read(id);
            assertEquals(1, materialSize(cache));
        }
        assertEquals(5, backend.calls(Operation.RETRIEVE), "each read asked the backend");
        assertEquals(1, opens.get(), "and so kept the material");
    }

    @Test
    void aKeyDeletedElsewhereIsNotFoundPastTheBoundAndLeavesBothLayers() {
        KeyId id = store("k");
        read(id);
        byte[] held = cache.heldMaterialForTest(id);
        backend.delegate().deleteKey(id);
        ticker.advance(BOUND.plusMillis(10));
        assertThrows(KeyNotFoundException.class, () -> read(id));
        assertTrue(zeros(held));
        assertEquals(0, cache.statistics().of(CacheStatistics.Layer.RECORDS, KeyType.L4).size());
    }

    @Test
    void aBackendThatCannotBeAskedPastTheBoundFailsTheReadRatherThanServeStale() {
        KeyId id = store("k");
        read(id);
        ticker.advance(BOUND.plusMillis(10));
        backend.failBefore(Operation.RETRIEVE, 1, () -> new UnavailableException("injected: down"));
        assertThrows(UnavailableException.class, () -> read(id));
        assertEquals(32, read(id).length, "served again once the backend answers");
        assertEquals(1, opens.get());
    }

    @Test
    void aBoundOutOfRangeIsRefusedByName() {
        for (Duration bad : new Duration[] {Duration.ofMillis(-1), Duration.ofDays(8)}) {
            InvalidInputException e = assertThrows(InvalidInputException.class,
                    () -> CacheSettings.defaults().revalidatingAfter(bad));
            assertTrue(e.getMessage().contains("cache.records.revalidate.millis"), e.getMessage());
        }
    }

    /** The configuration with every attribute at its default, as ConfigAdmin would give it. */
    static CacheConfig defaults() {
        return (CacheConfig) java.lang.reflect.Proxy.newProxyInstance(CacheConfig.class.getClassLoader(),
                new Class<?>[] {CacheConfig.class}, (proxy, method, args) -> {
                    if (method.getName().equals("annotationType")) {
                        return CacheConfig.class;
                    }
                    return method.getDefaultValue();
                });
    }
}
