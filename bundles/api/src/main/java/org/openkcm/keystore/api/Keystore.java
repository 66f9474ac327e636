package org.openkcm.keystore.api;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * The plugin contract: a storage backend for sealed key records. Every backend bundle registers
 * one service of this type per configured instance, with the properties of
 * {@link KeystoreProperties} and {@code service.ranking}.
 * <p>
 * A backend receives and returns only {@link SealedKey sealed records}: key material is encrypted
 * before it arrives. Every method is safe to call from many threads at once. Every failure is a
 * {@link KeystoreException} subclass. The SDK's conformance suite holds every backend to this page.
 */
@ConsumerType
public interface Keystore {

    /**
     * Stores a new key version. Create-only: if the id is already stored with a different record
     * or metadata, the store is refused; an identical retry succeeds and changes nothing.
     *
     * @throws KeyExistsException if a different record is stored under this id
     * @throws InvalidInputException if {@code metadata.id()} is not {@code id}
     */
    void storeKey(KeyId id, SealedKey sealed, KeyMetadata metadata);

    /**
     * The sealed record and metadata of a key version, exactly as stored or last updated.
     *
     * @throws KeyNotFoundException if the id is not stored
     */
    StoredKey retrieveKey(KeyId id);

    /**
     * Replaces the lifecycle fields of a key version (status, expiry, tags, updated time,
     * lifecycle MAC) by compare-and-set: {@code metadata.revision()} must be exactly one more than
     * the stored revision. A stale revision is refused and nothing changes. See
     * {@link Validation#metadataUpdate}.
     *
     * @return the metadata now stored
     * @throws KeyNotFoundException if the id is not stored
     * @throws ConflictException if the revision does not follow the stored one
     * @throws InvalidInputException if an immutable field differs from the stored metadata
     */
    KeyMetadata updateKeyMetadata(KeyId id, KeyMetadata metadata);

    /**
     * Replaces the sealed record of a key version with one that holds the same material under
     * another key-encryption key, if the stored revision is {@code expectedRevision}. The
     * metadata, revision included, is unchanged.
     *
     * @throws KeyNotFoundException if the id is not stored
     * @throws ConflictException if the stored revision is not {@code expectedRevision}
     */
    void rewrapKey(KeyId id, SealedKey sealed, long expectedRevision);

    /**
     * Deletes a key version permanently: once this returns, the backend can no longer produce
     * its record (no soft delete). The id may then be stored again as a new key.
     *
     * @return true if the key was stored and is now gone, false if it was not stored
     */
    boolean deleteKey(KeyId id);

    /** Metadata (never records) of the keys the filter matches, one page at a time, in {@link KeyId} order. */
    KeyPage listKeys(KeyFilter filter);

    /** Whether the backend can serve, answered within {@link KeystoreHealth#MAX_PROBE_TIME}. */
    KeystoreHealth health();
}
