package org.openkcm.keystore.core.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreProperties;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openkcm.keystore.sdk.SampleKeys;

/** Fail closed: a persistent tier is refused rather than served by a volatile backend by accident. */
class FailClosedRoutingTest {

    private static RoutingTable router() {
        // a long hot-swap wait: every refusal below must come at once, not after waiting
        return new RoutingTable(new RoutingTable.Settings("memory", Duration.ofSeconds(30), Duration.ofMinutes(1), 2),
                LocationIndex.inMemory(), Runnable::run, RoutingTableTest.QUIET);
    }

    private static Registration backend(long id, String name, boolean persistent, Keystore ks) {
        Map<String, Object> props = new HashMap<>(Map.of(KeystoreProperties.NAME, name,
                KeystoreProperties.TIERS, "L2,L3,L4"));
        if (!persistent) {
            props.put(KeystoreProperties.PERSISTENT, Boolean.FALSE);
        }
        return Registration.of(id, props, "bsn", "1.0.0", ks);
    }

    private static Route route(String name, String tiers, String target) {
        return Route.of(name, tiers.isEmpty() ? new String[0] : tiers.split(","), null, null, null, null, 0, target);
    }

    private static KeyMetadata key(String name, KeyType type) {
        return RoutingTableTest.key(name, type, Owner.tenant("acme"));
    }

    private static void store(RoutingTable r, KeyMetadata m) {
        r.keystore().storeKey(m.id(), SampleKeys.sealed(1), m);
    }

    private static int held(Keystore ks) {
        return ks.listKeys(KeyFilter.all()).keys().size();
    }

    @Test
    void aVolatileDefaultTargetTakesNoL2OrL3KeysButTakesL4() {
        RoutingTable r = router();
        MemoryKeystore memory = new MemoryKeystore();
        r.put(backend(1, "memory", false, memory));

        for (KeyType tier : EnumSet.of(KeyType.L2, KeyType.L3)) {
            UnavailableException e = assertThrows(UnavailableException.class, () -> store(r, key("k-" + tier, tier)));
            assertTrue(e.getMessage().contains("backend memory for " + tier + " is not available"), e.getMessage());
            assertTrue(e.getMessage().contains("volatile (keystore.persistent=false)"), e.getMessage());
        }
        assertEquals(0, held(memory), "nothing stored in the volatile backend");

        store(r, key("k-l4", KeyType.L4));
        assertEquals(1, held(memory));
    }

    @Test
    void aRouteThatNamesTheVolatileBackendForATierLetsItTakeThatTier() {
        RoutingTable r = router();
        MemoryKeystore memory = new MemoryKeystore();
        r.put(backend(1, "memory", false, memory));
        // names memory for L2 only, and only for one owner: the operator accepts volatile L2 keys
        r.putRoute("l2-lab", Route.of("l2-lab", new String[] {"L2"}, null, "lab", null, null, 0, "memory"), null);

        store(r, key("k2", KeyType.L2));
        assertEquals(1, held(memory));
        assertThrows(UnavailableException.class, () -> store(r, key("k3", KeyType.L3)), "L3 is still refused");
        assertEquals(1, held(memory));
    }

    @Test
    void aPersistentDefaultTargetTakesEveryTier() {
        RoutingTable r = router();
        MemoryKeystore stand = new MemoryKeystore(); // registered without keystore.persistent: persistent
        r.put(backend(1, "memory", true, stand));
        store(r, key("k2", KeyType.L2));
        store(r, key("k3", KeyType.L3));
        assertEquals(2, held(stand));
    }

    @Test
    void aRouteToABackendWhoseConfigurationFailedIsRefusedAtOnceWithTheCause() {
        RoutingTable r = router();
        MemoryKeystore memory = new MemoryKeystore();
        r.put(backend(1, "memory", true, memory)); // even a persistent default never takes them
        r.putRoute("l2-l3", route("l2-l3", "L2,L3", "openbao"), null);
        r.failedBackends(Map.of("openbao", "token.source: environment variable BAO_TOKEN is not set"));

        UnavailableException e = assertThrows(UnavailableException.class, () -> store(r, key("k2", KeyType.L2)));
        assertEquals("backend openbao for L2 is not available: its configuration failed: "
                + "token.source: environment variable BAO_TOKEN is not set", e.getMessage().replaceFirst("^unavailable \\(key [^)]*\\): ", ""));
        assertEquals(0, held(memory), "nothing fell through to the default target");

        r.failedBackends(Map.of());
        MemoryKeystore bao = new MemoryKeystore();
        r.put(backend(2, "openbao", true, bao));
        store(r, key("k2", KeyType.L2));
        assertEquals(1, held(bao), "served once the configuration is fixed");
    }

    @Test
    void aFailedBackendWhoseServiceIsRegisteredButNotReadyIsRefusedAtOnce() {
        RoutingTable r = router();
        r.put(backend(1, "memory", true, new MemoryKeystore()));
        r.putRoute("l3", route("l3", "L3", "vault"), null);
        r.put(backend(2, "vault", true, null)); // SCR: registered, service object not available
        r.failedBackends(Map.of("vault", "maxEntries: must be at least 1"));
        UnavailableException e = assertThrows(UnavailableException.class, () -> store(r, key("k3", KeyType.L3)));
        assertTrue(e.getMessage().contains("backend vault for L3 is not available: its configuration failed: "
                + "maxEntries: must be at least 1"), e.getMessage());
    }

    @Test
    void aRouteMissingItsBackendIsRefusedAndNeverFallsToTheDefault() {
        RoutingTable r = new RoutingTable(new RoutingTable.Settings("memory", Duration.ZERO, Duration.ZERO, 2),
                LocationIndex.inMemory(), Runnable::run, RoutingTableTest.QUIET);
        MemoryKeystore memory = new MemoryKeystore();
        r.put(backend(1, "memory", true, memory));
        r.putRoute("l2", route("l2", "L2", "openbao"), null);
        UnavailableException e = assertThrows(UnavailableException.class, () -> store(r, key("k2", KeyType.L2)));
        assertTrue(e.getMessage().contains("backend openbao for L2 is not available: no backend of that name is "
                + "registered"), e.getMessage());
        assertEquals(0, held(memory));
    }

    @Test
    void aRouteRefusedAtItsFirstConfigurationBlocksItsTiersFromTheDefault() {
        RoutingTable r = router();
        MemoryKeystore memory = new MemoryKeystore();
        r.put(backend(1, "memory", true, memory));
        r.putRoute("l2-bao", null, "route l2-bao: ownerKind: TEAM is not one of TENANT, SERVICE, NODE",
                EnumSet.of(KeyType.L2));

        UnavailableException e = assertThrows(UnavailableException.class, () -> store(r, key("k2", KeyType.L2)));
        assertTrue(e.getMessage().contains("route l2-bao is refused (route l2-bao: ownerKind: TEAM"), e.getMessage());
        assertTrue(e.getMessage().contains("rather than sent to the default target memory"), e.getMessage());
        assertEquals(0, held(memory));

        store(r, key("k4", KeyType.L4)); // a tier the refused route did not name still goes to the default
        assertEquals(1, held(memory));

        r.putRoute("l2-bao", route("l2-bao", "L2", "memory"), null); // fixed
        store(r, key("k2", KeyType.L2));
        assertEquals(2, held(memory));
    }

    @Test
    void aRouteChangedToAnInvalidValueKeepsItsPreviousVersionInForce() {
        RoutingTable r = router();
        MemoryKeystore memory = new MemoryKeystore();
        MemoryKeystore vault = new MemoryKeystore();
        r.put(backend(1, "memory", true, memory));
        r.put(backend(2, "vault", true, vault));
        r.putRoute("l2", route("l2", "L2", "vault"), null);
        r.putRoute("l2", null, "route l2: tiers: L9 is not one of L2, L3, L4", EnumSet.allOf(KeyType.class));

        KeyMetadata k = key("k2", KeyType.L2);
        assertEquals("vault", r.routeFor(k).target());
        store(r, k);
        assertEquals(1, held(vault));
        assertEquals(0, held(memory));
    }

    @Test
    void anAmbiguousPolicyBlocksTheDefaultForEveryTier() {
        RoutingTable r = router();
        MemoryKeystore memory = new MemoryKeystore();
        r.put(backend(1, "memory", true, memory));
        r.putRoute("a", route("a", "L4", "x"), null);
        r.putRoute("b", route("b", "L4", "y"), null); // same specificity and priority, other target
        assertThrows(UnavailableException.class, () -> store(r, key("k2", KeyType.L2)));
        assertEquals(0, held(memory));
    }

    @Test
    void aRefusedRouteNamesTheTiersItCouldRead() {
        assertEquals(EnumSet.of(KeyType.L2, KeyType.L3), RouteComponent.tiersNamed(new String[] {"l2", "L3", "L9"}));
        assertEquals(EnumSet.allOf(KeyType.class), RouteComponent.tiersNamed(new String[] {"bogus"}));
        assertEquals(EnumSet.allOf(KeyType.class), RouteComponent.tiersNamed(new String[0]));
    }

    @Test
    void theCauseOfAFailedActivationIsUnwrapped() {
        String failure = "java.lang.reflect.InvocationTargetException\n"
                + "\tat java.base/jdk.internal.reflect.NativeConstructorAccessorImpl.newInstance0(Native Method)\n"
                + "\tat org.apache.felix.scr.impl.inject.internal.ComponentConstructorImpl.newInstance(X.java:1)\n"
                + "Caused by: java.lang.IllegalArgumentException: token.source: environment variable BAO_TOKEN is "
                + "not set\n\tat org.openkcm.keystore.openbao.OpenBaoSettings.from(OpenBaoSettings.java:1)\n";
        assertEquals("token.source: environment variable BAO_TOKEN is not set", BackendTracker.failureReason(failure));
        assertEquals("maxEntries: must be at least 1",
                BackendTracker.failureReason("org.openkcm.keystore.api.InvalidInputException: maxEntries: must be at least 1"));
        assertEquals("the component failed to activate", BackendTracker.failureReason(null));
    }

    @Test
    void explicitRoutesToAVolatileBackendAreServed() {
        RoutingTable r = router();
        MemoryKeystore memory = new MemoryKeystore();
        r.put(backend(1, "memory", false, memory));
        r.putRoute("all", route("all", "L2,L3,L4", "memory"), null);
        store(r, key("k2", KeyType.L2));
        assertSame(memory, r.backend("memory", null));
        assertEquals(1, held(memory));
    }
}
