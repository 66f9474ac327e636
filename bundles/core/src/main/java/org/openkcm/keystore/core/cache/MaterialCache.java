package org.openkcm.keystore.core.cache;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BiPredicate;
import java.util.function.Predicate;

import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.api.CacheStatistics.Layer;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.Validation;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;

/**
 * The material cache, above the envelope, optional per tier: the opened bytes of keys, in one bounded
 * cache per tier whose entries are overwritten with zeros when they leave, whatever the cause
 * (eviction, expiry, invalidation, replacement, {@link #close()}). A reader gets a copy.
 * <p>
 * An entry remembers the sealed record it was opened from and is served only for that record: given
 * any other, the key is opened again (once, for concurrent readers) and the old entry is replaced. A
 * record the caller says is no longer current once it has been opened (a write invalidated the key
 * meanwhile) leaves no material behind.
 * <p>
 * With a revocation bound, material also leaves once its record has gone unconfirmed by the backend
 * for {@link UnconfirmedMaterial two bounds}, read or not: a key RETIRED or deleted by another runtime
 * is wiped here even if it is never read again. The confirmation is the record's own
 * ({@link CachedRecord#confirmedAt()}), noted by the record cache that read it; a record no record
 * cache read counts as read when it is opened.
 * <p>
 * This cache applies no lifecycle rule: the caller refuses a RETIRED or expired key before it asks,
 * and {@link #invalidate(KeyId) invalidates} the key so that its bytes are wiped now.
 */
public final class MaterialCache implements AutoCloseable {

    /** Opens a sealed record: returns a fresh array that the cache then owns. */
    @FunctionalInterface
    public interface Opener {
        byte[] open(StoredKey stored);
    }

    private final Cache<KeyId, CachedMaterial>[] byTier; // by ordinal; null: the tier keeps no material
    private final List<Cache<KeyId, CachedMaterial>> caches; // the tiers that keep material
    private final TierCounters[] counters = new TierCounters[KeyType.values().length]; // by ordinal
    private final Ticker ticker;
    private final UnconfirmedMaterial unconfirmed;
    private final BiPredicate<KeyId, CachedRecord> current;
    private volatile boolean closed;

    /**
     * A material cache with these settings (none if they disable the cache or a tier's material),
     * without a sweep of unconfirmed material until {@link #startSweep()}.
     *
     * @param ticker the clock of the times to live and of confirmations; the caller owns it
     * @param scheduler wipes expired material promptly ({@link Scheduler#disabledScheduler()}: when cleaned)
     * @param current asked after a key was opened: false if the record it was opened from is no longer
     *            the key's (a write invalidated it meanwhile), and the material is then not kept
     */
    MaterialCache(CacheSettings settings, Ticker ticker, Scheduler scheduler, BiPredicate<KeyId, CachedRecord> current) {
        this.ticker = ticker;
        this.current = current;
        this.unconfirmed = new UnconfirmedMaterial(settings.revalidateAfter().toNanos());
        @SuppressWarnings("unchecked")
        Cache<KeyId, CachedMaterial>[] byOrdinal = new Cache[KeyType.values().length];
        byTier = byOrdinal;
        List<Cache<KeyId, CachedMaterial>> kept = new ArrayList<>();
        for (KeyType type : KeyType.values()) {
            TierCounters tierCounters = new TierCounters();
            counters[type.ordinal()] = tierCounters;
            CacheSettings.Tier tier = settings.tier(type);
            if (!settings.enabled() || !tier.materialCached()) {
                continue;
            }
            Cache<KeyId, CachedMaterial> cache = Caffeine.newBuilder()
                    .maximumSize(tier.materialMaxEntries())
                    .expireAfterWrite(tier.materialTtl().toNanos(), TimeUnit.NANOSECONDS)
                    .ticker(ticker)
                    .scheduler(scheduler)
                    // run on the thread that removed the entry: the bytes are wiped before it goes on
                    .executor(Runnable::run)
                    .<KeyId, CachedMaterial>removalListener((key, value, cause) -> {
                        if (value != null) {
                            value.wipe();
                            tierCounters.removed(cause);
                        }
                    })
                    .build();
            byTier[type.ordinal()] = cache;
            kept.add(cache);
        }
        caches = List.copyOf(kept);
    }

    /** Starts the sweep of unconfirmed material on a thread of its own, until {@link #close()} (none without a bound). */
    void startSweep() {
        if (!caches.isEmpty()) {
            unconfirmed.start(this::sweepUnconfirmed);
        }
    }

    // --------------------------------------------------------------- reads

    /**
     * The opened material of a key, for a caller that closes it: from the cache when the key's tier
     * has one and its entry was opened from this record; otherwise the opener opens it (once, for
     * concurrent readers) and, where the tier has a material cache, the cache keeps the bytes and the
     * caller gets a copy. Whatever the opener throws reaches the caller, and nothing is kept.
     *
     * @param record the key's record, as the record layer returned it now
     */
    public KeyMaterial material(KeyId id, CachedRecord record, Opener opener) {
        StoredKey stored = record.stored();
        int tier = stored.metadata().type().ordinal();
        Cache<KeyId, CachedMaterial> cache = byTier[tier];
        if (cache == null || closed) { // closed: a caller that still holds a replaced cache keeps nothing in it
            return KeyMaterial.wrap(opener.open(stored));
        }
        TierCounters tierCounters = counters[tier];
        CachedMaterial entry = cache.getIfPresent(id);
        if (entry != null && entry.openedFrom(stored.sealed())) {
            byte[] copy = entry.copy();
            if (copy != null) {
                tierCounters.hits.increment();
                entry.servedFor(record); // another instance (the record was read again): its confirmations count
                return KeyMaterial.wrap(copy);
            }
        }
        tierCounters.misses.increment();
        if (record.confirmedAt() == CachedRecord.UNCONFIRMED) {
            record.confirmed(ticker.read()); // not read through a record cache: read by the caller just now
        }
        boolean[] opened = new boolean[1];
        // compute: concurrent misses on one key open it once; a stale entry is replaced (and wiped)
        CachedMaterial fresh = cache.asMap().compute(id, (key, old) -> {
            if (old != null && old.openedFrom(stored.sealed()) && !old.isWiped()) {
                return old;
            }
            opened[0] = true;
            return new CachedMaterial(record, opener.open(stored));
        });
        if (opened[0]) {
            tierCounters.loads.increment();
            tierCounters.size.increment();
            if (closed || !current.test(id, record)) {
                // a write invalidated the key while this reader opened it, or the cache closed: keep nothing
                cache.asMap().remove(id, fresh);
            }
        } else {
            fresh.servedFor(record);
        }
        byte[] copy = fresh.copy();
        // null: evicted and wiped already (a cache smaller than its readers); open for this caller alone
        return KeyMaterial.wrap(copy != null ? copy : opener.open(stored));
    }

    // --------------------------------------------------------------- invalidation

    /** Forgets (wipes) the opened material of one key version, in whichever tier holds it. */
    public void invalidate(KeyId id) {
        Validation.required("keyId", id);
        for (Cache<KeyId, CachedMaterial> cache : caches) {
            cache.invalidate(id);
        }
    }

    /** Wipes the material of every version of a name (a scan of the cache: for rare, wide writes). */
    public void invalidateName(String name) {
        Validation.keyName(name);
        removeIf(m -> name.equals(m.getKey().name()));
    }

    /** Wipes the material of every key opened from a record of this backend. */
    public void invalidateBackend(String backend) {
        Validation.required("backend", backend);
        removeIf(m -> backend.equals(m.getValue().backend()));
    }

    /** Wipes every opened key. */
    public void invalidateAll() {
        for (Cache<KeyId, CachedMaterial> cache : caches) {
            cache.invalidateAll();
        }
    }

    /** Applies pending removals (expiry, size, unconfirmed material) now; their material is wiped. */
    public void cleanUp() {
        sweepUnconfirmed();
        caches.forEach(Cache::cleanUp);
    }

    /** Wipes every opened key and keeps none from now on; stops the sweep. */
    @Override
    public void close() {
        closed = true;
        unconfirmed.close();
        invalidateAll();
    }

    // --------------------------------------------------------------- statistics

    /** The counters of each tier, {@link Layer#MATERIAL}. */
    public List<CacheStatistics> statistics() {
        List<CacheStatistics> out = new ArrayList<>();
        for (KeyType type : KeyType.values()) {
            out.add(counters[type.ordinal()].stats(Layer.MATERIAL, type));
        }
        return out;
    }

    /** Test seam: the array the cache holds for a key (not a copy), or null. */
    byte[] heldMaterialForTest(KeyId id) {
        for (Cache<KeyId, CachedMaterial> cache : caches) {
            CachedMaterial entry = cache.getIfPresent(id);
            if (entry != null) {
                return entry.heldArrayForTest();
            }
        }
        return null;
    }

    // --------------------------------------------------------------- internals

    private void sweepUnconfirmed() {
        unconfirmed.sweep(caches.stream().map(c -> c.asMap().values()).toList(), ticker.read());
    }

    private void removeIf(Predicate<Map.Entry<KeyId, CachedMaterial>> match) {
        for (Cache<KeyId, CachedMaterial> cache : caches) {
            cache.asMap().entrySet().removeIf(match);
        }
    }
}
