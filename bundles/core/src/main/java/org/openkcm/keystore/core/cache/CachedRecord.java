package org.openkcm.keystore.core.cache;

import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.Validation;

/**
 * What a record load returns: the sealed record and metadata of a key, and the {@code keystore.name}
 * of the backend it was read from (for {@link KeyCache#invalidateBackend}). Ciphertext only.
 */
public record CachedRecord(String backend, StoredKey stored) {
    public CachedRecord {
        Validation.required("backend", backend);
        Validation.required("stored", stored);
    }
}
