package org.openkcm.keystore.itest;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.options;

import java.util.Map;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.openkcm.keystore.api.BackendStatus;
import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.KeystoreException;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.api.Owner;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;

/**
 * The cache invalidation hooks that run only in a framework: a backend that leaves (its
 * configuration deleted) and a routing policy change empty what the key caches hold of them. Core's
 * cache component is active wherever the core resolves (Caffeine is a required import): a second read is a hit; after
 * the hook, a read goes to the router again and answers by its rules instead of serving the cached
 * record. Each assertion after a hook fails if the hook does not invalidate.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class CacheInvalidationIT extends RoutingTestSupport {

    @Configuration
    public Option[] configuration() {
        return options(routingConfiguration());
    }

    @Test
    public void aKeyReadTwiceIsServedFromTheCacheAndNotAfterItsBackendLeft() throws Exception {
        router(Map.of("hotswap.wait", 100L, "hotswap.window", 1_000L));
        memoryBackend("memory", 0);
        org.osgi.service.cm.Configuration leaving = configureMemoryKeystore("leaving",
                Map.of("keystore.name", "leaving", "keystore.tiers", new String[] {"L2", "L3", "L4"}));
        awaitKeystoreReference("leaving");
        KeystoreOperations ops = operations();
        KeystoreAdministration admin = administration();
        route("acme-to-leaving", Map.of("ownerKind", "TENANT", "ownerId", "acme", "target", "leaving"));
        awaitRoute(admin, "acme-to-leaving", "leaving");
        KeyMetadata key = ops.generate(spec("cached", KeyType.L3, Owner.tenant("acme"), null));
        assertEquals(key, awaitKeystore("leaving").retrieveKey(key.id()).metadata());

        byte[] first = read(ops, key);
        long hits = hits(admin);
        assertArrayEquals(first, read(ops, key));
        assertTrue("the second read is served from the cache", hits(admin) > hits);
        assertTrue("the cache holds the key", size(admin) > 0);

        long invalidations = invalidations(admin);
        leaving.delete(); // the backend holding the key leaves
        awaitNoKeystore("leaving");
        // Felix takes a registration out of the registry before it tells the listeners: wait until the
        // router's tracker has seen it go, and give its listener a moment to run (without the hook it
        // never does, and the assertions below fail)
        awaitCondition("the router to see the backend leave", () -> state(admin, "leaving") != BackendStatus.State.ACTIVE);
        settle(() -> invalidations(admin) > invalidations);
        long hitsBefore = hits(admin);
        KeystoreException refused = assertThrows("the stale cached record is not served", KeystoreException.class,
                () -> read(ops, key));
        assertNotNull(refused.getMessage());
        assertEquals("no hit: the key's entries were forgotten when its backend left", hitsBefore, hits(admin));
    }

    @Test
    public void afterARouteChangeNewKeysGoToTheNewTargetAndTheOldPlacementIsNotServedFromTheCache()
            throws Exception {
        memoryBackend("memory", 0);
        memoryBackend("old", 0);
        memoryBackend("new", 0);
        KeystoreOperations ops = operations();
        KeystoreAdministration admin = administration();
        route("acme", Map.of("ownerKind", "TENANT", "ownerId", "acme", "target", "old"));
        awaitRoute(admin, "acme", "old");
        KeyMetadata before = ops.generate(spec("before", KeyType.L3, Owner.tenant("acme"), null));
        Keystore old = awaitKeystore("old");
        assertEquals(before, old.retrieveKey(before.id()).metadata());
        read(ops, before);
        long hits = hits(admin);
        read(ops, before);
        assertTrue("the second read is served from the cache", hits(admin) > hits);

        long invalidations = invalidations(admin);
        route("acme", Map.of("ownerKind", "TENANT", "ownerId", "acme", "target", "new"));
        awaitRoute(admin, "acme", "new");
        // the listener runs right after the route is put in force: give it a moment (without the hook it
        // never does, and the assertions below fail)
        settle(() -> invalidations(admin) > invalidations);
        KeyMetadata after = ops.generate(spec("after", KeyType.L3, Owner.tenant("acme"), null));
        assertEquals("a new key goes to the new target", after, awaitKeystore("new").retrieveKey(after.id()).metadata());
        assertThrows(KeyNotFoundException.class, () -> old.retrieveKey(after.id()));
        assertEquals(32, read(ops, after).length);

        // the old placement no longer holds the key (removed there by hand, out of the keystore's
        // sight): a read after the policy change goes to the backend and says so, never the cached copy
        assertTrue(old.deleteKey(before.id()));
        long hitsBefore = hits(admin);
        assertThrows("the cached record of the old placement is not served", KeyNotFoundException.class,
                () -> read(ops, before));
        assertEquals("no hit: the policy change emptied the cache", hitsBefore, hits(admin));
    }

    private static byte[] read(KeystoreOperations ops, KeyMetadata key) {
        try (KeyMaterial m = ops.get(key.id())) {
            return m.copyBytes();
        }
    }

    private static long hits(KeystoreAdministration admin) {
        long hits = 0;
        for (CacheStatistics s : admin.cacheStatistics()) {
            hits += s.hits();
        }
        return hits;
    }

    /** Waits up to 2 s for the condition, and goes on either way: the assertions after it decide. */
    private static void settle(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(2);
        while (!condition.getAsBoolean() && System.nanoTime() - deadline < 0) {
            Thread.sleep(20);
        }
    }

    private static long invalidations(KeystoreAdministration admin) {
        long n = 0;
        for (CacheStatistics s : admin.cacheStatistics()) {
            n += s.invalidations();
        }
        return n;
    }

    private static long size(KeystoreAdministration admin) {
        long size = 0;
        for (CacheStatistics s : admin.cacheStatistics()) {
            size += s.size();
        }
        return size;
    }
}
