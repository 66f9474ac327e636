package org.openkcm.keystore.core.crypto;

import java.security.GeneralSecurityException;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HKDF with HMAC-SHA256 (RFC 5869), which the JDK does not offer before Java 24. Used to derive
 * the lifecycle MAC key and the GCM wrap key from a KEK, so the KEK itself keys nothing but the KW wrap.
 */
public final class Hkdf {
    private static final String HMAC = "HmacSHA256";
    private static final int HASH_BYTES = 32;

    private Hkdf() {
    }

    /**
     * Extract-then-expand.
     *
     * @param salt the salt, or null or empty for the RFC's default (32 zero bytes)
     * @param ikm the input keying material; not modified
     * @param info the context label
     * @param length output length in bytes, at most 255 * 32
     * @return the output keying material; the caller wipes it
     */
    public static byte[] derive(byte[] salt, byte[] ikm, byte[] info, int length) {
        if (length < 1 || length > 255 * HASH_BYTES) {
            throw new IllegalArgumentException("HKDF output length must be 1 to " + 255 * HASH_BYTES + " bytes");
        }
        byte[] prk = null;
        byte[] block = new byte[0];
        try {
            Mac mac = Mac.getInstance(HMAC);
            byte[] effectiveSalt = salt == null || salt.length == 0 ? new byte[HASH_BYTES] : salt;
            mac.init(new SecretKeySpec(effectiveSalt, HMAC));
            prk = mac.doFinal(ikm);

            mac.init(new SecretKeySpec(prk, HMAC));
            byte[] okm = new byte[length];
            int done = 0;
            for (int counter = 1; done < length; counter++) {
                mac.update(block);
                mac.update(info);
                mac.update((byte) counter);
                Bytes.wipe(block);
                block = mac.doFinal();
                int n = Math.min(block.length, length - done);
                System.arraycopy(block, 0, okm, done, n);
                done += n;
            }
            return okm;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available in this JDK", e);
        } finally {
            Bytes.wipe(prk, block);
        }
    }
}
