package org.openkcm.keystore.metrics.prometheus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.annotation.Annotation;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.api.KeyType;

/** The endpoint served by client_java's HTTP server on a free loopback port, scraped over HTTP. */
class PrometheusMetricsTest {

    private final PrometheusMetrics metrics = new PrometheusMetrics();
    private boolean active;

    static MetricsConfig config(String host, int port) {
        return new MetricsConfig() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return MetricsConfig.class;
            }

            @Override
            public String host() {
                return host;
            }

            @Override
            public int port() {
                return port;
            }
        };
    }

    @AfterEach
    void stop() {
        if (active) {
            metrics.deactivate();
        }
    }

    private String scrape() throws IOException, InterruptedException {
        HttpResponse<String> response = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metrics.port() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode());
        assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"),
                response.headers().toString());
        return response.body();
    }

    @Test
    void operationsAndBackendCallsAreCountedAndTimed() throws Exception {
        metrics.activate(null, config("127.0.0.1", 0));
        active = true;
        metrics.operation("get", "ok", 200_000); // 0.2 ms
        metrics.operation("get", "ok", 3_000_000);
        metrics.operation("get", "KeyNotFoundException", 100_000);
        metrics.backendCall("vault-eu", "retrieveKey", "ok", 2_000_000);

        String text = scrape();
        assertTrue(text.contains("keystore_operations_total{operation=\"get\",outcome=\"ok\"} 2.0"), text);
        assertTrue(text.contains("keystore_operations_total{operation=\"get\",outcome=\"KeyNotFoundException\"} 1.0"), text);
        assertTrue(text.contains("keystore_operation_duration_seconds_count{operation=\"get\"} 3"), text);
        assertTrue(text.contains("keystore_operation_duration_seconds_bucket{operation=\"get\",le=\"2.5E-4\"} 2"), text);
        assertTrue(text.contains("keystore_operation_duration_seconds_bucket{operation=\"get\",le=\"+Inf\"} 3"), text);
        assertTrue(text.contains("keystore_backend_calls_total{backend=\"vault-eu\",call=\"retrieveKey\",outcome=\"ok\"} 1.0"), text);
        assertTrue(text.contains("keystore_backend_call_duration_seconds_count{backend=\"vault-eu\",call=\"retrieveKey\"} 1"), text);
        assertTrue(Pattern.compile("(?m)^# TYPE keystore_operation_duration_seconds histogram$").matcher(text).find(), text);
    }

    @Test
    void openIntentsAreReadAtEachScrapeAndAbsentWithoutAJournal() throws Exception {
        metrics.activate(null, config("127.0.0.1", 0));
        active = true;
        assertFalse(scrape().contains("keystore_journal_open_intents "), "no journal, no sample");
        long[] open = {3};
        metrics.openIntents(() -> open[0]);
        assertTrue(scrape().contains("keystore_journal_open_intents 3.0"));
        open[0] = 0;
        assertTrue(scrape().contains("keystore_journal_open_intents 0.0"));
    }

    @Test
    void cacheHitsAndMissesComeFromTheCacheStatisticsPerLayerAndTier() throws Exception {
        KeystoreCollectors collectors = new KeystoreCollectors(() -> List.of(
                new CacheStatistics(CacheStatistics.Layer.MATERIAL, KeyType.L4, 90, 10, 10, 1, 2, 9),
                new CacheStatistics(CacheStatistics.Layer.RECORDS, KeyType.L3, 5, 7, 7, 0, 0, 3)));
        String text = new String(exposition(collectors));
        assertTrue(text.contains("keystore_cache_hits_total{layer=\"MATERIAL\",tier=\"L4\"} 90.0"), text);
        assertTrue(text.contains("keystore_cache_misses_total{layer=\"MATERIAL\",tier=\"L4\"} 10.0"), text);
        assertTrue(text.contains("keystore_cache_hits_total{layer=\"RECORDS\",tier=\"L3\"} 5.0"), text);
        assertTrue(text.contains("keystore_cache_misses_total{layer=\"RECORDS\",tier=\"L3\"} 7.0"), text);
    }

    @Test
    void aBadPortIsRefusedAndAPortInUseNamesTheAddress() throws Exception {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> metrics.activate(null, config("127.0.0.1", 70000)));
        assertTrue(e.getMessage().contains("between 0 and 65535"), e.getMessage());
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            IOException busy = assertThrows(IOException.class,
                    () -> metrics.activate(null, config("127.0.0.1", taken.getLocalPort())));
            assertTrue(busy.getMessage().contains("cannot listen on 127.0.0.1:" + taken.getLocalPort()), busy.getMessage());
        }
    }

    /** The text format as client_java writes it, without the HTTP server. */
    private static byte[] exposition(KeystoreCollectors collectors) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter.create().write(out,
                collectors.registry().scrape());
        return out.toByteArray();
    }
}
