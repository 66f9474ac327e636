package org.openkcm.keystore.plugins;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openjdk.jmh.annotations.Param;

/**
 * The cost of the loopback gRPC hop: {@code retrieveKey} of one key through the plugin host
 * (the Go example plugin, unix socket, mutual TLS) against the in-process memory backend, in the
 * same run, with the plugin on one processor (the Go SDK's default) and on one per core. Sample
 * time, so JMH reports p50 and p99 too. The plugin is the file the
 * keystore-plugins build makes ({@code -Dopenkcm.plugin.memory=} to point elsewhere).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class PluginHopBenchmark {
    private static final KeyId ID = KeyId.of("bench", 1);

    @Param({"120"})
    public int sealedBytes;

    /**
     * The plugin's processors: "sdk" passes no GOMAXPROCS (the Go SDK then runs the plugin on one),
     * "cores" passes GOMAXPROCS of this machine's core count (Go's own default).
     */
    @Param({"sdk", "cores"})
    public String goMaxProcs;

    private PluginSupervisor supervisor;
    private PluginKeystore plugin;
    private MemoryKeystore memory;

    @Setup(Level.Trial)
    public void setUp() {
        Path executable = Path.of(System.getProperty("openkcm.plugin.memory",
                "bundles/keystore-plugins/target/go-plugins/keystore-plugin-memory")).toAbsolutePath();
        List<String> passed = goMaxProcs.equals("cores") ? List.of("GOMAXPROCS") : List.of();
        PluginSettings settings = new PluginSettings(executable, ExecutableCheck.sha256(executable), List.of(), passed,
                1, Duration.ofSeconds(10), Duration.ofSeconds(5), Duration.ofMillis(200), Duration.ofSeconds(10),
                Duration.ofSeconds(2), "bench", Set.of(KeyType.L4), List.of(), false, 0, Map.of());
        PluginLog silent = new SilentPluginLog();
        supervisor = new PluginSupervisor(settings,
                Map.of("GOMAXPROCS", String.valueOf(Runtime.getRuntime().availableProcessors())), silent);
        plugin = new PluginKeystore(supervisor, silent);
        memory = new MemoryKeystore();
        KeyMetadata metadata = KeyMetadata.builder().id(ID).type(KeyType.L4).algorithm("AES").keySize(256)
                .owner(Owner.node("edge-1")).createdAt(Instant.parse("2026-01-01T00:00:00Z")).build();
        SealedKey sealed = SealedKey.of(new byte[sealedBytes]);
        plugin.storeKey(ID, sealed, metadata);
        memory.storeKey(ID, sealed, metadata);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        supervisor.close();
    }

    @Benchmark
    public StoredKey retrieveThroughPlugin() {
        return plugin.retrieveKey(ID);
    }

    @Benchmark
    public StoredKey retrieveInProcessMemory() {
        return memory.retrieveKey(ID);
    }
}
