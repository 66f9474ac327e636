package org.openkcm.keystore.core.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.core.routing.LocationIndex;
import org.openkcm.keystore.core.routing.Registration;
import org.openkcm.keystore.core.routing.RoutingTable;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore;
import org.openkcm.keystore.sdk.SampleKeys;

import com.github.benmanes.caffeine.cache.Scheduler;

/**
 * A hot swap seen by the key cache, with a real {@link RoutingTable}: the framework thread that takes
 * a backend away (the tracker's removedService, inside {@code Bundle.stop()} or {@code update()})
 * first takes it out of the router, then invalidates what the cache read from it; the backend comes
 * back only after that thread returns. A record load under way for a key of that backend waits in
 * the router for the name to come back, inside the cache's per-key computation. The invalidation
 * must not wait for such a load: the load can only finish once the backend is back, which it cannot
 * be before the invalidation returns (HotSwapIT: requests stalled for the whole hot-swap wait and
 * failed with "did not come back within 5000 ms").
 */
class HotSwapInvalidationTest {
    static final Duration SWAP_WAIT = Duration.ofSeconds(5);
    static final RoutingTable.Listener QUIET = new RoutingTable.Listener() {
        @Override
        public void namesChanged(Set<String> names) {
        }

        @Override
        public void healthChanged(String name, boolean up, String reason) {
        }

        @Override
        public void policyRefused(String error) {
        }
    };

    final RoutingTable router = new RoutingTable(new RoutingTable.Settings("swap", SWAP_WAIT, Duration.ofMinutes(1), 3),
            LocationIndex.inMemory(), Runnable::run, QUIET);
    final MemoryKeystore storage = new MemoryKeystore(); // outlives the backend's bundle, as a persistent backend's does
    final KeyCacheTest.FakeTicker ticker = new KeyCacheTest.FakeTicker();
    final KeyCache cache = new KeyCache(CacheSettings.defaults(), ticker, Scheduler.disabledScheduler());
    /** What the operations layer's loader does: read through the router, name the backend from the index. */
    final Function<KeyId, CachedRecord> loader = id -> {
        StoredKey stored = router.keystore().retrieveKey(id);
        return new CachedRecord(router.index().get(id), stored);
    };
    final ExecutorService reader = Executors.newSingleThreadExecutor();

    @AfterEach
    void close() {
        reader.shutdownNow();
        cache.close();
        router.close();
    }

    static Registration swap(long serviceId, Keystore service) {
        return Registration.of(serviceId, Map.of("keystore.name", "swap", "keystore.tiers", "L2,L3,L4"),
                "org.openkcm.keystore.itest.swap", "1.0." + serviceId, service);
    }

    KeyId storeThroughTheRouter(String name) {
        KeyId id = KeyId.of(name, 1);
        KeyMetadata metadata = SampleKeys.minimal(id).type(KeyType.L2).build();
        router.keystore().storeKey(id, SampleKeys.sealed(64, name.hashCode()), metadata);
        assertEquals("swap", router.index().get(id));
        return id;
    }

    /** A loader that says when it runs: the reader then holds the key's place in the cache. */
    Function<KeyId, CachedRecord> signalling(CountDownLatch loading) {
        return id -> {
            loading.countDown();
            return loader.apply(id);
        };
    }

    @Test
    void theInvalidationOfABackendThatLeftDoesNotWaitForARevalidationWaitingForItToComeBack() throws Exception {
        router.put(swap(1, new FaultyKeystore(storage))); // a service of its own over the storage, as SwapBackend's
        KeyId id = storeThroughTheRouter("k1");
        cache.record(id, loader); // cached, read from swap
        ticker.advance(Duration.ofMillis(CacheSettings.DEFAULT_REVALIDATE_MILLIS + 1)); // the next read confirms it

        // stop: the framework thread's removedService takes the backend out of the router ...
        router.remove(1);
        CountDownLatch loading = new CountDownLatch(1);
        Future<StoredKey> read = reader.submit(() -> cache.record(id, signalling(loading)));
        assertTrue(loading.await(5, TimeUnit.SECONDS));
        // ... the reader now waits in the router for swap, inside the cache's computation of k1;
        // the same framework thread invalidates what was read from swap, returns, and start brings it back
        cache.invalidateBackend("swap");
        router.put(swap(2, new FaultyKeystore(storage)));

        assertEquals(id, read.get(10, TimeUnit.SECONDS).metadata().id(),
                "the read waited for the backend to come back and then answered, within the hot-swap wait");
    }

    @Test
    void aRecordReadFromTheBackendThatLeftIsNotServedAfterTheInvalidation() {
        router.put(swap(1, new FaultyKeystore(storage)));
        KeyId id = storeThroughTheRouter("k3");
        cache.record(id, loader);
        cache.record(id, loader); // a hit

        // the backend is replaced by one that does not hold the key (a volatile backend restarted)
        router.remove(1);
        cache.invalidateBackend("swap");
        router.put(swap(2, new FaultyKeystore(new MemoryKeystore())));

        assertThrows(KeyNotFoundException.class, () -> cache.record(id, loader),
                "the record read from the service that left is not served: the new one is asked");
    }
}
