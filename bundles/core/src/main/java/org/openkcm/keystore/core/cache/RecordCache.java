package org.openkcm.keystore.core.cache;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.api.CacheStatistics.Layer;
import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Validation;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;

/**
 * The record cache, below the envelope: the sealed record and metadata of each key, as its backend
 * returned them, with the backend's name ({@link CachedRecord}). Ciphertext only; nothing here opens
 * a record.
 * <p>
 * One Caffeine cache for every tier, so that concurrent misses on one key make one backend read
 * whatever the key's tier ({@link Cache#get} with a loader runs the loader once while the others
 * wait), and so that {@link #invalidate(KeyId)} waits for a load of that key under way and removes its
 * result: a read that raced a write cannot leave the value from before the write behind. The time to
 * live is set per tier ({@link Expiry}); a load that fails (backend down, key absent) caches nothing.
 * <p>
 * With a revocation bound ({@link CacheSettings#revalidateAfter()}), a record the backend has not
 * confirmed within the bound is read again before it is served: the same record is kept and noted as
 * confirmed ({@link CachedRecord#confirmed}), a changed one replaces it, and a key gone from its
 * backend leaves the cache; for the last two the {@link Listener} is told.
 * <p>
 * Invalidation by key is exact. Invalidation by name, backend or everything also covers loads under
 * way: each such invalidation is numbered, each entry remembers the number current when its load
 * began, and an entry loaded before a later broad invalidation that matches it is loaded again instead
 * of served. A broad invalidation removes no entry itself (those it matches leave at their next read,
 * or by time to live or size), so it never waits for a load under way: it is called on the framework
 * thread that takes a backend away or changes the routing policy, and a load under way may be waiting,
 * inside its entry's slot of the map, for that backend to come back, which it cannot do before that
 * thread returns.
 */
public final class RecordCache implements AutoCloseable {
    /** How many broad invalidations are remembered; an entry older than all of them is reloaded. */
    static final int BROAD_HISTORY = 64;

    /** Told when a revalidation learns that the backend no longer holds a record this cache held. */
    @FunctionalInterface
    public interface Listener {
        /** The key's record changed at its backend, or the key is gone from it. */
        void superseded(KeyId id);
    }

    /** An entry: the record, its tier, and the broad-invalidation number it was checked against. */
    private static final class RecordEntry {
        final CachedRecord record;
        final KeyType tier;
        volatile long checked;

        RecordEntry(CachedRecord record, long checked) {
            this.record = record;
            this.tier = record.stored().metadata().type();
            this.checked = checked;
        }
    }

    /** An invalidation of many keys: all of them, a name's versions, or a backend's keys. */
    private record Broad(long number, String name, String backend) {
        boolean matches(KeyId id, String from) {
            return (name == null && backend == null) || (name != null && name.equals(id.name()))
                    || (backend != null && backend.equals(from));
        }
    }

    private final Cache<KeyId, RecordEntry> records; // null: the cache is off
    private final TierCounters[] counters = new TierCounters[KeyType.values().length]; // by ordinal
    private final LongAdder failedLoads = new LongAdder();
    private final Ticker ticker;
    /** The revocation bound in ticker nanoseconds; 0: never revalidated before the time to live ends. */
    private final long revalidateNanos;
    private final Listener listener;

    private final Object broadLock = new Object();
    // written under broadLock: broads first, then number, so a reader of number sees every broad up to it
    private volatile Broad[] broads = new Broad[0];
    private volatile long number;

    /**
     * A record cache with these settings (off if they disable the cache: every read then goes to the
     * loader).
     *
     * @param ticker the clock of the times to live and of confirmations; the caller owns it
     * @param listener told of records a revalidation found changed or gone
     */
    RecordCache(CacheSettings settings, Ticker ticker, Listener listener) {
        this.ticker = ticker;
        this.listener = listener;
        this.revalidateNanos = settings.revalidateAfter().toNanos();
        for (KeyType type : KeyType.values()) {
            counters[type.ordinal()] = new TierCounters();
        }
        if (!settings.enabled()) {
            records = null;
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
                        counters[value.tier.ordinal()].removed(cause);
                    }
                })
                .build();
    }

    public boolean enabled() {
        return records != null;
    }

    // --------------------------------------------------------------- reads

    /**
     * The sealed record and metadata of a key: from the cache, or from the loader. Concurrent misses
     * on one key run the loader once. A loader that throws caches nothing, and its exception reaches
     * every caller that waited for it. The loader should verify what it read (only verified records
     * are worth caching). A record the loader returns counts as confirmed by its backend now.
     *
     * @throws IntegrityException if the loader returns the record of another key
     */
    public CachedRecord record(KeyId id, Function<KeyId, CachedRecord> loader) {
        Validation.required("keyId", id);
        if (records == null) {
            return checked(id, loader.apply(id)); // unconfirmed: the material cache is off too
        }
        RecordEntry present = records.getIfPresent(id); // the hit path: no loader captured, nothing allocated
        if (present != null && stillValid(id, present)) {
            if (confirmedRecently(present)) {
                counters[present.tier.ordinal()].hits.increment();
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
                    CachedRecord read = checked(key, loader.apply(key));
                    read.confirmed(readAt);
                    loaded[0] = true;
                    return new RecordEntry(read, current);
                });
            } catch (RuntimeException e) {
                failedLoads.increment();
                throw e;
            }
            TierCounters tier = counters[entry.tier.ordinal()];
            if (loaded[0]) {
                tier.misses.increment();
                tier.loads.increment();
                tier.size.increment();
                return entry.record;
            }
            if (stillValid(id, entry)) {
                tier.hits.increment();
                return entry.record;
            }
            // loaded before a broad invalidation that covers it: drop it and load again
            records.asMap().remove(id, entry);
        }
    }

    /**
     * True if the cache's entry for the key is this very record (not an equal one): it was neither
     * invalidated nor replaced since the cache returned it. Does not count as a read.
     */
    public boolean holds(KeyId id, CachedRecord record) {
        if (records == null) {
            return false;
        }
        RecordEntry entry = records.policy().getIfPresentQuietly(id);
        return entry != null && entry.record == record;
    }

    // --------------------------------------------------------------- invalidation

    /** Forgets one key version. A load of the key under way is waited for and its result removed as well. */
    public void invalidate(KeyId id) {
        Validation.required("keyId", id);
        if (records != null) {
            records.invalidate(id);
        }
    }

    /** Forgets every version of a name, loads under way too; waits for none (see the class comment). */
    public void invalidateName(String name) {
        Validation.keyName(name);
        broad(new Broad(0, name, null));
    }

    /** Forgets every key read from a backend (it left, or was replaced), loads under way too; waits for none. */
    public void invalidateBackend(String backend) {
        Validation.required("backend", backend);
        broad(new Broad(0, null, backend));
    }

    /** Forgets everything, loads under way too; waits for none. */
    public void invalidateAll() {
        broad(new Broad(0, null, null));
    }

    /** Applies pending removals (expiry, size) now. */
    public void cleanUp() {
        if (records != null) {
            records.cleanUp();
        }
    }

    /** Empties the cache (a load under way is waited for: a closed cache is not read again). */
    @Override
    public void close() {
        if (records != null) {
            remember(new Broad(0, null, null));
            records.invalidateAll();
        }
    }

    // --------------------------------------------------------------- statistics

    /** The counters of each tier, {@link Layer#RECORDS}. */
    public List<CacheStatistics> statistics() {
        List<CacheStatistics> out = new ArrayList<>();
        for (KeyType type : KeyType.values()) {
            out.add(counters[type.ordinal()].stats(Layer.RECORDS, type));
        }
        return out;
    }

    /** Loads that failed (backend down, key absent, integrity), first reads and revalidations alike. */
    public long failedLoads() {
        return failedLoads.sum();
    }

    // --------------------------------------------------------------- internals

    /** True if the backend confirmed the entry within the revocation bound (always, without one). */
    private boolean confirmedRecently(RecordEntry entry) {
        return revalidateNanos == 0 || ticker.read() - entry.record.confirmedAt() < revalidateNanos;
    }

    /**
     * Reads a record older than the revocation bound again from its backend before it is served:
     * concurrent readers of the key make one read (the others wait for it and take its result). The
     * same record (metadata and sealed bytes) is kept and counts as confirmed now; a changed record
     * replaces it, and the listener is told. A key gone from its backend leaves the cache (the listener
     * is told). A read that fails reaches the caller and the stale record is not served: what the bound
     * promises holds while the backend cannot be asked, too.
     */
    private CachedRecord revalidated(KeyId id, RecordEntry stale, Function<KeyId, CachedRecord> loader) {
        TierCounters tier = counters[stale.tier.ordinal()];
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
                return e instanceof KeyNotFoundException ? null : old;
            }
            tier.loads.increment();
            if (old != null && old.record.sameAs(read)) {
                old.record.confirmed(readAt);
                return old;
            }
            changed[0] = true;
            read.confirmed(readAt);
            return new RecordEntry(read, current);
        });
        if (failure[0] != null) {
            failedLoads.increment();
            if (now == null) {
                listener.superseded(id);
            }
            throw failure[0];
        }
        if (changed[0]) {
            tier.misses.increment();
            tier.size.increment();
            listener.superseded(id);
        } else {
            tier.hits.increment();
        }
        return now.record;
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

    /** Numbers a broad invalidation: every entry it matches is unservable from now on ({@link #stillValid}). */
    private void broad(Broad what) {
        if (records != null) {
            remember(what);
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
}
