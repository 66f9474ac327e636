package org.openkcm.keystore.bench;

import java.time.Clock;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

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
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.core.cache.CacheSettings;
import org.openkcm.keystore.core.cache.CachedRecord;
import org.openkcm.keystore.core.cache.KeyCache;
import org.openkcm.keystore.core.operations.DefaultKeystoreOperations;
import org.openkcm.keystore.memory.MemoryKeystore;

/**
 * The key caches on a hit, against the floor the issue sets (a {@code ConcurrentHashMap.get}) and
 * against an uncached read through KeystoreOperations on the memory backend (average time per
 * read). The material-cache hit is the whole read: record layer, lifecycle check on the metadata,
 * material layer, and a wiped-on-close copy for the caller. The {@code …NoRevalidation} variants
 * run the same hits on a cache without the revocation bound ({@code records.revalidate.millis = 0},
 * as before it existed): the baseline of what the bound costs on a hit (the default cache reads the
 * record again once per second, which the memory backend answers in microseconds).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class CacheBenchmark {
    private final Clock clock = Clock.systemUTC();
    private MemoryKeystore backend;
    private DefaultKeystoreOperations ops;
    private DefaultKeystoreOperations cachedOps;
    private KeyCache cache;
    private KeyCache cacheNoRevalidation;
    private KeyId id;
    private Function<KeyId, CachedRecord> loader;
    private KeyCache.Opener opener;
    private final ConcurrentHashMap<KeyId, byte[]> map = new ConcurrentHashMap<>();

    @Setup(Level.Trial)
    public void setUp() {
        backend = new MemoryKeystore();
        ops = DefaultKeystoreOperations.of(backend, List.<KekProvider>of(new BenchKeks()));
        for (int i = 0; i < 1_000; i++) {
            KeyId k = ops.generate(KeySpec.builder().name("k" + i).type(KeyType.L4).algorithm("AES").keySize(256)
                    .owner(Owner.service("bench")).build()).id();
            map.put(k, new byte[32]);
        }
        id = KeyId.of("k500", 1);
        cache = new KeyCache(CacheSettings.defaults());
        cachedOps = DefaultKeystoreOperations.of(backend, List.<KekProvider>of(ops.envelope().keks().sealing()))
                .cache(new KeyCache(CacheSettings.defaults()));
        loader = k -> new CachedRecord("memory", backend.retrieveKey(k));
        opener = stored -> ops.envelope().open(stored.sealed(), stored.metadata());
        cacheNoRevalidation = new KeyCache(CacheSettings.defaults().revalidatingAfter(java.time.Duration.ZERO));
        for (KeyCache c : List.of(cache, cacheNoRevalidation)) {
            try (KeyMaterial warm = c.material(id, loader, opener, clock)) {
                warm.length();
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        cache.close();
        cacheNoRevalidation.close();
    }

    @Benchmark
    public byte[] concurrentHashMapGet() {
        return map.get(id);
    }

    @Benchmark
    public Object recordCacheHit() {
        return cache.record(id, loader);
    }

    @Benchmark
    public int materialCacheHit() {
        try (KeyMaterial m = cache.material(id, loader, opener, clock)) {
            return m.length();
        }
    }

    @Benchmark
    public Object recordCacheHitNoRevalidation() {
        return cacheNoRevalidation.record(id, loader);
    }

    @Benchmark
    public int materialCacheHitNoRevalidation() {
        try (KeyMaterial m = cacheNoRevalidation.material(id, loader, opener, clock)) {
            return m.length();
        }
    }

    @Benchmark
    public int cachedGetThroughOperations() {
        try (KeyMaterial m = cachedOps.get(id)) {
            return m.length();
        }
    }

    @Benchmark
    public int uncachedGetMemoryBackend() {
        try (KeyMaterial m = ops.get(id)) {
            return m.length();
        }
    }
}
