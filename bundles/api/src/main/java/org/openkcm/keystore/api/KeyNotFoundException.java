package org.openkcm.keystore.api;

/** The key (id and version) does not exist, or was deleted. */
public class KeyNotFoundException extends KeystoreException {
    private static final long serialVersionUID = 1L;

    public KeyNotFoundException(KeyId keyId) {
        super("key " + keyId + " not found", keyId, null);
    }

    /**
     * No version of the named key exists.
     *
     * @since 1.1
     */
    public KeyNotFoundException(String keyName) {
        super("key " + keyName + " not found: no version of it exists", null, null);
    }
}
