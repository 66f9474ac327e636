package org.openkcm.keystore.metrics.prometheus;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;

import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.metrics.KeystoreMetrics;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.Designate;

/**
 * The keystore's Prometheus endpoint: {@code GET /metrics} in the Prometheus text format, served by
 * client_java's HTTP server on its own port (loopback by default), and the {@link KeystoreMetrics}
 * service the core reports to. Nothing listens without a configuration of the PID (no surprise
 * port in a framework that embeds the keystore); the runtime ships one. A configuration change
 * restarts the server on the new address.
 */
@Component(name = PrometheusMetrics.PID, configurationPid = PrometheusMetrics.PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE, service = KeystoreMetrics.class)
@Designate(ocd = MetricsConfig.class)
public final class PrometheusMetrics implements KeystoreMetrics {

    public static final String PID = "org.openkcm.keystore.metrics";
    static final int DEFAULT_PORT = 9464;

    @Reference(service = LoggerFactory.class, cardinality = ReferenceCardinality.OPTIONAL)
    private Logger logger;

    /** The cache counters' source; null outside a framework (unit tests). */
    private volatile AdministrationLookup administration;

    private final KeystoreCollectors collectors = new KeystoreCollectors(this::cacheStatistics);
    private ExecutorService executor;
    private HTTPServer server;

    @Activate
    void activate(BundleContext context, MetricsConfig config) throws IOException {
        if (config.port() < 0 || config.port() > 65535) {
            throw new IllegalArgumentException("port of " + PID + " must be between 0 and 65535, not " + config.port());
        }
        if (context != null) {
            administration = new AdministrationLookup(context);
        }
        executor = scrapeThreads();
        try {
            server = HTTPServer.builder().hostname(config.host().trim()).port(config.port())
                    .registry(collectors.registry()).executorService(executor).buildAndStart();
        } catch (IOException | RuntimeException e) {
            executor.shutdownNow();
            closeTracker();
            throw new IOException("metrics endpoint cannot listen on " + config.host() + ":" + config.port() + ": " + e, e);
        }
        if (logger != null) {
            logger.info("Prometheus metrics at http://{}:{}/metrics", config.host().trim(), server.getPort());
        }
    }

    @Deactivate
    void deactivate() {
        server.close();
        executor.shutdownNow();
        closeTracker();
    }

    private void closeTracker() {
        if (administration != null) {
            administration.close();
            administration = null;
        }
    }

    /** The port the endpoint listens on (the one taken when configured as 0). */
    int port() {
        return server.getPort();
    }

    private List<CacheStatistics> cacheStatistics() {
        AdministrationLookup lookup = administration;
        return lookup == null ? List.of() : lookup.cacheStatistics();
    }

    /** Two daemon threads answer scrapes: a scrape is cheap, and a stuck client cannot keep the JVM alive. */
    private static ExecutorService scrapeThreads() {
        AtomicInteger n = new AtomicInteger();
        return new ThreadPoolExecutor(2, 2, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(64), r -> {
            Thread t = new Thread(r, "keystore-metrics-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public void operation(String operation, String outcome, long nanos) {
        collectors.operation(operation, outcome, nanos);
    }

    @Override
    public void backendCall(String backend, String call, String outcome, long nanos) {
        collectors.backendCall(backend, call, outcome, nanos);
    }

    @Override
    public void openIntents(LongSupplier source) {
        collectors.openIntents(source);
    }
}
