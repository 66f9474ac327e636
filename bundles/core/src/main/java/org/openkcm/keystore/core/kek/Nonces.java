package org.openkcm.keystore.core.kek;

import org.openkcm.keystore.core.crypto.RandomSource;

/**
 * Random 96-bit nonces for the GCM wrap, drawn from the secure random source 21 at a time per
 * thread: one draw (one lock and one read of the OS source) instead of one per wrap. A nonce is
 * public (it is written beside the wrapped key), so holding the next ones in memory reveals nothing;
 * each is handed out once, by the thread that drew it.
 */
final class Nonces {
    static final int NONCE_BYTES = KekRing.GCM_NONCE_BYTES;
    private static final int PER_DRAW = 21;
    private static final ThreadLocal<Nonces> LOCAL = ThreadLocal.withInitial(Nonces::new);

    private final byte[] pool = new byte[NONCE_BYTES * PER_DRAW];
    private int next = pool.length;

    private Nonces() {
    }

    /** Writes a fresh nonce into {@code out} at {@code offset}. */
    static void next(byte[] out, int offset) {
        LOCAL.get().take(out, offset);
    }

    private void take(byte[] out, int offset) {
        if (next == pool.length) {
            RandomSource.secure().nextBytes(pool);
            next = 0;
        }
        System.arraycopy(pool, next, out, offset, NONCE_BYTES);
        java.util.Arrays.fill(pool, next, next + NONCE_BYTES, (byte) 0);
        next += NONCE_BYTES;
    }
}
