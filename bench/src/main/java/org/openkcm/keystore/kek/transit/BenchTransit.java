package org.openkcm.keystore.kek.transit;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;

import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.kek.common.RootKey;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;
import org.openkcm.keystore.sdk.ComponentConfigs;

/**
 * Benchmarks only: the Transit provider (ring at rest) on the shared OpenBao dev server, with a
 * Transit mount and key of its own, and the same Transit key as a per-record root. In this package
 * because the provider's loading and the root key are package-private.
 */
public final class BenchTransit {
    public final KekProvider ring;
    public final RootKey root;

    private BenchTransit(KekProvider ring, RootKey root) {
        this.ring = ring;
        this.root = root;
    }

    public static BenchTransit start(Path dir) throws Exception {
        OpenBaoDevServer server = OpenBaoDevServer.start(OpenBaoDevServer.bundleFile().toPath().getParent());
        String token = Files.readString(server.tokenFile).strip();
        String mount = "bench-transit-" + System.nanoTime();
        HttpClient http = HttpClient.newHttpClient();
        for (String[] call : new String[][] {{"sys/mounts/" + mount, "{\"type\":\"transit\"}"}, {mount + "/keys/root", "{}"}}) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(server.address + "/v1/" + call[0]))
                    .header("X-Vault-Token", token).POST(HttpRequest.BodyPublishers.ofString(call[1])).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() / 100 != 2) {
                throw new IllegalStateException(call[0] + ": " + r.body());
            }
        }
        // dir is the allow-listed secrets folder; a KEK provider's secrets are under its kek/
        Path tokenFile = Files.createDirectories(dir.resolve("kek")).resolve("bao-token");
        Files.createFile(tokenFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tokenFile, token);
        Map<String, Object> config = new HashMap<>();
        config.put("address", server.address);
        config.put("mount", mount);
        config.put("key.name", "root");
        config.put("token.source", "file:" + tokenFile);
        config.put("ring.file", dir.resolve("transit.ring").toString());
        TransitSettings settings = TransitSettings.from(ComponentConfigs.of(TransitKekProvider.Config.class, config),
                k -> "openkcm.secrets.dir".equals(k) ? dir.toString() : null);
        TransitKekProvider provider = new TransitKekProvider();
        provider.load(settings, System::getenv);
        TransitClient client = new TransitClient(settings, token.toCharArray());
        return new BenchTransit(provider, new TransitRootKey(client, settings));
    }
}
