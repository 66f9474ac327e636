package org.openkcm.keystore.core.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.BackendStatus;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openkcm.keystore.sdk.SampleKeys;

class RoutingTableTest {
    static final RoutingTable.Listener QUIET = new RoutingTable.Listener() {
        @Override
        public void namesChanged(java.util.Set<String> names) {
        }

        @Override
        public void healthChanged(String name, boolean up, String reason) {
        }

        @Override
        public void policyRefused(String error) {
        }
    };

    static RoutingTable router(Duration wait) {
        return new RoutingTable(new RoutingTable.Settings("memory", wait, Duration.ofMinutes(1), 2), LocationIndex.inMemory(),
                Runnable::run, QUIET);
    }

    static Registration reg(long id, String name, int ranking, Keystore ks) {
        return Registration.of(id, Map.of("keystore.name", name, "service.ranking", ranking, "keystore.tiers", "L2,L3,L4",
                "token", "s3cret"), "bsn", "1.0.0", ks);
    }

    static KeyMetadata key(String name, KeyType type, Owner owner) {
        return SampleKeys.minimal(KeyId.of(name, 1)).type(type).owner(owner).build();
    }

    @Test
    void theHigherRankingServesAndRemovingItPromotesTheLower() {
        RoutingTable r = router(Duration.ZERO);
        MemoryKeystore low = new MemoryKeystore();
        MemoryKeystore high = new MemoryKeystore();
        r.put(reg(1, "memory", 0, low));
        r.put(reg(2, "memory", 10, high));
        assertSame(high, r.backend("memory", null));
        List<BackendStatus> statuses = r.statuses();
        assertEquals(BackendStatus.State.ACTIVE, statuses.get(0).state());
        assertEquals(2, statuses.get(0).serviceId());
        assertEquals(BackendStatus.State.SHADOWED, statuses.get(1).state());
        assertTrue(!statuses.get(0).properties().containsKey("token"), "no secret-named property is shown");
        r.remove(2);
        assertSame(low, r.backend("memory", null));
    }

    @Test
    void aRequestInTheGapWaitsForTheNameToComeBack() throws Exception {
        RoutingTable r = router(Duration.ofSeconds(5));
        MemoryKeystore ks = new MemoryKeystore();
        r.put(reg(1, "memory", 0, ks));
        r.remove(1);
        CompletableFuture<Keystore> waiting = CompletableFuture.supplyAsync(() -> r.backend("memory", null));
        Thread.sleep(50);
        assertTrue(!waiting.isDone(), "waits while the name is absent");
        MemoryKeystore back = new MemoryKeystore();
        r.put(reg(2, "memory", 0, back));
        assertSame(back, waiting.get(1, TimeUnit.SECONDS));
    }

    @Test
    void aListingNamesTheBackendsItCouldNotRead() {
        RoutingTable r = router(Duration.ZERO);
        MemoryKeystore memory = new MemoryKeystore();
        MemoryKeystore other = new MemoryKeystore();
        r.put(reg(1, "memory", 0, memory));
        r.put(reg(2, "other", 0, other));
        memory.storeKey(KeyId.of("m", 1), SampleKeys.sealed(1), SampleKeys.minimal(KeyId.of("m", 1)).build());
        other.storeKey(KeyId.of("o", 1), SampleKeys.sealed(2), SampleKeys.minimal(KeyId.of("o", 1)).build());
        assertEquals(2, r.keystore().listKeys(org.openkcm.keystore.api.KeyFilter.all()).keys().size());
        assertTrue(r.keystore().listKeys(org.openkcm.keystore.api.KeyFilter.all()).unreadable().isEmpty());

        r.probed(2, null, "connection refused", Duration.ZERO);
        r.probed(2, null, "connection refused", Duration.ZERO); // two failures: DOWN
        org.openkcm.keystore.api.KeyPage page = r.keystore().listKeys(org.openkcm.keystore.api.KeyFilter.all());
        assertEquals(List.of(KeyId.of("m", 1)), page.keys().stream().map(KeyMetadata::id).toList());
        assertEquals(List.of("other: down (connection refused)"), page.unreadable());

        r.probed(1, null, "disk gone", Duration.ZERO);
        r.probed(1, null, "disk gone", Duration.ZERO);
        UnavailableException none = assertThrows(UnavailableException.class,
                () -> r.keystore().listKeys(org.openkcm.keystore.api.KeyFilter.all()));
        assertTrue(none.getMessage().contains("no backend can be read: memory: down (disk gone); other: down"),
                none.getMessage());
    }

    @Test
    void aNameNeverSeenOrDownIsUnavailableAtOnce() {
        RoutingTable r = new RoutingTable(new RoutingTable.Settings("memory", Duration.ZERO, Duration.ofMinutes(1), 2),
                LocationIndex.inMemory(), Runnable::run, QUIET);
        long t0 = System.nanoTime();
        UnavailableException absent = assertThrows(UnavailableException.class, () -> r.backend("nowhere", null));
        assertTrue(absent.getMessage().contains("nowhere"), absent.getMessage());
        r.put(reg(1, "memory", 0, new MemoryKeystore()));
        r.probed(1, KeystoreHealth.down(Duration.ZERO, "disk on fire"), null, Duration.ZERO);
        r.backend("memory", null); // one failure: still up
        r.probed(1, null, "timed out", Duration.ZERO);
        UnavailableException down = assertThrows(UnavailableException.class, () -> r.backend("memory", null));
        assertTrue(down.getMessage().contains("backend memory is down: timed out"), down.getMessage());
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(1));
        r.probed(1, KeystoreHealth.up(Duration.ZERO), null, Duration.ZERO);
        r.backend("memory", null);
        assertEquals("timed out", r.statuses().get(0).lastReason().orElseThrow(), "the last reason is kept");
    }

    @Test
    void aRefusedPolicyLeavesThePreviousInForce() {
        RoutingTable r = router(Duration.ZERO);
        r.putRoute("l4", Route.of("l4", new String[] {"L4"}, null, null, null, null, 0, "fast"), null);
        KeyMetadata l4 = key("a", KeyType.L4, Owner.tenant("t"));
        assertEquals("fast", r.routeFor(l4).target());
        r.putRoute("other", Route.of("other", new String[] {"L4"}, null, null, null, null, 0, "slow"), null);
        assertEquals("fast", r.routeFor(l4).target());
        assertTrue(r.policyError().contains("l4") && r.policyError().contains("other"), r.policyError());
        r.removeRoute("other");
        assertEquals(null, r.policyError());
    }

    @Test
    void readsFollowTheLocationAfterThePolicyChanges(@TempDir Path dir) {
        LocationIndex index = LocationIndex.open(dir.resolve("locations.idx"));
        RoutingTable r = new RoutingTable(new RoutingTable.Settings("memory", Duration.ZERO, Duration.ofMinutes(1), 2), index,
                Runnable::run, QUIET);
        MemoryKeystore memory = new MemoryKeystore();
        MemoryKeystore vault = new MemoryKeystore();
        r.put(reg(1, "memory", 0, memory));
        r.put(reg(2, "vault", 0, vault));
        KeyMetadata m = key("a", KeyType.L2, Owner.tenant("t"));
        r.keystore().storeKey(m.id(), SampleKeys.sealed(1), m);
        r.putRoute("to-vault", Route.of("to-vault", new String[0], null, null, null, null, 0, "vault"), null);
        KeyMetadata n = key("b", KeyType.L2, Owner.tenant("t"));
        r.keystore().storeKey(n.id(), SampleKeys.sealed(2), n);
        assertEquals(m, memory.retrieveKey(m.id()).metadata());
        assertEquals(n, vault.retrieveKey(n.id()).metadata());
        assertEquals(m, r.keystore().retrieveKey(m.id()).metadata());
        assertEquals(2, r.keystore().listKeys(org.openkcm.keystore.api.KeyFilter.all()).keys().size());
        index.close();
        // durable: a new index over the same file knows both
        LocationIndex again = LocationIndex.open(dir.resolve("locations.idx"));
        assertEquals("memory", again.get(m.id()));
        assertEquals("vault", again.get(n.id()));
        // an index miss is found by probing, and recorded
        RoutingTable fresh = new RoutingTable(new RoutingTable.Settings("memory", Duration.ZERO, Duration.ofMinutes(1), 2),
                LocationIndex.inMemory(), Runnable::run, QUIET);
        fresh.put(reg(1, "memory", 0, memory));
        fresh.put(reg(2, "vault", 0, vault));
        assertEquals(n, fresh.keystore().retrieveKey(n.id()).metadata());
        assertEquals("vault", fresh.index().get(n.id()));
        assertTrue(fresh.keystore().deleteKey(n.id()));
        assertEquals(null, fresh.index().get(n.id()));
    }

    @Test
    void aCallCutShortByASwapIsMadeAgainOnTheNewServiceButAnUnavailableBackendIsNot() {
        RoutingTable r = router(Duration.ofSeconds(5));
        MemoryKeystore storage = new MemoryKeystore();
        KeyMetadata m = key("a", KeyType.L4, Owner.tenant("t"));
        storage.storeKey(m.id(), SampleKeys.sealed(1), m);
        r.index().put(m.id(), "memory");
        Keystore old = (Keystore) java.lang.reflect.Proxy.newProxyInstance(Keystore.class.getClassLoader(),
                new Class<?>[] {Keystore.class}, (proxy, method, args) -> {
                    if (method.getName().equals("retrieveKey")) {
                        r.remove(1); // the bundle is updated while the call runs
                        r.put(reg(2, "memory", 0, storage));
                        throw new UnavailableException("closed");
                    }
                    return method.invoke(storage, args);
                });
        r.put(reg(1, "memory", 0, old));
        assertEquals(m, r.keystore().retrieveKey(m.id()).metadata());

        org.openkcm.keystore.sdk.FaultyKeystore flaky = new org.openkcm.keystore.sdk.FaultyKeystore(storage);
        r.put(reg(3, "memory", 5, flaky));
        flaky.failBefore(org.openkcm.keystore.sdk.FaultyKeystore.Operation.RETRIEVE, 1,
                () -> new UnavailableException("flaky"));
        assertThrows(UnavailableException.class, () -> r.keystore().retrieveKey(m.id()));
    }

    @Test
    void aServiceThatCannotBeGotYetIsUnavailableAndWaitedFor() throws Exception {
        RoutingTable r = router(Duration.ofSeconds(5));
        r.put(reg(1, "memory", 0, null)); // SCR answered null: the component is (re)activating
        assertEquals(BackendStatus.State.UNAVAILABLE, r.statuses().get(0).state());
        CompletableFuture<Keystore> waiting = CompletableFuture.supplyAsync(() -> r.backend("memory", null));
        MemoryKeystore ks = new MemoryKeystore();
        Thread.sleep(20);
        r.put(reg(1, "memory", 0, ks)); // got it on a retry
        assertSame(ks, waiting.get(2, TimeUnit.SECONDS));
        assertEquals(BackendStatus.State.ACTIVE, r.statuses().get(0).state());
    }
}
