package org.openkcm.keystore.core.crypto;

import java.security.SecureRandom;

/**
 * Where fresh key bytes and nonces come from. Production code uses {@link #secure()}; the
 * record-format test vectors inject fixed bytes through this seam, and nothing else should.
 */
@FunctionalInterface
public interface RandomSource {

    /** Fills the array with random bytes. */
    void nextBytes(byte[] bytes);

    /** The JDK's default {@link SecureRandom}, shared: it is safe for concurrent use. */
    static RandomSource secure() {
        return Holder.SECURE;
    }

    /** Holds the shared source until first use. */
    final class Holder {
        private static final RandomSource SECURE = new SecureRandom()::nextBytes;

        private Holder() {
        }
    }
}
