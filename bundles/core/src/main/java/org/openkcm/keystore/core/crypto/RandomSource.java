package org.openkcm.keystore.core.crypto;

import java.nio.charset.StandardCharsets;
import java.security.DrbgParameters;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * Where fresh key bytes and nonces come from. Production code uses {@link #secure()}; the
 * record-format test vectors inject fixed bytes through this seam, and nothing else should.
 */
@FunctionalInterface
public interface RandomSource {

    /** Fills the array with random bytes. */
    void nextBytes(byte[] bytes);

    /** Fills {@code length} bytes of {@code out} from {@code offset} with random bytes. */
    default void nextBytes(byte[] out, int offset, int length) {
        byte[] bytes = new byte[length];
        nextBytes(bytes);
        System.arraycopy(bytes, 0, out, offset, length);
        Arrays.fill(bytes, (byte) 0);
    }

    /**
     * The secure source: per thread, a NIST SP 800-90A Hash_DRBG (SHA-256) of the JDK, instantiated
     * at 256-bit security strength without prediction resistance ({@code SecureRandom.getInstance("DRBG",
     * DrbgParameters.instantiation(256, RESEED_ONLY, personalization))}), read 1,024 bytes at a time.
     * <p>
     * <b>Why it is as strong as the JDK's default {@code SecureRandom}</b> (NativePRNG, which reads
     * {@code /dev/urandom} under one lock per process and mixes it with SHA1PRNG): a Hash_DRBG at
     * strength 256 is an approved deterministic random bit generator whose output cannot be told apart
     * from random by anyone who does not know its internal state, up to 2^48 requests between reseeds
     * (the JDK reseeds it by itself after 2^31 requests, 2 TiB of output in these blocks). Its state is
     * seeded by the JDK, never by this code: 256 bits of entropy, a unique nonce and the
     * personalisation string, where the entropy comes from the JDK's seeding Hash_DRBG, itself seeded
     * from the operating system's source ({@code securerandom.source}, on Linux the kernel's
     * {@code /dev/random}, which no longer blocks once initialised); SP 800-90C admits a DRBG so
     * seeded by another of at least its strength. The personalisation string (thread name and id, the
     * time) makes each thread's generator distinct even if two were given the same seed. What it does
     * not have is prediction resistance: whoever reads this process's memory can compute the output
     * still to come on that thread until it ends; whoever can read this process's memory can read the
     * KEKs and data keys themselves, so this adds nothing to that attacker.
     * <p>
     * <b>Why per thread and 1,024 bytes at a time</b>: a request costs a Hash_DRBG a fixed state update
     * (a SHA-256 and a 440-bit addition) plus one SHA-256 per 32 bytes, so 44 bytes cost about as much as
     * 300; drawn in blocks, the 56 random bytes of a seal (data key, nonce, the wrap's nonce) cost about a
     * third of what 44 bytes cost from NativePRNG (EnvelopePartsBenchmark, under load: 196 against 592 ns),
     * and no thread waits for another's lock. The bytes drawn and not yet handed out are the generator's next output, which
     * its state already determines, so holding them in memory reveals nothing the state does not;
     * each byte is handed out once, to the thread that drew it, and zeroed in the block as it goes.
     */
    static RandomSource secure() {
        return Holder.SECURE;
    }

    /** Holds the shared source until first use. */
    final class Holder {
        private static final RandomSource SECURE = new PerThreadDrbg();

        private Holder() {
        }
    }

    /** {@link #secure()}: one Hash_DRBG and one block of its output per thread. */
    final class PerThreadDrbg implements RandomSource {
        static final int STRENGTH = 256;
        static final int BLOCK = 1024;
        private final ThreadLocal<Block> blocks = ThreadLocal.withInitial(Block::new);

        PerThreadDrbg() {
        }

        @Override
        public void nextBytes(byte[] bytes) {
            nextBytes(bytes, 0, bytes.length);
        }

        @Override
        public void nextBytes(byte[] out, int offset, int length) {
            java.util.Objects.checkFromIndexSize(offset, length, out.length);
            blocks.get().take(out, offset, length);
        }

        /** This thread's generator (tests: it is a DRBG at the stated strength). */
        SecureRandom generator() {
            return blocks.get().drbg;
        }

        /** One thread's generator and the part of its last block not yet handed out. */
        private static final class Block {
            final SecureRandom drbg = newDrbg();
            final byte[] block = new byte[BLOCK];
            int next = BLOCK;

            void take(byte[] out, int offset, int length) {
                if (length > BLOCK) {
                    byte[] direct = new byte[length];
                    drbg.nextBytes(direct);
                    System.arraycopy(direct, 0, out, offset, length);
                    Arrays.fill(direct, (byte) 0);
                    return;
                }
                if (BLOCK - next < length) {
                    drbg.nextBytes(block);
                    next = 0;
                }
                System.arraycopy(block, next, out, offset, length);
                Arrays.fill(block, next, next + length, (byte) 0);
                next += length;
            }
        }

        static SecureRandom newDrbg() {
            Thread t = Thread.currentThread();
            byte[] personalization = ("openkcm-keystore/random/v1 " + t.getName() + " " + t.getId() + " "
                    + System.nanoTime()).getBytes(StandardCharsets.UTF_8);
            try {
                return SecureRandom.getInstance("DRBG", DrbgParameters.instantiation(STRENGTH,
                        DrbgParameters.Capability.RESEED_ONLY, personalization));
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("the JDK has no DRBG at 256-bit strength", e);
            }
        }
    }
}
