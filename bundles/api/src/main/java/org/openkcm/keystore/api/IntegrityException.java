package org.openkcm.keystore.api;

/**
 * A record failed its integrity check: it was altered, moved to another id or rolled back.
 * No material is ever returned from such a record.
 */
public class IntegrityException extends KeystoreException {
    private static final long serialVersionUID = 1L;

    public IntegrityException(KeyId keyId, String what) {
        this(keyId, what, null);
    }

    public IntegrityException(KeyId keyId, String what, Throwable cause) {
        super("integrity check failed" + subject(keyId) + ": " + what, keyId, cause);
    }
}
