package org.openkcm.keystore.api;

/** A store was refused because a different record already exists under the same id and version. */
public class KeyExistsException extends KeystoreException {
    private static final long serialVersionUID = 1L;

    public KeyExistsException(KeyId keyId) {
        super("key " + keyId + " already exists with a different record; keys are create-only", keyId, null);
    }
}
