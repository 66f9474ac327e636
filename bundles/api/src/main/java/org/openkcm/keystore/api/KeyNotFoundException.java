package org.openkcm.keystore.api;

/** The key (id and version) does not exist, or was deleted. */
public class KeyNotFoundException extends KeystoreException {
    private static final long serialVersionUID = 1L;

    public KeyNotFoundException(KeyId keyId) {
        super("key " + keyId + " not found", keyId, null);
    }
}
