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
 * Readers take no lock: a copy is made under an optimistic stamp and thrown away (wiped) if a wipe
 * ran meanwhile, so a reader never returns zeros in place of the material.
 */
final class CachedMaterial {
    private final String backend;
    private final SealedKey sealed;
    private final byte[] bytes;
    /** Ticker time the backend last confirmed the record these bytes were opened from. */
    private volatile long confirmedAt;
    private final StampedLock lock = new StampedLock();
    private boolean wiped; // written under the write lock

    /** Takes ownership of {@code bytes}. */
    CachedMaterial(String backend, SealedKey sealed, byte[] bytes, long confirmedAt) {
        this.backend = backend;
        this.sealed = sealed;
        this.bytes = bytes;
        this.confirmedAt = confirmedAt;
    }

    long confirmedAt() {
        return confirmedAt;
    }

    /** The backend confirmed the record again (at ticker time {@code at}): see {@link UnconfirmedMaterial}. */
    void confirmed(long at) {
        if (at > confirmedAt) {
            confirmedAt = at;
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
