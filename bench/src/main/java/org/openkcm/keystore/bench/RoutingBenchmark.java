package org.openkcm.keystore.bench;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.core.operations.DefaultKeystoreOperations;
import org.openkcm.keystore.core.routing.LocationIndex;
import org.openkcm.keystore.core.routing.Registration;
import org.openkcm.keystore.core.routing.Route;
import org.openkcm.keystore.core.routing.RoutingTable;
import org.openkcm.keystore.memory.MemoryKeystore;

/**
 * The cost of routing: a read through the router (location index lookup, snapshot lookup of the
 * tracked backend, then the call) against the same read made directly on the memory backend; the
 * routing decision for a new key alone (policy match + backend lookup); and a whole
 * {@code KeystoreOperations.get} (index + envelope open) routed and direct. The router holds four
 * routes and three backends, as a small real policy would; 10,000 keys are stored.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RoutingBenchmark {
    private static final int KEYS = 10_000;

    private MemoryKeystore memory;
    private RoutingTable router;
    private Keystore routed;
    private KeyId[] ids;
    private KeyMetadata newKey;
    private DefaultKeystoreOperations directOps;
    private DefaultKeystoreOperations routedOps;

    @Setup
    public void setUp() {
        memory = new MemoryKeystore(1_000_000);
        router = new RoutingTable(new RoutingTable.Settings("memory", Duration.ofSeconds(5), Duration.ofMinutes(1), 3),
                LocationIndex.inMemory(), Runnable::run, new RoutingTable.Listener() {
                    @Override
                    public void namesChanged(Set<String> names) {
                    }

                    @Override
                    public void healthChanged(String name, boolean up, String reason) {
                    }

                    @Override
                    public void policyRefused(String error) {
                    }
                });
        router.put(Registration.of(1, Map.of("keystore.name", "memory"), "bench", "1", memory));
        router.put(Registration.of(2, Map.of("keystore.name", "vault"), "bench", "1", new MemoryKeystore()));
        router.put(Registration.of(3, Map.of("keystore.name", "fast"), "bench", "1", new MemoryKeystore()));
        router.putRoute("l2-l3", Route.of("l2-l3", new String[] {"L2", "L3"}, null, null, null, null, 10, "vault"), null);
        router.putRoute("acme", Route.of("acme", new String[] {"L2"}, "TENANT", "acme", null, "eu", 20, "vault"), null);
        router.putRoute("svc", Route.of("svc", new String[0], "SERVICE", null, "pay", null, 0, "fast"), null);
        router.putRoute("l4", Route.of("l4", new String[] {"L4"}, null, null, null, null, 0, "memory"), null);
        routed = router.keystore();
        List<KekProvider> keks = List.of(new BenchKeks());
        directOps = DefaultKeystoreOperations.of(memory, keks);
        routedOps = DefaultKeystoreOperations.of(router, keks);
        ids = new KeyId[KEYS];
        for (int i = 0; i < KEYS; i++) {
            // stored through the router, so the memory backend and the index both hold every key
            ids[i] = routedOps.generate(KeySpec.builder().name("k" + i).type(KeyType.L4).algorithm("AES").keySize(256)
                    .owner(Owner.tenant("t" + (i % 100))).build()).id();
        }
        newKey = memory.retrieveKey(ids[0]).metadata();
    }

    private KeyId next() {
        return ids[ThreadLocalRandom.current().nextInt(KEYS)];
    }

    @Benchmark
    public StoredKey retrieveDirect() {
        return memory.retrieveKey(next());
    }

    @Benchmark
    public StoredKey retrieveRouted() {
        return routed.retrieveKey(next());
    }

    @Benchmark
    public Keystore routeDecision() {
        return router.backend(router.routeFor(newKey).target(), null);
    }

    @Benchmark
    public int getDirect() {
        try (KeyMaterial m = directOps.get(next())) {
            return m.length();
        }
    }

    @Benchmark
    public int getRouted() {
        try (KeyMaterial m = routedOps.get(next())) {
            return m.length();
        }
    }
}
