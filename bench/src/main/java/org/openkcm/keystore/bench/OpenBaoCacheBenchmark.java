package org.openkcm.keystore.bench;

import java.time.Clock;
import java.util.List;
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
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.core.cache.CacheSettings;
import org.openkcm.keystore.core.cache.CachedRecord;
import org.openkcm.keystore.core.cache.KeyCache;
import org.openkcm.keystore.core.operations.DefaultKeystoreOperations;
import org.openkcm.keystore.openbao.BenchOpenBao;

/**
 * An L3 key in a real OpenBao dev server (started by the benchmark from the binary the OpenBao
 * module's build installs): a retrieve served by the caches against one from the server (average
 * time). {@code *Record}: the sealed record and metadata (the record cache, below the envelope);
 * {@code *Material}: the opened key (the material cache, above it; uncached it is an OpenBao read
 * plus an open).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class OpenBaoCacheBenchmark {
    private final Clock clock = Clock.systemUTC();
    private BenchOpenBao bao;
    private Keystore backend;
    private DefaultKeystoreOperations ops;
    private KeyCache cache;
    private KeyId id;
    private Function<KeyId, CachedRecord> loader;
    private KeyCache.Opener opener;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        bao = BenchOpenBao.start();
        backend = bao.keystore();
        ops = DefaultKeystoreOperations.of(backend, List.<KekProvider>of(new BenchKeks()));
        id = ops.generate(KeySpec.builder().name("service-kek").type(KeyType.L3).algorithm("AES").keySize(256)
                .owner(Owner.service("bench")).build()).id();
        cache = new KeyCache(CacheSettings.defaults());
        loader = k -> new CachedRecord("openbao", backend.retrieveKey(k));
        opener = stored -> ops.envelope().open(stored.sealed(), stored.metadata());
        try (KeyMaterial warm = cache.material(id, loader, opener, clock)) {
            warm.length();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        cache.close();
        bao.close();
    }

    @Benchmark
    public StoredKey uncachedRecord() {
        return backend.retrieveKey(id);
    }

    @Benchmark
    public StoredKey cachedRecord() {
        return cache.record(id, loader);
    }

    @Benchmark
    public int uncachedMaterial() {
        try (KeyMaterial m = ops.get(id)) {
            return m.length();
        }
    }

    @Benchmark
    public int cachedMaterial() {
        try (KeyMaterial m = cache.material(id, loader, opener, clock)) {
            return m.length();
        }
    }
}
