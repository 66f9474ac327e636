package org.openkcm.keystore.core.cache;

import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.Validation;

/**
 * What a record load returns: the sealed record and metadata of a key, and the {@code keystore.name}
 * of the backend it was read from (for {@link RecordCache#invalidateBackend}). Ciphertext only.
 * <p>
 * It also carries when (ticker time of the {@link RecordCache}) its backend last confirmed it: the
 * record cache notes that when it reads the record ("confirmed now") and again each time a
 * revalidation finds the backend still holding this same record. The {@link MaterialCache} learns of
 * confirmations through the instance its material was opened from, so that opened material of a key
 * that is still read outlives the {@link UnconfirmedMaterial unconfirmed window}.
 * <p>
 * Equality is identity: two loads of the same bytes are two records, each with its own confirmation
 * ({@link #sameAs} compares the content).
 */
public final class CachedRecord {
    /** The confirmation time of a record no record cache has read yet. */
    static final long UNCONFIRMED = Long.MIN_VALUE;

    private final String backend;
    private final StoredKey stored;
    private volatile long confirmedAt = UNCONFIRMED;

    public CachedRecord(String backend, StoredKey stored) {
        Validation.required("backend", backend);
        Validation.required("stored", stored);
        this.backend = backend;
        this.stored = stored;
    }

    /** The {@code keystore.name} of the backend the record was read from. */
    public String backend() {
        return backend;
    }

    /** The sealed record and its metadata, as the backend returned them. */
    public StoredKey stored() {
        return stored;
    }

    /** Ticker time the backend last confirmed this record, or {@link #UNCONFIRMED}. */
    long confirmedAt() {
        return confirmedAt;
    }

    /** The backend holds this record at ticker time {@code at}; a time before the last one is ignored. */
    void confirmed(long at) {
        if (at > confirmedAt) {
            confirmedAt = at;
        }
    }

    /** True if the other record has the same backend, metadata and sealed bytes. */
    boolean sameAs(CachedRecord other) {
        return backend.equals(other.backend) && stored.metadata().equals(other.stored.metadata())
                && stored.sealed().equals(other.stored.sealed());
    }

    @Override
    public String toString() {
        return "CachedRecord[" + stored.metadata().id() + " from " + backend + "]";
    }
}
