package org.openkcm.keystore.kek.transit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;

import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;

/**
 * A real {@code bao server -dev} of this test class's own (the OpenBao backend's launcher, from its
 * test-jar), with the Transit engine mounted, administered with the root token over HTTP.
 */
final class TransitServer implements AutoCloseable {
    final OpenBaoDevServer server;
    final String rootToken;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private TransitServer(OpenBaoDevServer server) {
        this.server = server;
        try {
            this.rootToken = Files.readString(server.tokenFile).strip();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static TransitServer start() {
        TransitServer s = new TransitServer(OpenBaoDevServer.startDedicated(Path.of("target")));
        s.call("POST", "sys/mounts/transit", "{\"type\":\"transit\"}");
        return s;
    }

    String address() {
        return server.address;
    }

    void createKey(String name) {
        call("POST", "transit/keys/" + name, "{}");
    }

    void rotate(String name) {
        call("POST", "transit/keys/" + name + "/rotate", "{}");
    }

    void minDecryptionVersion(String name, int version) {
        call("POST", "transit/keys/" + name + "/config", "{\"min_decryption_version\":" + version + "}");
    }

    /**
     * The root token in an owner-only file, as a {@code file:} reference: in a folder of its own (named
     * as {@code dir}) under the allow-listed KEK secrets folder, {@code <openkcm.secrets.dir>/kek/}.
     */
    String tokenReference(Path dir) {
        try {
            Path file = Files.createDirectories(Path.of(System.getProperty("openkcm.secrets.dir"), "kek")
                    .resolve(dir.getFileName().toString())).resolve("bao-token");
            Files.deleteIfExists(file);
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(file, rootToken + "\n");
            return "file:" + file.toAbsolutePath();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    String call(String method, String path, String body) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(server.address + "/v1/" + path))
                    .header("X-Vault-Token", rootToken).timeout(Duration.ofSeconds(30))
                    .method(method, HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() / 100 != 2) {
                throw new IllegalStateException(method + " " + path + ": HTTP " + r.statusCode() + " " + r.body());
            }
            return r.body();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    void stop() {
        server.stop();
    }

    @Override
    public void close() {
        server.stop();
    }
}
