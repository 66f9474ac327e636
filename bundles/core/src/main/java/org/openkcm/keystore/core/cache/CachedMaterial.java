package org.openkcm.keystore.core.cache;

import java.util.Arrays;
import java.util.concurrent.locks.StampedLock;

import org.openkcm.keystore.api.SealedKey;

/**
 * One opened key in the material cache: the bytes, owned by this entry and never handed out (a
 * reader gets a copy), and the sealed record they were opened from. {@link #wipe()} overwrites the
 * bytes; it runs when the entry leaves the cache for any reason (eviction, expiry, invalidation,
 * replacement).
 * <p>
 * The entry also holds the {@link CachedRecord} it was last served for: when the backend last
 * confirmed that record is when it last confirmed these bytes (see {@link UnconfirmedMaterial}).
 * <p>
 * Readers take no lock: a copy is made under an optimistic stamp and thrown away (wiped) if a wipe
 * ran meanwhile, so a reader never returns zeros in place of the material.
 */
final class CachedMaterial {
    private final String backend;
    private final SealedKey sealed;
    private final byte[] bytes;
    /** The record these bytes were opened from, or the one they were last served for (same sealed bytes). */
    private volatile CachedRecord source;
    private final StampedLock lock = new StampedLock();
    private boolean wiped; // written under the write lock

    /** Takes ownership of {@code bytes}, opened from {@code source}. */
    CachedMaterial(CachedRecord source, byte[] bytes) {
        this.backend = source.backend();
        this.sealed = source.stored().sealed();
        this.bytes = bytes;
        this.source = source;
    }

    /** Ticker time the backend last confirmed the record these bytes were opened from. */
    long confirmedAt() {
        return source.confirmedAt();
    }

    /**
     * The bytes were served for {@code record} (opened from the same sealed bytes): if it is another
     * instance than the one held, confirmed no earlier, its confirmations count from now on.
     */
    void servedFor(CachedRecord record) {
        CachedRecord held = source;
        if (record != held && record.confirmedAt() >= held.confirmedAt()) {
            source = record;
        }
    }

    String backend() {
        return backend;
    }

    /** True if these bytes were opened from exactly this record. */
    boolean openedFrom(SealedKey record) {
        return sealed == record || sealed.equals(record);
    }

    /** A copy of the bytes for a caller, or null if the entry was wiped. */
    byte[] copy() {
        long stamp = lock.tryOptimisticRead();
        if (stamp == 0 || wiped) {
            return null;
        }
        byte[] copy = bytes.clone();
        if (!lock.validate(stamp)) {
            Arrays.fill(copy, (byte) 0);
            return null;
        }
        return copy;
    }

    void wipe() {
        long stamp = lock.writeLock();
        try {
            wiped = true;
            Arrays.fill(bytes, (byte) 0);
        } finally {
            lock.unlockWrite(stamp);
        }
    }

    boolean isWiped() {
        long stamp = lock.readLock();
        try {
            return wiped;
        } finally {
            lock.unlockRead(stamp);
        }
    }

    /** Test seam: the array itself, to check that it is overwritten when the entry leaves. */
    byte[] heldArrayForTest() {
        return bytes;
    }
}
