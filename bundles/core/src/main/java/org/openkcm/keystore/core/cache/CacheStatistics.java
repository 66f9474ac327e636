package org.openkcm.keystore.core.cache;

import java.util.List;

import org.openkcm.keystore.api.KeyType;

/**
 * A snapshot of the cache counters, per layer and tier, for the shell and for monitoring.
 *
 * @param enabled whether the cache is on
 * @param tiers one entry per layer and tier, records first
 * @param failedLoads record loads that failed (backend down, key absent, integrity): never cached
 */
public record CacheStatistics(boolean enabled, List<TierStats> tiers, long failedLoads) {
    public CacheStatistics {
        tiers = List.copyOf(tiers);
    }

    /** The counters of one layer and tier. */
    public TierStats of(TierStats.Layer layer, KeyType tier) {
        for (TierStats s : tiers) {
            if (s.layer() == layer && s.tier() == tier) {
                return s;
            }
        }
        throw new IllegalArgumentException("no statistics for " + layer + " " + tier);
    }
}
