package org.openkcm.keystore.core.cache;

import org.openkcm.keystore.api.KeyType;

/**
 * The counters of one layer of the cache for one tier, since the cache was created.
 *
 * @param layer which layer
 * @param tier which tier
 * @param hits reads served from the cache
 * @param misses reads that were not (each is followed by one load, or joined a load under way)
 * @param loads loads that completed and were cached (a backend read for records, an open for material)
 * @param evictions entries removed by the size bound or their time to live (not by invalidation)
 * @param invalidations entries removed because a write, or an explicit invalidation, changed them
 * @param size entries held now (an estimate)
 */
public record TierStats(Layer layer, KeyType tier, long hits, long misses, long loads, long evictions,
        long invalidations, long size) {

    /** The two layers of the cache. */
    public enum Layer {
        /** Sealed records and metadata: ciphertext only. */
        RECORDS,
        /** Opened material, overwritten when it leaves. */
        MATERIAL
    }

    /** Hits over reads, 0 when nothing was read. */
    public double hitRatio() {
        long reads = hits + misses;
        return reads == 0 ? 0 : (double) hits / reads;
    }
}
