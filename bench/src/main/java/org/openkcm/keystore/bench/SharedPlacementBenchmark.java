package org.openkcm.keystore.bench;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.core.routing.LocationIndex;
import org.openkcm.keystore.core.routing.Registration;
import org.openkcm.keystore.core.routing.Route;
import org.openkcm.keystore.core.routing.RoutingTable;
import org.openkcm.keystore.memory.MemoryKeystore;

/**
 * Shared placement against the local index alone, in the same run ({@code placement}: {@code memory},
 * the default target keeps it; {@code none}, the baseline): two runtimes (routers, each its own
 * index) in front of the same four memory backends, keys routed to the one probed last.
 * <ul>
 * <li>{@code store}: a new key stored through the first runtime (with placement: one read of the
 * placement first, then the store, then its record);</li>
 * <li>{@code readUnknown}: a key the second runtime's index does not know (it is forgotten after each
 * read): with placement, one read of the placement and one of the key; without, every backend in
 * turn;</li>
 * <li>{@code readAbsent}: a key in no backend (1,000 names, read over and over): with placement, one
 * read of the placement while the absence is remembered (1 s); without, every backend.</li>
 * </ul>
 * Fresh backends for the stores at every iteration.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class SharedPlacementBenchmark {
    private static final int KEYS = 10_000;
    private static final int ABSENT = 1_000;
    private static final SealedKey SEALED = SealedKey.of(new byte[48]);

    @Param({"memory", "none"})
    public String placement;

    private final AtomicLong names = new AtomicLong();
    private RoutingTable writer;
    private RoutingTable reader;
    private KeyId[] stored;
    private KeyId[] absent;
    private RoutingTable storer;

    @Setup(Level.Trial)
    public void setUp() {
        MemoryKeystore[] backends = backends();
        writer = router(backends);
        reader = router(backends);
        stored = new KeyId[KEYS];
        for (int i = 0; i < KEYS; i++) {
            stored[i] = KeyId.of("k" + i, 1);
            writer.keystore().storeKey(stored[i], SEALED, metadata(stored[i]));
        }
        absent = new KeyId[ABSENT];
        for (int i = 0; i < ABSENT; i++) {
            absent[i] = KeyId.of("absent" + i, 1);
        }
    }

    @Setup(Level.Iteration)
    public void freshStores() {
        storer = router(backends());
    }

    private static MemoryKeystore[] backends() {
        return new MemoryKeystore[] {new MemoryKeystore(50_000_000), new MemoryKeystore(50_000_000),
                new MemoryKeystore(50_000_000), new MemoryKeystore(50_000_000)};
    }

    private RoutingTable router(MemoryKeystore[] backends) {
        RoutingTable router = new RoutingTable(new RoutingTable.Settings("memory", Duration.ofSeconds(5), Duration.ofMinutes(1), 3),
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
        String[] names = {"memory", "archive", "backup", "vault"};
        for (int i = 0; i < names.length; i++) {
            router.put(Registration.of(i + 1, Map.of("keystore.name", names[i]), "bench", "1", backends[i]));
        }
        router.putRoute("l2", Route.of("l2", new String[] {"L2"}, null, null, null, null, 0, "vault"), null);
        router.sharedPlacement(placement);
        if (!placement.equals(RoutingTable.PLACEMENT_OFF) && !placement.equals(router.sharedPlacementBackend())) {
            throw new IllegalStateException("placement is not kept in " + placement);
        }
        return router;
    }

    private static KeyMetadata metadata(KeyId id) {
        Instant now = Instant.now();
        return KeyMetadata.builder().id(id).type(KeyType.L2).algorithm("AES").keySize(256).owner(Owner.tenant("acme"))
                .created(now).updated(now).build();
    }

    @Benchmark
    public KeyId store() {
        KeyId id = KeyId.of("n" + names.incrementAndGet(), 1);
        storer.keystore().storeKey(id, SEALED, metadata(id));
        return id;
    }

    @Benchmark
    public StoredKey readUnknown() {
        KeyId id = stored[ThreadLocalRandom.current().nextInt(KEYS)];
        StoredKey found = reader.keystore().retrieveKey(id);
        reader.index().remove(id); // unknown again for the next read
        return found;
    }

    @Benchmark
    public Object readAbsent() {
        KeyId id = absent[ThreadLocalRandom.current().nextInt(ABSENT)];
        try {
            return reader.keystore().retrieveKey(id);
        } catch (KeyNotFoundException expected) {
            return expected;
        }
    }
}
