package org.openkcm.keystore.api;

import java.util.List;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A key-encryption key (KEK) ring: the keys that wrap the per-record data keys of the envelope.
 * Implemented by KEK provider bundles (a local key file, an environment variable or file
 * reference, and later a KMS or HSM), so it is {@link ConsumerType}.
 * <p>
 * A provider never hands out its KEK bytes: it wraps and unwraps data keys and computes MACs, and
 * its callers record only its {@link #kekId() id} and the version used. Several versions may be
 * present: new records are sealed under {@link #currentVersion()}, every version present still
 * opens what it sealed, so a ring rotates without touching material. Every method is safe to call
 * from many threads at once; every failure is a {@link KeystoreException} subclass whose message
 * never includes key bytes.
 * <p>
 * Providers register with the service property {@link #KEK_ID} set to {@link #kekId()}.
 */
@ConsumerType
public interface KekProvider {

    /** The service property that carries {@link #kekId()}, for target filters. */
    String KEK_ID = "kek.id";

    /** Longest KEK id: it is recorded in every sealed record and lifecycle MAC. */
    int MAX_KEK_ID_LENGTH = 64;

    /** Length in bytes of a data key that {@link #wrap} accepts and {@link #unwrap} returns. */
    int DATA_KEY_BYTES = 32;

    /** Length in bytes of what {@link #mac} returns (HMAC-SHA256). */
    int MAC_BYTES = 32;

    /**
     * The stable id of this ring, recorded in every record it wraps: an identifier as
     * {@link Validation#identifier} defines it, at most {@link #MAX_KEK_ID_LENGTH} characters.
     */
    String kekId();

    /** The versions present, ascending; never empty. */
    List<Integer> versions();

    /** The version new wraps and MACs use: the newest one present. */
    int currentVersion();

    /**
     * Wraps a {@link #DATA_KEY_BYTES}-byte data key under the given KEK version.
     *
     * @return the wrapped key, at most 255 bytes; the caller still owns (and wipes) {@code dataKey}
     * @throws UnavailableException if the version is not present
     * @throws InvalidInputException if the data key has the wrong length
     */
    byte[] wrap(int version, byte[] dataKey);

    /**
     * Unwraps what {@link #wrap} returned under the same version.
     *
     * @return the data key, which the caller must wipe when done
     * @throws UnavailableException if the version is not present
     * @throws IntegrityException if the wrapped key was altered or wrapped under another KEK
     */
    byte[] unwrap(int version, byte[] wrapped);

    /**
     * A {@link #MAC_BYTES}-byte HMAC-SHA256 of {@code data} under a MAC key derived from the given
     * KEK version (never the KEK itself), used to authenticate the lifecycle fields of metadata.
     *
     * @throws UnavailableException if the version is not present
     */
    byte[] mac(int version, byte[] data);
}
