package org.openkcm.keystore.api;

import java.util.Arrays;

/**
 * A sealed record: key material after envelope encryption, opaque to every backend. Backends store
 * and return these bytes exactly; they cannot tell plaintext from ciphertext and must not need to.
 */
public final class SealedKey {
    private final byte[] bytes;

    private SealedKey(byte[] bytes) {
        this.bytes = Validation.sealedBytes(bytes).clone();
    }

    /** @throws InvalidInputException if the record is null or larger than {@link Validation#MAX_SEALED_BYTES} */
    public static SealedKey of(byte[] bytes) {
        return new SealedKey(bytes);
    }

    /** A copy of the sealed bytes. */
    public byte[] bytes() {
        return bytes.clone();
    }

    public int length() {
        return bytes.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SealedKey other && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return "SealedKey[" + bytes.length + " bytes]";
    }
}
