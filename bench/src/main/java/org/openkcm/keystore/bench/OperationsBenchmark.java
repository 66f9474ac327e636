package org.openkcm.keystore.bench;

import java.util.List;
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
import org.openjdk.jmh.annotations.Threads;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.core.operations.DefaultKeystoreOperations;
import org.openkcm.keystore.memory.MemoryKeystore;

/**
 * generate + get of a fresh AES-256 key through KeystoreOperations on the memory backend, on 1 and
 * 2 threads (ops/s: one op is one generate and one get). The backend is new at every iteration, so
 * it holds only the keys of that iteration.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class OperationsBenchmark {
    private final AtomicLong names = new AtomicLong();
    private volatile DefaultKeystoreOperations ops;

    @Setup(Level.Iteration)
    public void freshBackend() {
        ops = DefaultKeystoreOperations.of(new MemoryKeystore(50_000_000), List.<KekProvider>of(new BenchKeks()));
    }

    private int generateAndGet() {
        KeySpec spec = KeySpec.builder().name("k" + names.incrementAndGet()).type(KeyType.L4).algorithm("AES")
                .keySize(256).owner(Owner.service("bench")).build();
        KeyMetadata created = ops.generate(spec);
        try (KeyMaterial material = ops.get(created.id())) {
            return material.length();
        }
    }

    @Benchmark
    @Threads(1)
    public int generateAndGet1Thread() {
        return generateAndGet();
    }

    @Benchmark
    @Threads(2)
    public int generateAndGet2Threads() {
        return generateAndGet();
    }
}
