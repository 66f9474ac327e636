package org.openkcm.keystore.core.crypto;

import java.util.Arrays;

/** Small byte helpers shared by the envelope and the KEK providers. */
public final class Bytes {
    private Bytes() {
    }

    /** Overwrites the array with zeros; null is ignored. */
    public static void wipe(byte[] bytes) {
        if (bytes != null) {
            Arrays.fill(bytes, (byte) 0);
        }
    }

    /** Overwrites each array with zeros; nulls are ignored. */
    public static void wipe(byte[]... arrays) {
        for (byte[] bytes : arrays) {
            wipe(bytes);
        }
    }
}
