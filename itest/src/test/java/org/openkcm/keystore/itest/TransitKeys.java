package org.openkcm.keystore.itest;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;

import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;

/** A Transit key on the OpenBao dev server, set up outside the framework for the KEK provider tests. */
final class TransitKeys {
    private TransitKeys() {
    }

    /** Enables a Transit engine at {@code mount} (a mount no other test uses) and creates {@code key} in it. */
    static void create(OpenBaoDevServer bao, String mount, String key) throws IOException, InterruptedException {
        String token = Files.readString(bao.tokenFile).strip();
        HttpClient http = HttpClient.newHttpClient();
        for (String[] call : new String[][] {{"sys/mounts/" + mount, "{\"type\":\"transit\"}"},
                {mount + "/keys/" + key, "{}"}}) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(bao.address + "/v1/" + call[0]))
                    .header("X-Vault-Token", token).POST(HttpRequest.BodyPublishers.ofString(call[1])).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() / 100 != 2) {
                throw new IllegalStateException(call[0] + ": " + r.body());
            }
        }
    }
}
