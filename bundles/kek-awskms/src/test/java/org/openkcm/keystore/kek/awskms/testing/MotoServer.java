package org.openkcm.keystore.kek.awskms.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * A KMS-compatible server on a free loopback port: {@code moto_server} from the virtual environment
 * the build installs (PyPI {@code moto[server]}, pinned), one process per instance, stopped by
 * {@link #close()} and at JVM exit.
 */
public final class MotoServer implements AutoCloseable {
    public static final String REGION = "eu-central-1";
    public static final String ACCESS_KEY_ID = "AKIAOPENKCMTEST0001";
    public static final String SECRET_ACCESS_KEY = "openkcm-test-secret-access-key";

    private final Process process;
    public final URI endpoint;

    private MotoServer(Process process, URI endpoint) {
        this.process = process;
        this.endpoint = endpoint;
    }

    public static MotoServer start() {
        String venv = System.getProperty("openkcm.moto.venv");
        if (venv == null) {
            // a benchmark started from the repository's root finds the venv the module's build installed
            venv = Path.of("bundles", "kek-awskms", "target", "moto-venv").toAbsolutePath().toString();
        }
        Path binary = Path.of(venv, "bin", "moto_server");
        if (!Files.isExecutable(binary)) {
            throw new IllegalStateException(binary + " is missing: the build installs moto[server] into " + venv
                    + " (exec-maven-plugin, phase process-test-resources)");
        }
        int port = freePort();
        try {
            Path logDir = Files.isDirectory(Path.of("target")) ? Path.of("target") : Path.of(System.getProperty("java.io.tmpdir"));
            Path log = Files.createTempFile(logDir, "moto-", ".log");
            log.toFile().deleteOnExit();
            ProcessBuilder builder = new ProcessBuilder(binary.toString(), "-H", "127.0.0.1", "-p", String.valueOf(port))
                    .redirectErrorStream(true).redirectOutput(log.toFile());
            builder.environment().keySet().removeIf(k -> k.startsWith("AWS_") || k.startsWith("MOTO_"));
            Process process = builder.start();
            Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly, "moto-server"));
            URI endpoint = URI.create("http://127.0.0.1:" + port);
            awaitUp(process, endpoint, log);
            return new MotoServer(process, endpoint);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** An administrative client (create keys) with the test credentials. */
    public KmsClient client() {
        return KmsClient.builder().region(Region.of(REGION)).endpointOverride(endpoint)
                .httpClient(UrlConnectionHttpClient.create())
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY_ID, SECRET_ACCESS_KEY)))
                .build();
    }

    public String createKey() {
        try (KmsClient kms = client()) {
            return kms.createKey(r -> r.description("openkcm test root")).keyMetadata().keyId();
        }
    }

    public void stop() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stop();
    }

    private static void awaitUp(Process process, URI endpoint, Path log) throws IOException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("moto_server exited: " + Files.readString(log));
            }
            try {
                http.send(HttpRequest.newBuilder(endpoint.resolve("/moto-api/")).timeout(Duration.ofSeconds(2)).build(),
                        HttpResponse.BodyHandlers.discarding());
                return;
            } catch (IOException notYet) {
                sleep();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
        }
        process.destroyForcibly();
        throw new IllegalStateException("moto_server did not answer within 60 s: " + Files.readString(log));
    }

    private static void sleep() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
