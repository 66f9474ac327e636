package org.openkcm.keystore.api;

/** The request was refused by a policy: the backend's access policy, or the key's lifecycle status. */
public class PolicyRefusedException extends KeystoreException {
    private static final long serialVersionUID = 1L;

    public PolicyRefusedException(KeyId keyId, String reason) {
        this(keyId, reason, null);
    }

    public PolicyRefusedException(KeyId keyId, String reason, Throwable cause) {
        super("refused by policy" + subject(keyId) + ": " + reason, keyId, cause);
    }
}
