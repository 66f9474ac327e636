package org.openkcm.keystore.core.cache;

import java.util.concurrent.atomic.LongAdder;

import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.api.CacheStatistics.Layer;
import org.openkcm.keystore.api.KeyType;

import com.github.benmanes.caffeine.cache.RemovalCause;

/** The counters of one cache layer and tier, as {@link CacheStatistics} reports them. */
final class TierCounters {
    final LongAdder hits = new LongAdder();
    final LongAdder misses = new LongAdder();
    final LongAdder loads = new LongAdder();
    final LongAdder evictions = new LongAdder();
    final LongAdder invalidations = new LongAdder();
    final LongAdder size = new LongAdder();

    /** An entry left the cache: evicted (size, time to live) or invalidated (anything else). */
    void removed(RemovalCause cause) {
        size.decrement();
        if (cause.wasEvicted()) {
            evictions.increment();
        } else {
            invalidations.increment();
        }
    }

    CacheStatistics stats(Layer layer, KeyType tier) {
        return new CacheStatistics(layer, tier, hits.sum(), misses.sum(), loads.sum(), evictions.sum(),
                invalidations.sum(), Math.max(0, size.sum()));
    }
}
