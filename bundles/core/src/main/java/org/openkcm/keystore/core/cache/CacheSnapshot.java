package org.openkcm.keystore.core.cache;

import java.util.List;

import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.api.KeyType;

/**
 * A snapshot of the cache counters: the api's {@link CacheStatistics}, one per layer and tier, as
 * {@code KeystoreAdministration.cacheStatistics()} returns them, and what the api's type does not
 * carry: whether the cache is on, and the loads that failed (those count for no tier, since a
 * record that could not be read has none). Kept for that, and for {@link #of}, the lookup tests use.
 *
 * @param enabled whether the cache is on
 * @param tiers one entry per layer and tier, records first
 * @param failedLoads record loads that failed (backend down, key absent, integrity): never cached
 */
public record CacheSnapshot(boolean enabled, List<CacheStatistics> tiers, long failedLoads) {
    public CacheSnapshot {
        tiers = List.copyOf(tiers);
    }

    /** The counters of one layer and tier. */
    public CacheStatistics of(CacheStatistics.Layer layer, KeyType tier) {
        for (CacheStatistics s : tiers) {
            if (s.layer() == layer && s.tier() == tier) {
                return s;
            }
        }
        throw new IllegalArgumentException("no statistics for " + layer + " " + tier);
    }
}
