package org.openkcm.keystore.plugins;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
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
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
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
import org.openkcm.keystore.plugins.testing.RedisServer;

/**
 * The Redis plugin's {@code retrieveKey} through the plugin host (Java host, gRPC with mutual TLS
 * over a unix socket, the Go plugin, its retrieve script on Redis) against a direct Redis GET of
 * the same record from Go (bench/redis-get, the plugin's client library), on one redis-server the
 * benchmark starts, in the same run. The GETs run in batches of {@value #GETS_PER_BATCH} per pipe
 * exchange with the Go process, so what is measured per operation is the GET itself. The plugin and
 * the Go command are the files the build makes ({@code -Dopenkcm.plugin.redis=},
 * {@code -Dopenkcm.redis.get=} to point elsewhere).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class RedisPluginBenchmark {
    private static final int GETS_PER_BATCH = 200;
    private static final KeyId ID = KeyId.of("bench", 1);
    private static final String PREFIX = "bench:";
    /** The Redis key of ID's record: the plugin's layout, prefix + owner kind:id + name:version. */
    private static final String RECORD_KEY = PREFIX + "node:edge-1:bench:1";
    private static final byte[] BATCH = (GETS_PER_BATCH + "\n").getBytes(StandardCharsets.US_ASCII);

    @Param({"120"})
    public int sealedBytes;

    private RedisServer redis;
    private PluginSupervisor supervisor;
    private PluginKeystore plugin;
    private Process getter;
    private OutputStream getterIn;
    private BufferedReader getterOut;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        try {
            start();
        } catch (Exception | Error e) {
            tearDown(); // JMH does not tear down a trial whose setup failed
            throw e;
        }
    }

    private void start() throws IOException {
        redis = RedisServer.start();
        Path executable = Path.of(System.getProperty("openkcm.plugin.redis",
                "bundles/keystore-plugins/target/go-plugins/keystore-plugin-redis")).toAbsolutePath();
        PluginSettings settings = new PluginSettings(executable, ExecutableCheck.sha256(executable), List.of(), List.of(),
                1, Duration.ofSeconds(10), Duration.ofSeconds(5), Duration.ofMillis(200), Duration.ofSeconds(10),
                Duration.ofSeconds(2), "bench-redis", Set.of(KeyType.L4), List.of(), true, 0,
                Map.of("address", redis.address(), "prefix", PREFIX));
        PluginLog quiet = new SilentPluginLog();
        supervisor = new PluginSupervisor(settings, Map.of(), quiet);
        plugin = new PluginKeystore(supervisor, quiet);
        KeyMetadata metadata = KeyMetadata.builder().id(ID).type(KeyType.L4).algorithm("AES").keySize(256)
                .owner(Owner.node("edge-1")).createdAt(Instant.parse("2026-01-01T00:00:00Z")).build();
        plugin.storeKey(ID, SealedKey.of(new byte[sealedBytes]), metadata);

        Path get = Path.of(System.getProperty("openkcm.redis.get", "bench/target/go/redis-get")).toAbsolutePath();
        getter = new ProcessBuilder(get.toString(), "-address", redis.address(), "-key", RECORD_KEY)
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        getterIn = getter.getOutputStream();
        getterOut = new BufferedReader(new InputStreamReader(getter.getInputStream(), StandardCharsets.US_ASCII));
        directGetFromGo(); // fails here, not mid-measurement, if the record is not where the layout says
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        if (getter != null) {
            getterIn.close();
            if (!getter.waitFor(5, TimeUnit.SECONDS)) {
                getter.destroyForcibly();
            }
        }
        if (supervisor != null) {
            supervisor.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    @Benchmark
    @BenchmarkMode({Mode.AverageTime, Mode.SampleTime})
    public StoredKey retrieveThroughHost() {
        return plugin.retrieveKey(ID);
    }

    @Benchmark
    @OperationsPerInvocation(GETS_PER_BATCH)
    public String directGetFromGo() throws IOException {
        getterIn.write(BATCH);
        getterIn.flush();
        String answer = getterOut.readLine();
        if (!"ok".equals(answer)) {
            throw new IllegalStateException("bench/redis-get answered " + answer);
        }
        return answer;
    }
}
