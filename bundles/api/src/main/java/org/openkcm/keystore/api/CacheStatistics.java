package org.openkcm.keystore.api;

/**
 * The counters of one layer of the keystore's cache for one tier, since the cache was (re)created:
 * for the shell and for monitoring. Holds counts only, never keys or material.
 */
public final class CacheStatistics {
    /** The layers of the cache. */
    public enum Layer {
        /** Sealed records and metadata: ciphertext only. */
        RECORDS,
        /** Opened material, overwritten when it leaves the cache. */
        MATERIAL
    }

    private final Layer layer;
    private final KeyType tier;
    private final long hits;
    private final long misses;
    private final long loads;
    private final long evictions;
    private final long invalidations;
    private final long size;

    public CacheStatistics(Layer layer, KeyType tier, long hits, long misses, long loads, long evictions,
            long invalidations, long size) {
        this.layer = Validation.required("layer", layer);
        this.tier = Validation.required("tier", tier);
        this.hits = hits;
        this.misses = misses;
        this.loads = loads;
        this.evictions = evictions;
        this.invalidations = invalidations;
        this.size = size;
    }

    public Layer layer() {
        return layer;
    }

    public KeyType tier() {
        return tier;
    }

    /** Reads served from the cache. */
    public long hits() {
        return hits;
    }

    /** Reads that were not. */
    public long misses() {
        return misses;
    }

    /** Loads that completed and were cached (a backend read for records, an open for material). */
    public long loads() {
        return loads;
    }

    /** Entries removed by the size bound or their time to live. */
    public long evictions() {
        return evictions;
    }

    /** Entries removed because a write, or an explicit invalidation, changed them. */
    public long invalidations() {
        return invalidations;
    }

    /** Entries held now (an estimate). */
    public long size() {
        return size;
    }

    @Override
    public String toString() {
        return "CacheStatistics[" + layer + " " + tier + ": hits " + hits + ", misses " + misses + ", loads " + loads
                + ", evictions " + evictions + ", invalidations " + invalidations + ", size " + size + "]";
    }
}
