package org.openkcm.keystore.api;

import java.util.Objects;

/** What a backend holds for one key version: the sealed record and its metadata. */
public final class StoredKey {
    private final SealedKey sealed;
    private final KeyMetadata metadata;

    private StoredKey(SealedKey sealed, KeyMetadata metadata) {
        this.sealed = Validation.required("sealed", sealed);
        this.metadata = Validation.required("metadata", metadata);
    }

    public static StoredKey of(SealedKey sealed, KeyMetadata metadata) {
        return new StoredKey(sealed, metadata);
    }

    public SealedKey sealed() {
        return sealed;
    }

    public KeyMetadata metadata() {
        return metadata;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StoredKey other && sealed.equals(other.sealed) && metadata.equals(other.metadata);
    }

    @Override
    public int hashCode() {
        return Objects.hash(sealed, metadata);
    }

    @Override
    public String toString() {
        return "StoredKey[" + metadata.id() + ", " + sealed + "]";
    }
}
