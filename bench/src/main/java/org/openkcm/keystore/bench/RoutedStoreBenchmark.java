package org.openkcm.keystore.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.core.operations.DefaultKeystoreOperations;
import org.openkcm.keystore.core.routing.LocationIndex;
import org.openkcm.keystore.core.routing.Registration;
import org.openkcm.keystore.core.routing.RoutingTable;
import org.openkcm.keystore.memory.MemoryKeystore;

/**
 * KeystoreOperations.generate (seal + store) on the memory backend: directly, through the router
 * with the location index in memory, and through the router with the durable index file (one
 * appended line per new key). Fresh backends and index at every iteration.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RoutedStoreBenchmark {
    private final AtomicLong names = new AtomicLong();
    private DefaultKeystoreOperations direct;
    private DefaultKeystoreOperations routed;
    private DefaultKeystoreOperations durable;
    private LocationIndex durableIndex;
    private Path dir;

    @Setup(Level.Iteration)
    public void fresh() throws IOException {
        List<KekProvider> keks = List.of(new BenchKeks());
        direct = DefaultKeystoreOperations.of(new MemoryKeystore(50_000_000), keks);
        routed = DefaultKeystoreOperations.of(router(LocationIndex.inMemory()), keks);
        dir = Files.createTempDirectory("routing-bench");
        durableIndex = LocationIndex.open(dir.resolve("locations.idx"));
        durable = DefaultKeystoreOperations.of(router(durableIndex), keks);
    }

    @TearDown(Level.Iteration)
    public void close() {
        durableIndex.close();
        try {
            Files.deleteIfExists(dir.resolve("locations.idx"));
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static RoutingTable router(LocationIndex index) {
        RoutingTable router = new RoutingTable(new RoutingTable.Settings("memory", Duration.ofSeconds(5), Duration.ofMinutes(1), 3),
                index, Runnable::run, new RoutingTable.Listener() {
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
        router.put(Registration.of(1, Map.of("keystore.name", "memory"), "bench", "1", new MemoryKeystore(50_000_000)));
        return router;
    }

    private KeySpec spec() {
        return KeySpec.builder().name("k" + names.incrementAndGet()).type(KeyType.L4).algorithm("AES").keySize(256)
                .owner(Owner.service("bench")).build();
    }

    @Benchmark
    public KeyMetadata generateDirect() {
        return direct.generate(spec());
    }

    @Benchmark
    public KeyMetadata generateRouted() {
        return routed.generate(spec());
    }

    @Benchmark
    public KeyMetadata generateRoutedDurableIndex() {
        return durable.generate(spec());
    }
}
