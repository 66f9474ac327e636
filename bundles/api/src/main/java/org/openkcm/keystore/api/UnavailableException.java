package org.openkcm.keystore.api;

/** The backend (or the route to it) cannot serve the request now; retrying later may succeed. */
public class UnavailableException extends KeystoreException {
    private static final long serialVersionUID = 1L;

    public UnavailableException(String what) {
        this(what, null, null);
    }

    public UnavailableException(String what, KeyId keyId, Throwable cause) {
        super("unavailable" + subject(keyId) + ": " + what, keyId, cause);
    }
}
