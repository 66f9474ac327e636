package org.openkcm.keystore.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.options;

import java.util.List;
import java.util.Map;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.openkcm.keystore.api.BackendStatus;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.RouteDescription;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;

/**
 * The routing policy from ConfigAdmin in a real Felix: tiers to backends, one tenant's keys to a
 * region's backend, live policy changes for new keys while stored keys stay readable where they
 * are, an ambiguous policy refused, and shadowing by service ranking.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class RoutingIT extends RoutingTestSupport {

    @Configuration
    public Option[] configuration() {
        return options(routingConfiguration());
    }

    @Test
    public void withNoRouteL4GoesToMemoryAndThePersistentTiersAreRefused() throws Exception {
        memoryBackend("memory", 0);
        KeystoreOperations ops = operations();
        Keystore memory = awaitKeystore("memory");
        KeyMetadata m = ops.generate(spec("k-L4", KeyType.L4, Owner.tenant("t"), null));
        assertEquals(m, memory.retrieveKey(m.id()).metadata());
        for (KeyType type : new KeyType[] {KeyType.L2, KeyType.L3}) {
            assertThrows(org.openkcm.keystore.api.UnavailableException.class,
                    () -> ops.generate(spec("k-" + type, type, Owner.tenant("t"), null)));
        }
    }

    @Test
    public void tiersAndATenantGoWhereThePolicySaysAndAPolicyChangeAppliesToNewKeysAtOnce() throws Exception {
        memoryBackend("memory", 0);
        memoryBackend("vault", 0, "L2", "L3");
        memoryBackend("fast", 0, "L4");
        memoryBackend("vault-eu", 0, "L2", "L3");
        KeystoreOperations ops = operations();
        KeystoreAdministration admin = administration();
        route("l2-l3-to-vault", Map.of("tiers", new String[] {"L2", "L3"}, "target", "vault", "priority", 10));
        route("l4-to-fast", Map.of("tiers", new String[] {"L4"}, "target", "fast"));
        // as a plain .cfg would give it: one comma-separated string
        route("acme-in-eu", Map.of("tiers", "L2,L3", "ownerKind", "TENANT", "ownerId", "acme",
                "region", "eu-central-1", "target", "vault-eu", "priority", 20));
        awaitRoute(admin, "l2-l3-to-vault", "vault");
        awaitRoute(admin, "l4-to-fast", "fast");
        awaitRoute(admin, "acme-in-eu", "vault-eu");

        KeyMetadata l2 = ops.generate(spec("zeta-l2", KeyType.L2, Owner.tenant("zeta"), "eu-central-1"));
        KeyMetadata l3 = ops.generate(spec("zeta-l3", KeyType.L3, Owner.tenant("zeta"), null));
        KeyMetadata l4 = ops.generate(spec("zeta-l4", KeyType.L4, Owner.tenant("zeta"), null));
        KeyMetadata acme = ops.generate(spec("acme-l2", KeyType.L2, Owner.tenant("acme"), "eu-central-1"));
        KeyMetadata acmeUs = ops.generate(spec("acme-us", KeyType.L2, Owner.tenant("acme"), "us-east-1"));
        assertStoredIn("vault", l2, l3, acmeUs);
        assertStoredIn("fast", l4);
        assertStoredIn("vault-eu", acme);

        // L4 now goes to memory: new keys at once, the old one is still read from fast
        route("l4-to-fast", Map.of("tiers", new String[] {"L4"}, "target", "memory"));
        awaitRoute(admin, "l4-to-fast", "memory");
        KeyMetadata l4b = ops.generate(spec("zeta-l4-b", KeyType.L4, Owner.tenant("zeta"), null));
        assertStoredIn("memory", l4b);
        assertStoredIn("fast", l4);
        for (KeyMetadata m : List.of(l2, l3, l4, acme, acmeUs, l4b)) {
            try (KeyMaterial material = ops.get(m.id())) {
                assertEquals(32, material.copyBytes().length);
            }
            assertEquals(m.id(), ops.metadata(m.id()).id());
        }
        // lifecycle changes follow the key to where it is stored
        KeyMetadata changed = ops.changeTags(l4.id(), Map.of("moved", "no"), l4.revision());
        assertEquals(changed, awaitKeystore("fast").retrieveKey(l4.id()).metadata());
        assertEquals(6, ops.list(null).keys().size());
        assertTrue(ops.delete(l4.id()));
        assertThrows(KeyNotFoundException.class, () -> awaitKeystore("fast").retrieveKey(l4.id()));
    }

    @Test
    public void anAmbiguousPolicyIsRefusedAndThePreviousStaysInForce() throws Exception {
        memoryBackend("memory", 0);
        memoryBackend("fast", 0);
        KeystoreOperations ops = operations();
        KeystoreAdministration admin = administration();
        route("l4-to-fast", Map.of("tiers", new String[] {"L4"}, "target", "fast"));
        awaitRoute(admin, "l4-to-fast", "fast");
        route("l4-clash", Map.of("tiers", new String[] {"L4"}, "target", "memory"));
        awaitCondition("the clash to be reported", () -> admin.routes().stream()
                .anyMatch(r -> r.name().equals("l4-clash") && r.error().isPresent()));
        RouteDescription clash = admin.routes().stream().filter(r -> r.name().equals("l4-clash")).findFirst().get();
        String error = clash.error().get();
        assertTrue(error, error.contains("ambiguous") && error.contains("l4-to-fast") && error.contains("l4-clash"));
        KeyMetadata m = ops.generate(spec("still-fast", KeyType.L4, Owner.tenant("t"), null));
        assertStoredIn("fast", m);
        // a bad value refuses the route, naming it, and changes nothing either
        route("bad", Map.of("tiers", new String[] {"L9"}, "target", "memory"));
        awaitCondition("the bad route to be reported", () -> admin.routes().stream()
                .anyMatch(r -> r.name().equals("bad") && r.error().map(e -> e.contains("L9")).orElse(false)));
        assertStoredIn("fast", ops.generate(spec("still-fast-2", KeyType.L4, Owner.tenant("t"), null)));
    }

    @Test
    public void theHigherRankingServesAndRemovingItPromotesTheLower() throws Exception {
        org.osgi.service.cm.Configuration high = configureMemoryKeystore("dup-high",
                Map.of("keystore.name", "memory", "service.ranking", 10));
        configureMemoryKeystore("dup-low", Map.of("keystore.name", "memory", "service.ranking", 1));
        KeystoreAdministration admin = administration();
        awaitCondition("two registrations of memory", () -> admin.backends().size() == 2);
        List<BackendStatus> backends = admin.backends();
        assertEquals(BackendStatus.State.ACTIVE, backends.get(0).state());
        assertEquals(10, backends.get(0).ranking());
        assertEquals(BackendStatus.State.SHADOWED, backends.get(1).state());
        assertEquals(1, backends.get(1).ranking());
        assertEquals(MEMORY_BSN, backends.get(0).bundleSymbolicName());
        assertNotNull(backends.get(0).properties().get("keystore.name"));

        KeystoreOperations ops = operations();
        KeyMetadata first = ops.generate(spec("first", KeyType.L4, Owner.tenant("t"), null));
        long highId = backends.get(0).serviceId();
        high.delete();
        awaitCondition("the lower ranking to serve", () -> admin.backends().size() == 1
                && admin.backends().get(0).state() == BackendStatus.State.ACTIVE
                && admin.backends().get(0).serviceId() != highId);
        KeyMetadata second = ops.generate(spec("second", KeyType.L4, Owner.tenant("t"), null));
        assertEquals(second, awaitKeystore("memory").retrieveKey(second.id()).metadata());
        // the key held by the removed backend went with it (an in-memory backend, by nature)
        assertThrows(KeyNotFoundException.class, () -> ops.metadata(first.id()));
    }

    private void assertStoredIn(String backend, KeyMetadata... keys) throws InterruptedException {
        Keystore ks = awaitKeystore(backend);
        for (KeyMetadata m : keys) {
            assertEquals(m.id() + " in " + backend, m, ks.retrieveKey(m.id()).metadata());
        }
    }

}
