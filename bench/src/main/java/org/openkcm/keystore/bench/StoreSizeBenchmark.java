package org.openkcm.keystore.bench;

import java.time.Instant;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.core.envelope.Envelope;
import org.openkcm.keystore.core.operations.DefaultKeystoreOperations;
import org.openkcm.keystore.memory.MemoryKeystore;

/**
 * KeystoreOperations.get of a random key on the memory backend holding 1,000 or 1,000,000 keys
 * (average time per get): the cost of a read should not grow with the number of keys stored. The
 * keys are sealed through the operations' envelope and stored on the backend directly, which is
 * what generate does, minus its per-key bookkeeping (so that filling a million keys takes seconds).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class StoreSizeBenchmark {
    @Param({"1000", "1000000"})
    public int keys;

    private DefaultKeystoreOperations ops;
    private KeyId[] ids;

    @Setup(Level.Trial)
    public void fill() {
        MemoryKeystore backend = new MemoryKeystore(2_000_000);
        ops = DefaultKeystoreOperations.of(backend, List.<KekProvider>of(new BenchKeks()));
        ids = new KeyId[keys];
        Envelope envelope = ops.envelope();
        byte[] material = new byte[32];
        Instant now = Instant.now();
        for (int i = 0; i < keys; i++) {
            KeyId id = KeyId.of("k" + i, 1);
            ThreadLocalRandom.current().nextBytes(material);
            KeyMetadata m = KeyMetadata.builder().id(id).type(KeyType.L4).algorithm("AES").keySize(256)
                    .owner(Owner.service("bench")).status(KeyStatus.ACTIVE).createdAt(now).revision(1).build();
            SealedKey sealed = envelope.seal(m, material);
            backend.storeKey(id, sealed, envelope.withLifecycleMac(m));
            ids[i] = id;
        }
        java.util.Arrays.fill(material, (byte) 0);
    }

    @Benchmark
    public int getRandomKey() {
        try (KeyMaterial m = ops.get(ids[ThreadLocalRandom.current().nextInt(keys)])) {
            return m.length();
        }
    }
}
