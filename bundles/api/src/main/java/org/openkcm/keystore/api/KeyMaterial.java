package org.openkcm.keystore.api;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Plaintext key material, held briefly. Close it as soon as it is used (try-with-resources): its
 * bytes are overwritten with zeros. It never reveals its bytes through {@code toString},
 * {@code equals} or serialization.
 */
public final class KeyMaterial implements AutoCloseable {
    private final byte[] bytes;
    private volatile boolean closed;

    private KeyMaterial(byte[] bytes) {
        this.bytes = bytes;
    }

    /** Material holding a copy of the given bytes; the caller still owns (and should wipe) its array. */
    public static KeyMaterial copyOf(byte[] bytes) {
        return new KeyMaterial(Validation.required("material", bytes).clone());
    }

    /** Material that takes ownership of the array: it is wiped when this material is closed. */
    public static KeyMaterial wrap(byte[] bytes) {
        return new KeyMaterial(Validation.required("material", bytes));
    }

    public int length() {
        checkOpen();
        return bytes.length;
    }

    /** A copy of the bytes; the caller must wipe it ({@code Arrays.fill(copy, (byte) 0)}) when done. */
    public byte[] copyBytes() {
        checkOpen();
        return bytes.clone();
    }

    /** A read-only view of the bytes, valid until this material is closed. */
    public ByteBuffer asReadOnlyBuffer() {
        checkOpen();
        return ByteBuffer.wrap(bytes).asReadOnlyBuffer();
    }

    public boolean isClosed() {
        return closed;
    }

    /** Overwrites the bytes with zeros. Idempotent. */
    @Override
    public void close() {
        closed = true;
        Arrays.fill(bytes, (byte) 0);
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("key material was closed and wiped");
        }
    }

    @Override
    public String toString() {
        return closed ? "KeyMaterial[closed]" : "KeyMaterial[" + bytes.length + " bytes]";
    }
}
