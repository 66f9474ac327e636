package org.openkcm.keystore.api;

import java.util.Optional;

/**
 * The root of every failure the keystore reports. Each subclass names one kind of failure the
 * design's contract lists; messages say what failed and for which key, never any key material.
 */
public abstract class KeystoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient KeyId keyId;

    protected KeystoreException(String message, KeyId keyId, Throwable cause) {
        super(message, cause);
        this.keyId = keyId;
    }

    /** The key the failure concerns, when there is one. */
    public Optional<KeyId> keyId() {
        return Optional.ofNullable(keyId);
    }

    static String subject(KeyId keyId) {
        return keyId == null ? "" : " (key " + keyId + ")";
    }
}
