package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;

/**
 * The built runtime with the Transit KEK provider it ships as the sealing KEK, against a real
 * {@code bao server -dev}: configured by a {@code .cfg} in {@code config/} (the token an
 * {@code env:} reference) and {@code seal.kek.id}, it starts (the core's own file KEK, idle beside
 * it, is no start-up problem), seals under Transit, and opens after a restart.
 */
@Timeout(180)
class KekTransitRuntimeIT {
    private static final String TOKEN_VARIABLE = "OPENKCM_SECRET_KEK_TEST_TRANSIT_TOKEN";

    private static OpenBaoDevServer bao;
    private static String token;

    @BeforeAll
    static void startOpenBao() throws Exception {
        bao = OpenBaoDevServer.start(OpenBaoDevServer.bundleFile().toPath().getParent());
        token = Files.readString(bao.tokenFile).strip();
        HttpClient http = HttpClient.newHttpClient();
        for (String[] call : new String[][] {{"sys/mounts/kek-runtime", "{\"type\":\"transit\"}"},
                {"kek-runtime/keys/runtime-root", "{}"}}) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(bao.address + "/v1/" + call[0]))
                    .header("X-Vault-Token", token).POST(HttpRequest.BodyPublishers.ofString(call[1])).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() / 100 != 2) {
                throw new IllegalStateException(call[0] + ": " + r.body());
            }
        }
    }

    @Test
    void aRuntimeWhoseSealingKekIsTransitStartsSealsUnderItAndOpensAfterARestart() throws Exception {
        Distribution distribution = Distribution.copy("kek-transit-runtime").environment(TOKEN_VARIABLE, token);
        Files.writeString(distribution.path("config/org.openkcm.keystore.kek.transit.cfg"), String.join("\n",
                "address = " + bao.address,
                "mount = kek-runtime",
                "key.name = runtime-root",
                "token.source = env:" + TOKEN_VARIABLE,
                ""));
        Files.writeString(distribution.path("config/org.openkcm.keystore.operations.cfg"), "seal.kek.id = transit\n");

        Distribution.Result generated = distribution.run("-c", "keystore:generate --type L2 --owner tenant/acme acme-root");
        assertEquals(0, generated.exit(), generated::toString);
        assertFalse(generated.err().contains("KEK refused"), generated::toString);
        String record = Files.readString(distribution.path("data/kek/known-keks"));
        assertTrue(record.lines().anyMatch(l -> l.matches("transit 1 \\S+ used")), record);
        assertFalse(record.contains("local "), "the idle file KEK sealed nothing: " + record);
        assertTrue(Files.readString(distribution.path("data/kek/transit.ring")).contains("\nopenkcm-sealed-kek-ring 2 transit\n"));

        Distribution.Result shown = distribution.run("-c", "keystore:reveal acme-root:1");
        assertEquals(0, shown.exit(), shown::toString);
        assertTrue(shown.out().strip().lines().reduce((a, b) -> b).orElse("").matches("[0-9a-f]{64}"), shown::toString);
        assertFalse(shown.toString().contains(token), "the token was printed");
    }
}
