package org.openkcm.keystore.api;

import java.time.Instant;
import java.util.Map;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The service callers and OSGi appliances use; implemented by the core bundle alone. It validates
 * input, seals material before any backend sees it, opens it on the way back, routes each key to a
 * backend and enforces the lifecycle rules: DEPRECATED keys open but take no new work; RETIRED and
 * expired keys are refused at retrieval.
 */
@ProviderType
public interface KeystoreOperations {

    /** Generates fresh material for the spec and stores it as version 1, ACTIVE. */
    KeyMetadata generate(KeySpec spec);

    /** Stores the given material (which the caller still owns and should close) as version 1, ACTIVE. */
    KeyMetadata importKey(KeySpec spec, KeyMaterial material);

    /**
     * The opened material of an ACTIVE or DEPRECATED, unexpired key version. Close it when done.
     *
     * @throws PolicyRefusedException if the key is RETIRED or expired
     * @throws IntegrityException if the record was tampered with
     */
    KeyMaterial get(KeyId id);

    /** The metadata of a key version, whatever its status. */
    KeyMetadata metadata(KeyId id);

    /** Creates the next version of the named key with fresh material (ACTIVE) and deprecates the previous one. */
    KeyMetadata rotate(String name);

    /** Changes the status of a key version, if {@code expectedRevision} is its current revision. */
    KeyMetadata changeStatus(KeyId id, KeyStatus status, long expectedRevision);

    /** Changes (or with null, removes) the expiry of a key version, by compare-and-set on its revision. */
    KeyMetadata changeExpiry(KeyId id, Instant expiry, long expectedRevision);

    /** Replaces the tags of a key version, by compare-and-set on its revision. */
    KeyMetadata changeTags(KeyId id, Map<String, String> tags, long expectedRevision);

    /** Deletes one key version permanently; false if it did not exist. */
    boolean delete(KeyId id);

    /** Deletes every version of the named key permanently; returns how many were deleted. */
    int deleteAllVersions(String name);

    /** Metadata of the keys the filter matches, one page at a time. */
    KeyPage list(KeyFilter filter);
}
