package org.openkcm.keystore.core.cache;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.StoredKey;

import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;

/**
 * The key caches of the operations layer: a {@link RecordCache} (sealed records, below the envelope)
 * and a {@link MaterialCache} (opened material, above it) on one ticker, with the settings of
 * {@link CacheConfig}. This class only composes them:
 * <ul>
 * <li>a read of material reads the record through the record cache, applies the lifecycle rules on
 * the metadata it returns (a RETIRED or expired key is refused even when its material is cached, and
 * that material is wiped), then asks the material cache for the material of that very record;</li>
 * <li>material opened from a record the record cache let go of meanwhile (a write invalidated the key)
 * is not kept, and a record the record cache finds changed or gone at its backend when it revalidates
 * wipes the key's material;</li>
 * <li>a record that fails to open (integrity) leaves the record cache, to be read anew;</li>
 * <li>invalidations reach both, records first, so that material opened from a record read before an
 * invalidation is dropped by the check above.</li>
 * </ul>
 */
public final class KeyCache implements AutoCloseable {
    public static final String PID = "org.openkcm.keystore.cache";

    /** Opens a sealed record: returns a fresh array that the cache then owns. */
    @FunctionalInterface
    public interface Opener extends MaterialCache.Opener {
    }

    private final CacheSettings settings;
    private final RecordCache records;
    private final MaterialCache material;
    private final CoarseTicker ownTicker;

    /**
     * A cache with these settings. Times to live run on a {@link CoarseTicker} (10 ms resolution, a
     * thread of its own until {@link #close()}); expired material is wiped promptly by Caffeine's
     * system scheduler, and material whose record went unconfirmed by {@link UnconfirmedMaterial}'s
     * sweep (another thread until {@link #close()}).
     */
    public KeyCache(CacheSettings settings) {
        this(settings, settings.enabled() ? new CoarseTicker(CoarseTicker.RESOLUTION) : Ticker.systemTicker(),
                Scheduler.systemScheduler());
        material.startSweep();
    }

    /** Tests: a fake ticker, no scheduler and no sweep (expiry and the sweep are applied when the cache is cleaned). */
    KeyCache(CacheSettings settings, Ticker ticker, Scheduler scheduler) {
        this.settings = settings;
        this.ownTicker = ticker instanceof CoarseTicker coarse ? coarse : null;
        this.material = new MaterialCache(settings, ticker, scheduler, this::stillCurrent);
        // a record the record cache finds changed or gone at its backend: the material opened from it is wiped
        this.records = new RecordCache(settings, ticker, material::invalidate);
    }

    public CacheSettings settings() {
        return settings;
    }

    public boolean enabled() {
        return records.enabled();
    }

    // --------------------------------------------------------------- reads

    /**
     * The sealed record and metadata of a key: from the record cache, or from the loader (see
     * {@link RecordCache#record}).
     */
    public StoredKey record(KeyId id, Function<KeyId, CachedRecord> loader) {
        return records.record(id, loader).stored();
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
        CachedRecord record = records.record(id, loader);
        refuseIfNotServable(id, record.stored().metadata(), clock);
        try {
            return material.material(id, record, opener);
        } catch (IntegrityException e) {
            records.invalidate(id); // never serve that record again without reading it anew
            throw e;
        }
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
        records.invalidate(id);
        material.invalidate(id);
    }

    /** Forgets every version of a name (a scan of the cache: for rare, wide writes). */
    public void invalidateName(String name) {
        records.invalidateName(name);
        material.invalidateName(name);
    }

    /** Forgets every key read from a backend (the backend left, or was replaced). */
    public void invalidateBackend(String backend) {
        records.invalidateBackend(backend);
        material.invalidateBackend(backend);
    }

    /** Forgets everything; every opened key is wiped. */
    public void invalidateAll() {
        records.invalidateAll();
        material.invalidateAll();
    }

    /** Applies pending removals (expiry, size, unconfirmed material) now; their material is wiped. */
    public void cleanUp() {
        records.cleanUp();
        material.cleanUp();
    }

    /** Empties both layers, wiping every opened key; stops the ticker's thread. */
    @Override
    public void close() {
        material.close(); // first: from now on it keeps nothing a reader still opens
        records.close();
        if (ownTicker != null) {
            ownTicker.close();
        }
    }

    // --------------------------------------------------------------- statistics

    public CacheSnapshot statistics() {
        List<CacheStatistics> out = new ArrayList<>(records.statistics());
        out.addAll(material.statistics());
        return new CacheSnapshot(enabled(), out, records.failedLoads());
    }

    /** Test seam: the array the material cache holds for a key (not a copy), or null. */
    byte[] heldMaterialForTest(KeyId id) {
        return material.heldMaterialForTest(id);
    }

    // --------------------------------------------------------------- internals

    /** After an open: true unless the record cache keeps the key's records and has let go of this one. */
    private boolean stillCurrent(KeyId id, CachedRecord record) {
        return !settings.tier(record.stored().metadata().type()).recordsCached() || records.holds(id, record);
    }

    private void refuseIfNotServable(KeyId id, KeyMetadata metadata, Clock clock) {
        try {
            Servable.check(id, metadata, clock);
        } catch (PolicyRefusedException refused) {
            material.invalidate(id); // never to be served again: wipe it now
            throw refused;
        }
    }
}
