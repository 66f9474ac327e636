package org.openkcm.keystore.api;

/** A compare-and-set was refused: the caller's revision is not the stored one. Nothing was changed. */
public class ConflictException extends KeystoreException {
    private static final long serialVersionUID = 1L;

    private final long expectedRevision;
    private final long storedRevision;

    public ConflictException(KeyId keyId, long expectedRevision, long storedRevision) {
        super("revision conflict on key " + keyId + ": expected revision " + expectedRevision
                + " but the stored revision is " + storedRevision, keyId, null);
        this.expectedRevision = expectedRevision;
        this.storedRevision = storedRevision;
    }

    public long expectedRevision() {
        return expectedRevision;
    }

    public long storedRevision() {
        return storedRevision;
    }
}
