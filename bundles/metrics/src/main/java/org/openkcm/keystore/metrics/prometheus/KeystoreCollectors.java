package org.openkcm.keystore.metrics.prometheus;

import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;

import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.metrics.KeystoreMetrics;

/**
 * The keystore's metrics in one Prometheus registry: counters and latency histograms per
 * operation and per backend call, fed by the core; cache hits and misses per layer and tier, read
 * from {@code KeystoreAdministration} at each scrape; and the open journal intents.
 */
final class KeystoreCollectors implements KeystoreMetrics {

    /** From 50 µs (a cached read) to 10 s (a slow backend), so both ends have resolution. */
    static final double[] LATENCY_BUCKETS = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
            0.1, 0.25, 0.5, 1, 2.5, 5, 10};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter operations;
    private final Histogram operationLatency;
    private final Counter backendCalls;
    private final Histogram backendLatency;
    private final AtomicReference<LongSupplier> openIntents = new AtomicReference<>();

    /** @param cache the cache counters now (empty when the keystore or its cache is absent) */
    KeystoreCollectors(Supplier<List<CacheStatistics>> cache) {
        operations = Counter.builder().name("keystore_operations_total")
                .help("Calls of the keystore's operations, by operation and outcome (ok, or the failure's class)")
                .labelNames("operation", "outcome").register(registry);
        operationLatency = Histogram.builder().name("keystore_operation_duration_seconds")
                .help("How long the keystore's operations took, by operation").unit(Unit.SECONDS)
                .labelNames("operation").classicOnly().classicUpperBounds(LATENCY_BUCKETS).register(registry);
        backendCalls = Counter.builder().name("keystore_backend_calls_total")
                .help("Calls the core made to each backend, by backend, call and outcome")
                .labelNames("backend", "call", "outcome").register(registry);
        backendLatency = Histogram.builder().name("keystore_backend_call_duration_seconds")
                .help("How long the calls to each backend took, by backend and call").unit(Unit.SECONDS)
                .labelNames("backend", "call").classicOnly().classicUpperBounds(LATENCY_BUCKETS).register(registry);
        CounterWithCallback.builder().name("keystore_cache_hits_total")
                .help("Reads the key cache answered, by layer (RECORDS, MATERIAL) and tier")
                .labelNames("layer", "tier")
                .callback(out -> cache.get().forEach(s -> out.call(s.hits(), s.layer().name(), s.tier().name())))
                .register(registry);
        CounterWithCallback.builder().name("keystore_cache_misses_total")
                .help("Reads the key cache could not answer, by layer (RECORDS, MATERIAL) and tier")
                .labelNames("layer", "tier")
                .callback(out -> cache.get().forEach(s -> out.call(s.misses(), s.layer().name(), s.tier().name())))
                .register(registry);
        GaugeWithCallback.builder().name("keystore_journal_open_intents")
                .help("Operations begun in the intent journal and not ended (recovery finishes or undoes them)")
                .callback(out -> {
                    LongSupplier source = openIntents.get();
                    if (source != null) {
                        out.call(source.getAsLong());
                    }
                }).register(registry);
    }

    PrometheusRegistry registry() {
        return registry;
    }

    @Override
    public void operation(String operation, String outcome, long nanos) {
        operations.labelValues(operation, outcome).inc();
        operationLatency.labelValues(operation).observe(Unit.nanosToSeconds(nanos));
    }

    @Override
    public void backendCall(String backend, String call, String outcome, long nanos) {
        backendCalls.labelValues(backend, call, outcome).inc();
        backendLatency.labelValues(backend, call).observe(Unit.nanosToSeconds(nanos));
    }

    @Override
    public void openIntents(LongSupplier source) {
        openIntents.set(source);
    }
}
