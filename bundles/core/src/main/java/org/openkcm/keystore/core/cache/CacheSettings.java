package org.openkcm.keystore.core.cache;

import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;

import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyType;

/**
 * The settings of the key caches, checked: the typed form of {@link CacheConfig}.
 *
 * @param enabled false: nothing is cached
 * @param recordsMaxEntries the bound of the record cache, all tiers together
 * @param tiers the settings of each tier (every {@link KeyType} present)
 * @param revalidateAfter the revocation bound: a cached record older than this is read again from its
 *            backend before it is served (a change made by another runtime, such as a key RETIRED
 *            there, is honoured here within this time); zero: records are served for their whole
 *            time to live
 */
public record CacheSettings(boolean enabled, int recordsMaxEntries, Map<KeyType, Tier> tiers, Duration revalidateAfter) {
    /** The default revocation bound. */
    public static final long DEFAULT_REVALIDATE_MILLIS = 1000;
    public static final int DEFAULT_RECORDS_MAX_ENTRIES = 100_000;
    public static final long DEFAULT_RECORDS_TTL_SECONDS = 300;
    public static final int DEFAULT_L3_MATERIAL_MAX_ENTRIES = 10_000;
    public static final int DEFAULT_L4_MATERIAL_MAX_ENTRIES = 100_000;
    public static final long DEFAULT_MATERIAL_TTL_SECONDS = 60;
    static final int MAX_ENTRIES = 50_000_000;
    static final long MAX_TTL_SECONDS = 7 * 24 * 3600L;

    /**
     * The settings of one tier.
     *
     * @param recordsTtl how long a sealed record is served from the cache; zero: not cached
     * @param materialMaxEntries how many opened keys of the tier are kept; 0: none
     * @param materialTtl how long opened material is kept after it was opened
     */
    public record Tier(Duration recordsTtl, int materialMaxEntries, Duration materialTtl) {
        public Tier {
            check("records.ttl", recordsTtl);
            check("material.ttl", materialTtl);
            entries("material.max.entries", materialMaxEntries);
        }

        public boolean recordsCached() {
            return !recordsTtl.isZero();
        }

        public boolean materialCached() {
            return materialMaxEntries > 0 && !materialTtl.isZero();
        }
    }

    public CacheSettings {
        entries("records.max.entries", recordsMaxEntries);
        if (revalidateAfter == null || revalidateAfter.isNegative()
                || revalidateAfter.compareTo(Duration.ofSeconds(MAX_TTL_SECONDS)) > 0) {
            throw new InvalidInputException("cache.records.revalidate.millis", "must be between 0 and "
                    + MAX_TTL_SECONDS * 1000 + " milliseconds");
        }
        EnumMap<KeyType, Tier> copy = new EnumMap<>(KeyType.class);
        for (KeyType type : KeyType.values()) {
            Tier tier = tiers.get(type);
            if (tier == null) {
                throw new InvalidInputException("cache", "has no settings for tier " + type);
            }
            copy.put(type, tier);
        }
        tiers = Map.copyOf(copy);
    }

    /** Settings whose records are served for their whole time to live, never revalidated before. */
    public CacheSettings(boolean enabled, int recordsMaxEntries, Map<KeyType, Tier> tiers) {
        this(enabled, recordsMaxEntries, tiers, Duration.ZERO);
    }

    /** The defaults of {@link CacheConfig}. */
    public static CacheSettings defaults() {
        Duration records = Duration.ofSeconds(DEFAULT_RECORDS_TTL_SECONDS);
        Duration material = Duration.ofSeconds(DEFAULT_MATERIAL_TTL_SECONDS);
        return new CacheSettings(true, DEFAULT_RECORDS_MAX_ENTRIES, Map.of(
                KeyType.L2, new Tier(records, 0, material),
                KeyType.L3, new Tier(records, DEFAULT_L3_MATERIAL_MAX_ENTRIES, material),
                KeyType.L4, new Tier(records, DEFAULT_L4_MATERIAL_MAX_ENTRIES, material)),
                Duration.ofMillis(DEFAULT_REVALIDATE_MILLIS));
    }

    /** Nothing cached. */
    public static CacheSettings disabled() {
        CacheSettings d = defaults();
        return new CacheSettings(false, d.recordsMaxEntries, d.tiers, d.revalidateAfter);
    }

    /**
     * The checked form of a configuration.
     *
     * @throws InvalidInputException naming the first attribute out of range
     */
    public static CacheSettings of(CacheConfig c) {
        return new CacheSettings(c.enabled(), c.records_max_entries(), Map.of(
                KeyType.L2, tier(c.l2_records_ttl_seconds(), c.l2_material_max_entries(), c.l2_material_ttl_seconds()),
                KeyType.L3, tier(c.l3_records_ttl_seconds(), c.l3_material_max_entries(), c.l3_material_ttl_seconds()),
                KeyType.L4, tier(c.l4_records_ttl_seconds(), c.l4_material_max_entries(), c.l4_material_ttl_seconds())),
                millis("records.revalidate.millis", c.records_revalidate_millis()));
    }

    public Tier tier(KeyType type) {
        return tiers.get(type);
    }

    /** A copy with one tier's settings replaced. */
    public CacheSettings with(KeyType type, Tier tier) {
        EnumMap<KeyType, Tier> copy = new EnumMap<>(tiers);
        copy.put(type, tier);
        return new CacheSettings(enabled, recordsMaxEntries, copy, revalidateAfter);
    }

    /** A copy with another revocation bound. */
    public CacheSettings revalidatingAfter(Duration bound) {
        return new CacheSettings(enabled, recordsMaxEntries, tiers, bound);
    }

    private static Duration millis(String field, long millis) {
        if (millis < 0 || millis > MAX_TTL_SECONDS * 1000) {
            throw new InvalidInputException("cache." + field, "must be between 0 and " + MAX_TTL_SECONDS * 1000
                    + " milliseconds");
        }
        return Duration.ofMillis(millis);
    }

    private static Tier tier(long recordsTtlSeconds, int materialMax, long materialTtlSeconds) {
        return new Tier(seconds("records.ttl.seconds", recordsTtlSeconds), materialMax,
                seconds("material.ttl.seconds", materialTtlSeconds));
    }

    private static Duration seconds(String field, long seconds) {
        if (seconds < 0 || seconds > MAX_TTL_SECONDS) {
            throw new InvalidInputException("cache." + field, "must be between 0 and " + MAX_TTL_SECONDS + " seconds");
        }
        return Duration.ofSeconds(seconds);
    }

    private static void check(String field, Duration ttl) {
        if (ttl == null || ttl.isNegative() || ttl.compareTo(Duration.ofSeconds(MAX_TTL_SECONDS)) > 0) {
            throw new InvalidInputException("cache." + field, "must be between 0 and " + MAX_TTL_SECONDS + " seconds");
        }
    }

    private static void entries(String field, int entries) {
        if (entries < 0 || entries > MAX_ENTRIES) {
            throw new InvalidInputException("cache." + field, "must be between 0 and " + MAX_ENTRIES);
        }
    }
}
