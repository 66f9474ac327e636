package org.openkcm.keystore.core.cache;

import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;

import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.api.CacheStatistics.Layer;
import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.Validation;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;

/**
 * The key caches of the operations layer, in two layers (see {@link CacheConfig}):
 * <ol>
 * <li><b>Records</b>, below the envelope: the sealed record and metadata of each key, as its backend
 * returned them, with the backend's name. One Caffeine cache for every tier, so that concurrent
 * misses on one key make one backend read whatever the key's tier ({@link Cache#get} with a loader
 * runs the loader once while the others wait), and so that {@link #invalidate(KeyId)} waits for a
 * load of that key under way and removes its result: a read that raced a write cannot leave the
 * value from before the write behind. The time to live is set per tier ({@link Expiry}); a load that
 * fails (backend down, key absent) caches nothing.</li>
 * <li><b>Material</b>, above the envelope, optional per tier: the opened bytes, in one bounded cache
 * per tier whose entries are overwritten with zeros when they leave, whatever the cause. An entry
 * remembers the sealed record it was opened from and is served only for that record, so material is
 * never served for a record the record layer no longer holds. With a revocation bound, material also
 * leaves once its record has gone unconfirmed by the backend for {@link UnconfirmedMaterial two bounds}, read
 * or not: a key RETIRED or deleted by another runtime is wiped here even if it is never read again.</li>
 * </ol>
 * Lifecycle rules are applied at every read, on the metadata the record layer returns: a RETIRED or
 * expired key is refused even when its material is cached (and that material is dropped).
 * <p>
 * Invalidation by key is exact. Invalidation by name, backend or everything also covers loads under
 * way: each such invalidation is numbered, each record entry remembers the number current when its
 * load began, and an entry loaded before a later broad invalidation that matches it is loaded again
 * instead of served.
 */
public final class KeyCache implements AutoCloseable {
    public static final String PID = "org.openkcm.keystore.cache";
    /** How many broad invalidations are remembered; an entry older than all of them is reloaded. */
    static final int BROAD_HISTORY = 64;

    /** Opens a sealed record: returns a fresh array that the cache then owns. */
    @FunctionalInterface
    public interface Opener {
        byte[] open(StoredKey stored);
    }

    /**
     * A record entry: the record, its tier, the broad-invalidation number it was checked against, and
     * when (ticker time) its backend last confirmed it.
     */
    private static final class RecordEntry {
        final CachedRecord record;
        final KeyType tier;
        volatile long checked;
        volatile long confirmed;

        RecordEntry(CachedRecord record, long checked, long confirmed) {
            this.record = record;
            this.tier = record.stored().metadata().type();
            this.checked = checked;
            this.confirmed = confirmed;
        }
    }

    /** An invalidation of many keys: all of them, a name's versions, or a backend's keys. */
    private record Broad(long number, String name, String backend) {
        boolean matches(KeyId id, String from) {
            return (name == null && backend == null) || (name != null && name.equals(id.name()))
                    || (backend != null && backend.equals(from));
        }
    }

    private static final class Counters {
        final LongAdder hits = new LongAdder();
        final LongAdder misses = new LongAdder();
        final LongAdder loads = new LongAdder();
        final LongAdder evictions = new LongAdder();
        final LongAdder invalidations = new LongAdder();
        final LongAdder size = new LongAdder();

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

    private final CacheSettings settings;
    private final Cache<KeyId, RecordEntry> records;
    private final Map<KeyType, Cache<KeyId, CachedMaterial>> material;
    private final Cache<KeyId, CachedMaterial>[] materialByTier; // by ordinal; null: no material cache
    /** By ordinal: the tier caches no records, so every read asked the backend and confirms the material. */
    private final boolean[] recordsUncachedByTier = new boolean[KeyType.values().length];
    private final Map<KeyType, Counters> recordCounters = new EnumMap<>(KeyType.class);
    private final Map<KeyType, Counters> materialCounters = new EnumMap<>(KeyType.class);
    private final LongAdder failedLoads = new LongAdder();
    private final CoarseTicker ownTicker;
    private final Ticker ticker;
    /** The revocation bound in ticker nanoseconds; 0: never revalidated before the time to live ends. */
    private final long revalidateNanos;
    private final UnconfirmedMaterial unconfirmed;
    private volatile boolean closed;

    private final Object broadLock = new Object();
    // written under broadLock: broads first, then number, so a reader of number sees every broad up to it
    private volatile Broad[] broads = new Broad[0];
    private volatile long number;

    /**
     * A cache with these settings. Times to live run on a {@link CoarseTicker} (10 ms resolution, a
     * thread of its own until {@link #close()}); expired material is wiped promptly by Caffeine's
     * system scheduler, and material whose record went unconfirmed by {@link UnconfirmedMaterial}'s
     * sweep (another thread until {@link #close()}).
     */
    public KeyCache(CacheSettings settings) {
        this(settings, settings.enabled() ? new CoarseTicker(CoarseTicker.RESOLUTION) : Ticker.systemTicker(),
                Scheduler.systemScheduler());
        if (!material.isEmpty()) {
            unconfirmed.start(this::sweepUnconfirmed);
        }
    }

    /** Tests: a fake ticker, no scheduler and no sweep (expiry and the sweep are applied when the cache is cleaned). */
    KeyCache(CacheSettings settings, Ticker ticker, Scheduler scheduler) {
        this.settings = settings;
        this.ownTicker = ticker instanceof CoarseTicker coarse ? coarse : null;
        this.ticker = ticker;
        this.revalidateNanos = settings.revalidateAfter().toNanos();
        this.unconfirmed = new UnconfirmedMaterial(revalidateNanos);
        for (KeyType type : KeyType.values()) {
            recordCounters.put(type, new Counters());
            materialCounters.put(type, new Counters());
        }
        @SuppressWarnings("unchecked")
        Cache<KeyId, CachedMaterial>[] byOrdinal = new Cache[KeyType.values().length];
        materialByTier = byOrdinal;
        if (!settings.enabled()) {
            records = null;
            material = Map.of();
            return;
        }
        records = Caffeine.newBuilder()
                .maximumSize(settings.recordsMaxEntries())
                .expireAfter(new Expiry<KeyId, RecordEntry>() {
                    @Override
                    public long expireAfterCreate(KeyId key, RecordEntry value, long currentTime) {
                        return settings.tier(value.tier).recordsTtl().toNanos();
                    }

                    @Override
                    public long expireAfterUpdate(KeyId key, RecordEntry value, long currentTime, long currentDuration) {
                        return settings.tier(value.tier).recordsTtl().toNanos();
                    }

                    @Override
                    public long expireAfterRead(KeyId key, RecordEntry value, long currentTime, long currentDuration) {
                        return currentDuration;
                    }
                })
                .ticker(ticker)
                .executor(Runnable::run)
                .<KeyId, RecordEntry>removalListener((key, value, cause) -> {
                    if (value != null) {
                        recordCounters.get(value.tier).removed(cause);
                    }
                })
                .build();
        Map<KeyType, Cache<KeyId, CachedMaterial>> byTier = new EnumMap<>(KeyType.class);
        for (KeyType type : KeyType.values()) {
            CacheSettings.Tier tier = settings.tier(type);
            recordsUncachedByTier[type.ordinal()] = !tier.recordsCached();
            if (!tier.materialCached()) {
                continue;
            }
            Counters counters = materialCounters.get(type);
            byTier.put(type, Caffeine.newBuilder()
                    .maximumSize(tier.materialMaxEntries())
                    .expireAfterWrite(tier.materialTtl().toNanos(), TimeUnit.NANOSECONDS)
                    .ticker(ticker)
                    .scheduler(scheduler)
                    // run on the thread that removed the entry: the bytes are wiped before it goes on
                    .executor(Runnable::run)
                    .<KeyId, CachedMaterial>removalListener((key, value, cause) -> {
                        if (value != null) {
                            value.wipe();
                            counters.removed(cause);
                        }
                    })
                    .build());
        }
        material = Map.copyOf(byTier);
        byTier.forEach((type, cache) -> materialByTier[type.ordinal()] = cache);
    }

    public CacheSettings settings() {
        return settings;
    }

    public boolean enabled() {
        return records != null;
    }

    // --------------------------------------------------------------- reads

    /**
     * The sealed record and metadata of a key: from the cache, or from the loader. Concurrent misses
     * on one key run the loader once. A loader that throws caches nothing, and its exception reaches
     * every caller that waited for it. The loader should verify what it read (only verified records
     * are worth caching).
     */
    public StoredKey record(KeyId id, Function<KeyId, CachedRecord> loader) {
        return cachedRecord(id, loader).stored();
    }

    /**
     * The opened material of a key, for a caller that closes it. The lifecycle rules are applied on
     * the metadata read now (through the record layer): a RETIRED or expired key is refused, cached
     * material or not. The material comes from the material cache when the key's tier has one and its
     * entry was opened from the record read now; otherwise the opener opens it (once, for concurrent
     * readers) and, where the tier has a material cache, the cache keeps the bytes and the caller gets
     * a copy.
     *
     * @param clock read only for a key that has an expiry
     * @throws PolicyRefusedException if the key is RETIRED or expired now
     */
    public KeyMaterial material(KeyId id, Function<KeyId, CachedRecord> loader, Opener opener, Clock clock) {
        CachedRecord record = cachedRecord(id, loader);
        StoredKey stored = record.stored();
        KeyMetadata metadata = stored.metadata();
        Cache<KeyId, CachedMaterial> cache = materialByTier[metadata.type().ordinal()];
        refuseIfNotServable(id, metadata, clock, cache);
        if (cache == null || closed) { // closed: a caller that still holds a replaced cache keeps nothing in it
            return KeyMaterial.wrap(open(id, stored, opener));
        }
        Counters counters = materialCounters.get(metadata.type());
        CachedMaterial entry = cache.getIfPresent(id);
        if (entry != null && entry.openedFrom(stored.sealed())) {
            byte[] copy = entry.copy();
            if (copy != null) {
                counters.hits.increment();
                if (recordsUncachedByTier[metadata.type().ordinal()]) {
                    entry.confirmed(ticker.read()); // the record was read from the backend just now
                }
                return KeyMaterial.wrap(copy);
            }
        }
        counters.misses.increment();
        boolean[] opened = new boolean[1];
        // compute: concurrent misses on one key open it once; a stale entry is replaced (and wiped)
        CachedMaterial fresh = cache.asMap().compute(id, (key, old) -> {
            if (old != null && old.openedFrom(stored.sealed()) && !old.isWiped()) {
                return old;
            }
            opened[0] = true;
            byte[] bytes = open(id, stored, opener);
            return new CachedMaterial(record.backend(), stored.sealed(), bytes, confirmedAt(id, record));
        });
        if (opened[0]) {
            counters.loads.increment();
            counters.size.increment();
            if (settings.tier(metadata.type()).recordsCached() && !current(id, record)) {
                // a write invalidated the key while this reader opened it: keep no material for it
                cache.asMap().remove(id, fresh);
            }
        }
        byte[] copy = fresh.copy();
        // null: evicted and wiped already (a cache smaller than its readers); open for this caller alone
        return KeyMaterial.wrap(copy != null ? copy : open(id, stored, opener));
    }

    // --------------------------------------------------------------- invalidation

    /**
     * Runs a write of one key, then invalidates the key whether the write succeeded or failed (a
     * write that failed may still have reached the backend). When this returns, no read serves what
     * was cached before the write.
     */
    public <T> T afterWrite(KeyId id, Supplier<T> write) {
        try {
            return write.get();
        } finally {
            invalidate(id);
        }
    }

    /**
     * Forgets one key version in both layers (its material is wiped). A load of the key under way is
     * waited for and its result removed as well.
     */
    public void invalidate(KeyId id) {
        Validation.required("keyId", id);
        if (records == null) {
            return;
        }
        records.invalidate(id);
        for (Cache<KeyId, CachedMaterial> cache : material.values()) {
            cache.invalidate(id);
        }
    }

    /** Forgets every version of a name (a scan of the cache: for rare, wide writes). */
    public void invalidateName(String name) {
        Validation.keyName(name);
        broad(new Broad(0, name, null), e -> name.equals(e.getKey().name()), m -> name.equals(m.getKey().name()));
    }

    /** Forgets every key read from a backend (the backend left, or was replaced). */
    public void invalidateBackend(String backend) {
        Validation.required("backend", backend);
        broad(new Broad(0, null, backend), e -> backend.equals(e.getValue().record.backend()),
                m -> backend.equals(m.getValue().backend()));
    }

    /** Forgets everything; every opened key is wiped. */
    public void invalidateAll() {
        if (records == null) {
            return;
        }
        remember(new Broad(0, null, null));
        records.invalidateAll();
        for (Cache<KeyId, CachedMaterial> cache : material.values()) {
            cache.invalidateAll();
        }
    }

    /** Applies pending removals (expiry, size, unconfirmed material) now; their material is wiped. */
    public void cleanUp() {
        if (records != null) {
            records.cleanUp();
        }
        sweepUnconfirmed();
        material.values().forEach(Cache::cleanUp);
    }

    private void sweepUnconfirmed() {
        unconfirmed.sweep(material.values().stream().map(c -> c.asMap().values()).toList(), ticker.read());
    }

    /** Empties both layers, wiping every opened key; stops the ticker's thread. */
    @Override
    public void close() {
        closed = true;
        unconfirmed.close();
        invalidateAll();
        if (ownTicker != null) {
            ownTicker.close();
        }
    }

    // --------------------------------------------------------------- statistics

    public CacheSnapshot statistics() {
        List<CacheStatistics> out = new ArrayList<>();
        for (KeyType type : KeyType.values()) {
            out.add(recordCounters.get(type).stats(Layer.RECORDS, type));
        }
        for (KeyType type : KeyType.values()) {
            out.add(materialCounters.get(type).stats(Layer.MATERIAL, type));
        }
        return new CacheSnapshot(enabled(), out, failedLoads.sum());
    }

    /** Test seam: the array the material cache holds for a key (not a copy), or null. */
    byte[] heldMaterialForTest(KeyId id) {
        for (Cache<KeyId, CachedMaterial> cache : material.values()) {
            CachedMaterial entry = cache.getIfPresent(id);
            if (entry != null) {
                return entry.heldArrayForTest();
            }
        }
        return null;
    }

    // --------------------------------------------------------------- internals

    private CachedRecord cachedRecord(KeyId id, Function<KeyId, CachedRecord> loader) {
        Validation.required("keyId", id);
        if (records == null) {
            return checked(id, loader.apply(id));
        }
        RecordEntry present = records.getIfPresent(id); // the hit path: no loader captured, nothing allocated
        if (present != null && stillValid(id, present)) {
            if (confirmedRecently(present)) {
                recordCounters.get(present.tier).hits.increment();
                return present.record;
            }
            return revalidated(id, present, loader);
        }
        while (true) {
            boolean[] loaded = new boolean[1];
            RecordEntry entry;
            try {
                entry = records.get(id, key -> {
                    long current = number; // before the read: a broad invalidation after it is noticed
                    long readAt = ticker.read();
                    RecordEntry fresh = new RecordEntry(checked(key, loader.apply(key)), current, readAt);
                    loaded[0] = true;
                    return fresh;
                });
            } catch (RuntimeException e) {
                failedLoads.increment();
                throw e;
            }
            Counters counters = recordCounters.get(entry.tier);
            if (loaded[0]) {
                counters.misses.increment();
                counters.loads.increment();
                counters.size.increment();
                return entry.record;
            }
            if (stillValid(id, entry)) {
                counters.hits.increment();
                return entry.record;
            }
            // loaded before a broad invalidation that covers it: drop it and load again
            records.asMap().remove(id, entry);
        }
    }

    /** True if the backend confirmed the entry within the revocation bound (always, without one). */
    private boolean confirmedRecently(RecordEntry entry) {
        return revalidateNanos == 0 || ticker.read() - entry.confirmed < revalidateNanos;
    }

    /**
     * Reads a record older than the revocation bound again from its backend before it is served:
     * concurrent readers of the key make one read (the others wait for it and take its result). The
     * same record (metadata and sealed bytes) is kept and counts as confirmed now, its opened material
     * with it; a changed record replaces it, and the key's opened material is wiped (a key RETIRED or
     * expired elsewhere is then refused by the lifecycle rules at this read). A key gone from its
     * backend leaves both layers. A read that fails reaches the caller and the stale record is not
     * served: what the bound promises holds while the backend cannot be asked, too.
     */
    private CachedRecord revalidated(KeyId id, RecordEntry stale, Function<KeyId, CachedRecord> loader) {
        Counters counters = recordCounters.get(stale.tier);
        RuntimeException[] failure = new RuntimeException[1];
        boolean[] changed = new boolean[1];
        RecordEntry now = records.asMap().compute(id, (key, old) -> {
            if (old != null && confirmedRecently(old)) {
                return old; // another reader confirmed (or replaced) it while this one waited
            }
            long current = number;
            long readAt = ticker.read();
            CachedRecord read;
            try {
                read = checked(key, loader.apply(key));
            } catch (RuntimeException e) {
                failure[0] = e;
                // absent now: forget it; any other failure keeps the entry, unconfirmed, for the next reader to try
                return e instanceof org.openkcm.keystore.api.KeyNotFoundException ? null : old;
            }
            counters.loads.increment();
            if (old != null && sameRecord(old.record, read)) {
                old.confirmed = readAt;
                return old;
            }
            changed[0] = true;
            return new RecordEntry(read, current, readAt);
        });
        if (failure[0] != null) {
            failedLoads.increment();
            if (now == null) {
                wipeMaterial(id);
            }
            throw failure[0];
        }
        if (changed[0]) {
            counters.misses.increment();
            counters.size.increment();
            wipeMaterial(id); // opened from a record that is no longer the backend's
        } else {
            counters.hits.increment();
            materialConfirmed(id, now);
        }
        return now.record;
    }

    /** When the backend last confirmed the record the material is opened from (now, if no entry holds it). */
    private long confirmedAt(KeyId id, CachedRecord record) {
        RecordEntry entry = records.policy().getIfPresentQuietly(id);
        return entry != null && entry.record == record ? entry.confirmed : ticker.read();
    }

    /** The record was confirmed: its opened material, if still cached, is kept for another stretch. */
    private void materialConfirmed(KeyId id, RecordEntry confirmed) {
        Cache<KeyId, CachedMaterial> cache = materialByTier[confirmed.tier.ordinal()];
        CachedMaterial entry = cache == null ? null : cache.policy().getIfPresentQuietly(id);
        if (entry != null && entry.openedFrom(confirmed.record.stored().sealed())) {
            entry.confirmed(confirmed.confirmed);
        }
    }

    private static boolean sameRecord(CachedRecord a, CachedRecord b) {
        return a.backend().equals(b.backend()) && a.stored().metadata().equals(b.stored().metadata())
                && a.stored().sealed().equals(b.stored().sealed());
    }

    private void wipeMaterial(KeyId id) {
        for (Cache<KeyId, CachedMaterial> cache : material.values()) {
            cache.invalidate(id);
        }
    }

    /** True if the record cache still holds this very record for the key. */
    private boolean current(KeyId id, CachedRecord record) {
        RecordEntry entry = records.policy().getIfPresentQuietly(id);
        return entry != null && entry.record == record;
    }

    private static CachedRecord checked(KeyId id, CachedRecord record) {
        Validation.required("record", record);
        KeyId returned = record.stored().metadata().id();
        if (!returned.equals(id)) {
            throw new IntegrityException(id, "the backend returned the record of key " + returned + " for this id");
        }
        return record;
    }

    private boolean stillValid(KeyId id, RecordEntry entry) {
        long current = number;
        long checked = entry.checked;
        if (checked == current) {
            return true;
        }
        Broad[] history = broads; // holds every broad invalidation up to current
        if (history.length == 0 || history[0].number() > checked + 1) {
            return false; // some invalidations since the entry was checked are forgotten: assume they matched
        }
        for (Broad b : history) {
            if (b.number() > checked && b.number() <= current && b.matches(id, entry.record.backend())) {
                return false;
            }
        }
        entry.checked = current;
        return true;
    }

    private void broad(Broad what, Predicate<Map.Entry<KeyId, RecordEntry>> recordMatch,
            Predicate<Map.Entry<KeyId, CachedMaterial>> materialMatch) {
        if (records == null) {
            return;
        }
        remember(what);
        records.asMap().entrySet().removeIf(recordMatch);
        for (Cache<KeyId, CachedMaterial> cache : material.values()) {
            cache.asMap().entrySet().removeIf(materialMatch);
        }
    }

    private void remember(Broad what) {
        synchronized (broadLock) {
            long next = number + 1;
            Broad[] old = broads;
            int keep = Math.min(old.length, BROAD_HISTORY - 1);
            Broad[] grown = Arrays.copyOfRange(old, old.length - keep, old.length + 1);
            grown[keep] = new Broad(next, what.name(), what.backend());
            broads = grown;
            number = next;
        }
    }

    private void refuseIfNotServable(KeyId id, KeyMetadata metadata, Clock clock, Cache<KeyId, CachedMaterial> cache) {
        String refusal = null;
        if (metadata.status() == KeyStatus.RETIRED) {
            refusal = "the key is RETIRED; its material is no longer served";
        } else if (metadata.expiry().isPresent() && metadata.isExpiredAt(clock.instant())) {
            refusal = "the key expired at " + metadata.expiry().orElseThrow();
        }
        if (refusal != null) {
            if (cache != null) {
                cache.invalidate(id); // never to be served again: wipe it now
            }
            throw new PolicyRefusedException(id, refusal);
        }
    }

    private byte[] open(KeyId id, StoredKey stored, Opener opener) {
        try {
            return opener.open(stored);
        } catch (IntegrityException e) {
            if (records != null) {
                records.invalidate(id); // never serve that record again without reading it anew
            }
            throw e;
        }
    }
}
