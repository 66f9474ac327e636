package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * The Prometheus endpoint of the built runtime: the shipped configuration (loopback) on a free
 * port, scraped while the runtime runs, shows the calls made in its shell under their operation and
 * backend, and the open journal intents (so the core is wired to the metrics bundle there).
 */
@Timeout(120)
class RuntimeMetricsIT {
    private static final Duration COMMAND = Duration.ofSeconds(20);

    @Test
    void aScrapeOfTheRunningRuntimeShowsItsCalls(TestInfo test) throws Exception {
        Distribution distribution = Distribution.copy("metrics-" + test.getTestMethod().orElseThrow().getName());
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        var cfg = distribution.path("config/org.openkcm.keystore.metrics.cfg");
        String shipped = Files.readString(cfg);
        assertTrue(shipped.contains("host = \"127.0.0.1\""), shipped);
        Files.writeString(cfg, shipped.replace("port = I\"0\"", "port = I\"" + port + "\""));

        try (Distribution.Running runtime = distribution.start()) {
            String out = runtime.shell("keystore:generate --type L4 --owner tenant/acme k1", COMMAND);
            assertTrue(out.contains("k1:1"), out + runtime);
            runtime.shell("keystore:show k1:1", COMMAND);

            String text = scrape(port);
            assertTrue(text.contains("keystore_operations_total{operation=\"generate\",outcome=\"ok\"} 1.0"), text);
            assertTrue(text.contains("keystore_operations_total{operation=\"metadata\",outcome=\"ok\"}"), text);
            assertTrue(text.contains("keystore_backend_calls_total{backend=\"memory\",call=\"storeKey\",outcome=\"ok\"} 1.0"),
                    text);
            assertTrue(text.contains("keystore_backend_call_duration_seconds_count{backend=\"memory\",call=\"storeKey\"} 1"),
                    text);
            assertTrue(text.contains("\nkeystore_journal_open_intents 0.0\n"), text);
        }
    }

    private static String scrape(int port) throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + "/metrics")).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode());
        return response.body();
    }
}
