package org.openkcm.keystore.core.sealing;

import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.StoredKey;

/**
 * How an administrative pass (KEK re-wrap, migration) reads a record it will write back or copy,
 * and records what it wrote: through the same checks as {@code get} (the id, the lifecycle MAC, and
 * a revision not older than one this runtime has seen), so that a pass can never turn a record that
 * was rolled back into one that looks current.
 */
public interface CheckedReads {

    /**
     * The key's record as the backend holds it, checked.
     *
     * @throws org.openkcm.keystore.api.IntegrityException if it belongs to another id, fails its
     *             lifecycle MAC, or is at a revision older than one seen before (rolled back)
     */
    StoredKey read(KeyId id, Keystore from);

    /** Records metadata the pass stored, so that a later read of an older revision is a rollback. */
    void wrote(KeyMetadata written);

    /** No checks: the record as the backend returns it (tests of the passes themselves). */
    static CheckedReads unchecked() {
        return new CheckedReads() {
            @Override
            public StoredKey read(KeyId id, Keystore from) {
                return from.retrieveKey(id);
            }

            @Override
            public void wrote(KeyMetadata written) {
            }
        };
    }
}
