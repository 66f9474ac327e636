package org.openkcm.keystore.openbao;

import java.io.IOException;
import java.lang.reflect.Proxy;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.openbao.OpenBaoKeystoreComponent.Config;

/**
 * Benchmarks only: a real OpenBao dev server (in memory) started from the {@code bao} binary the
 * OpenBao module's build installs, and an {@link OpenBaoKeystore} on it, built through the
 * component's configuration as a {@code .cfg} file would give it. In this package because the
 * keystore's constructor is package-private.
 */
public final class BenchOpenBao implements AutoCloseable {
    static final String TOKEN = "openkcm-bench-root-token";

    private final Process process;
    private final OpenBaoKeystore keystore;
    private final Path dir;

    private BenchOpenBao(Process process, OpenBaoKeystore keystore, Path dir) {
        this.process = process;
        this.keystore = keystore;
        this.dir = dir;
    }

    /**
     * Starts a dev server and connects a keystore to it.
     *
     * @param bao the {@code bao} binary; system property {@code openkcm.bao}, else the OpenBao
     *            module's {@code target/bao-venv/bin/bao} seen from the bench folder
     */
    public static BenchOpenBao start() throws IOException, InterruptedException {
        Path bao = Path.of(System.getProperty("openkcm.bao", "../bundles/keystore-openbao/target/bao-venv/bin/bao"));
        if (!Files.isExecutable(bao)) {
            throw new IllegalStateException(bao.toAbsolutePath() + " is not there: build bundles/keystore-openbao first "
                    + "(mvn install -pl bundles/keystore-openbao), or set -Dopenkcm.bao");
        }
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path dir = Files.createTempDirectory("openkcm-bench-bao");
        Process process = new ProcessBuilder(bao.toString(), "server", "-dev", "-dev-root-token-id=" + TOKEN,
                "-dev-listen-address=127.0.0.1:" + port, "-dev-no-store-token")
                .redirectErrorStream(true).redirectOutput(dir.resolve("bao.log").toFile()).start();
        String address = "http://127.0.0.1:" + port;
        awaitHealthy(address, process);
        Path token = dir.resolve("token");
        Files.writeString(token, TOKEN);
        Map<String, Object> props = new HashMap<>();
        props.put("address", address);
        props.put("path.prefix", "bench");
        props.put("token.source", "file:" + token);
        props.put("keystore.tiers", new String[] {"L2", "L3", "L4"});
        OpenBaoKeystore keystore = new OpenBaoKeystore(OpenBaoSettings.from(config(props), System::getenv));
        return new BenchOpenBao(process, keystore, dir);
    }

    public Keystore keystore() {
        return keystore;
    }

    @Override
    public void close() {
        keystore.close();
        process.destroyForcibly();
    }

    private static void awaitHealthy(String address, Process process) throws InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("bao exited with " + process.exitValue());
            }
            try {
                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create(address + "/v1/sys/health"))
                        .timeout(Duration.ofSeconds(1)).build(), HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // starting
            }
            Thread.sleep(100);
        }
        process.destroyForcibly();
        throw new IllegalStateException("bao did not come up within 60 s");
    }

    /** The component's configuration from .cfg-style properties, with the annotation's defaults for the rest. */
    private static Config config(Map<String, Object> props) {
        return (Config) Proxy.newProxyInstance(Config.class.getClassLoader(), new Class<?>[] {Config.class},
                (proxy, method, args) -> {
                    switch (method.getName()) {
                        case "annotationType":
                            return Config.class;
                        case "toString":
                            return "BenchConfig" + props;
                        case "hashCode":
                            return props.hashCode();
                        case "equals":
                            return proxy == args[0];
                        default:
                            Object v = props.get(method.getName().replace('_', '.'));
                            return v != null ? v : method.getDefaultValue();
                    }
                });
    }
}
