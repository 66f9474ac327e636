package org.openkcm.keystore.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.options;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.api.Owner;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.osgi.framework.Bundle;

/**
 * The metrics bundle beside the core in a real framework: the endpoint comes up when configured,
 * on a free loopback port; a scrape shows the operation counters and histograms move with the
 * calls made, the backend calls under each backend's name, the cache hits and misses per tier and
 * the open journal intents; and with the metrics bundle stopped the core runs the same.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class MetricsIT extends RoutingTestSupport {
    private static final String METRICS_PID = "org.openkcm.keystore.metrics";
    private static final String METRICS_BSN = "org.openkcm.keystore.metrics";

    @Configuration
    public Option[] configuration() {
        return options(routingConfiguration(), buildBundle("metrics"));
    }

    /** Configures the endpoint on a free loopback port and waits until it answers. */
    private int endpoint() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        org.osgi.service.cm.Configuration c = configurationAdmin.getConfiguration(METRICS_PID, "?");
        c.update(dictionary(Map.of("host", "127.0.0.1", "port", port)));
        int chosen = port;
        awaitCondition("the metrics endpoint on port " + port, () -> {
            try {
                scrape(chosen);
                return true;
            } catch (IOException notYet) {
                return false;
            }
        });
        return port;
    }

    private static String scrape(int port) throws IOException {
        HttpURLConnection http = (HttpURLConnection) new URL("http://127.0.0.1:" + port + "/metrics").openConnection();
        http.setConnectTimeout(1000);
        http.setReadTimeout(5000);
        try (InputStream in = http.getInputStream()) {
            assertEquals(200, http.getResponseCode());
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } finally {
            http.disconnect();
        }
    }

    /** The value of the sample (name and labels, exactly as exposed), 0 if it is not there yet. */
    private static double value(String text, String sample) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(sample) + " (\\S+)$").matcher(text);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    private static byte[] read(KeystoreOperations ops, KeyId id) {
        try (KeyMaterial m = ops.get(id)) {
            return m.copyBytes();
        }
    }

    @Test
    public void aScrapeShowsOperationsBackendsCacheAndJournalMoveWithTheCalls() throws Exception {
        memoryBackend("memory", 0);
        memoryBackend("vault", 0, "L2", "L3");
        memoryBackend("fast", 0, "L4");
        KeystoreOperations ops = operations();
        KeystoreAdministration admin = administration();
        route("l2-l3-to-vault", Map.of("tiers", new String[] {"L2", "L3"}, "target", "vault"));
        route("l4-to-fast", Map.of("tiers", new String[] {"L4"}, "target", "fast"));
        awaitRoute(admin, "l2-l3-to-vault", "vault");
        awaitRoute(admin, "l4-to-fast", "fast");
        int port = endpoint();
        String before = scrape(port);

        KeyMetadata l3 = ops.generate(spec("m-l3", KeyType.L3, Owner.tenant("acme"), null));
        KeyMetadata l4 = ops.generate(spec("m-l4", KeyType.L4, Owner.tenant("acme"), null));
        read(ops, l4.id());
        read(ops, l4.id()); // the second read is a cache hit
        read(ops, l3.id());
        assertThrows(KeyNotFoundException.class, () -> ops.get(KeyId.of("nosuch", 1)));
        String after = scrape(port);

        assertEquals(2, value(after, "keystore_operations_total{operation=\"generate\",outcome=\"ok\"}")
                - value(before, "keystore_operations_total{operation=\"generate\",outcome=\"ok\"}"), 0);
        assertEquals(3, value(after, "keystore_operations_total{operation=\"get\",outcome=\"ok\"}")
                - value(before, "keystore_operations_total{operation=\"get\",outcome=\"ok\"}"), 0);
        assertEquals(1, value(after, "keystore_operations_total{operation=\"get\",outcome=\"KeyNotFoundException\"}")
                - value(before, "keystore_operations_total{operation=\"get\",outcome=\"KeyNotFoundException\"}"), 0);
        assertEquals(4, value(after, "keystore_operation_duration_seconds_count{operation=\"get\"}")
                - value(before, "keystore_operation_duration_seconds_count{operation=\"get\"}"), 0);
        assertTrue(after, value(after, "keystore_operation_duration_seconds_sum{operation=\"get\"}") > 0);

        // each backend under its own name: the L3 key went to vault, the L4 key to fast
        assertEquals(1, value(after, "keystore_backend_calls_total{backend=\"vault\",call=\"storeKey\",outcome=\"ok\"}"), 0);
        assertEquals(1, value(after, "keystore_backend_calls_total{backend=\"fast\",call=\"storeKey\",outcome=\"ok\"}"), 0);
        assertEquals(0, value(after, "keystore_backend_calls_total{backend=\"memory\",call=\"storeKey\",outcome=\"ok\"}"), 0);
        assertEquals(1, value(after, "keystore_backend_call_duration_seconds_count{backend=\"vault\",call=\"storeKey\"}"), 0);
        // the unknown key was looked for in every backend
        for (String backend : new String[] {"memory", "vault", "fast"}) {
            assertEquals(after, 1, value(after, "keystore_backend_calls_total{backend=\"" + backend
                    + "\",call=\"retrieveKey\",outcome=\"KeyNotFoundException\"}"), 0);
        }

        // the cache, per layer and tier, as KeystoreAdministration counts it
        assertTrue(after, value(after, "keystore_cache_hits_total{layer=\"MATERIAL\",tier=\"L4\"}")
                > value(before, "keystore_cache_hits_total{layer=\"MATERIAL\",tier=\"L4\"}"));
        assertTrue(after, value(after, "keystore_cache_misses_total{layer=\"MATERIAL\",tier=\"L3\"}")
                > value(before, "keystore_cache_misses_total{layer=\"MATERIAL\",tier=\"L3\"}"));
        assertEquals(after, 0, value(after, "keystore_journal_open_intents"), 0);
        assertTrue(after, after.contains("\nkeystore_journal_open_intents 0.0\n"));
    }

    @Test
    public void withoutTheMetricsBundleTheCoreRunsTheSameAndTheEndpointIsGone() throws Exception {
        memoryBackend("memory", 0);
        int port = endpoint();
        Bundle metrics = bundle(METRICS_BSN);
        metrics.stop();

        KeystoreOperations ops = operations();
        KeyMetadata key = ops.generate(spec("unmeasured", KeyType.L4, Owner.tenant("acme"), null));
        assertEquals(32, read(ops, key.id()).length);
        assertThrows(IOException.class, () -> scrape(port));

        metrics.start();
        awaitCondition("the endpoint back", () -> {
            try {
                scrape(port);
                return true;
            } catch (IOException notYet) {
                return false;
            }
        });
        read(ops, key.id());
        assertEquals(1, value(scrape(port), "keystore_operations_total{operation=\"get\",outcome=\"ok\"}"), 0);
    }

    private Bundle bundle(String symbolicName) {
        for (Bundle b : bundleContext.getBundles()) {
            if (symbolicName.equals(b.getSymbolicName())) {
                return b;
            }
        }
        throw new AssertionError("no bundle " + symbolicName);
    }
}
