package org.openkcm.keystore.core.kek;

import java.util.Arrays;

import javax.crypto.SecretKey;

/**
 * A secret key whose bytes this bundle can wipe ({@link #destroy()}), unlike {@code SecretKeySpec}
 * on Java 17. The JCE still copies the bytes into its own state at each init; those copies are out
 * of reach and are overwritten when the thread's cipher is next initialised.
 */
final class KekKey implements SecretKey {
    private static final long serialVersionUID = 1L;

    private final String algorithm;
    private final byte[] bytes;
    private volatile boolean destroyed;

    /** Takes a copy of the bytes; the caller wipes its own array. */
    KekKey(byte[] bytes, String algorithm) {
        this.bytes = bytes.clone();
        this.algorithm = algorithm;
    }

    @Override
    public String getAlgorithm() {
        return algorithm;
    }

    @Override
    public String getFormat() {
        return "RAW";
    }

    @Override
    public byte[] getEncoded() {
        if (destroyed) {
            throw new IllegalStateException("the KEK was destroyed");
        }
        return bytes.clone();
    }

    @Override
    public void destroy() {
        destroyed = true;
        Arrays.fill(bytes, (byte) 0);
    }

    @Override
    public boolean isDestroyed() {
        return destroyed;
    }

    @Override
    public String toString() {
        return "KekKey[" + algorithm + ", " + (destroyed ? "destroyed" : bytes.length + " bytes") + "]";
    }

    private Object writeReplace() throws java.io.ObjectStreamException {
        throw new java.io.NotSerializableException("KEKs are never serialized");
    }
}
