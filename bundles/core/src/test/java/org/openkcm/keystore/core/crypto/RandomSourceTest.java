package org.openkcm.keystore.core.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.DrbgParameters;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;

/** The secure source: a per-thread 256-bit Hash_DRBG, handed out from blocks. */
class RandomSourceTest {
    private static final RandomSource.PerThreadDrbg SECURE = (RandomSource.PerThreadDrbg) RandomSource.secure();

    @Test
    void eachThreadHasItsOwnHashDrbgAtStrength256WithoutPredictionResistance() throws Exception {
        SecureRandom mine = SECURE.generator();
        assertSame(mine, SECURE.generator(), "one generator per thread, kept");
        assertEquals("DRBG", mine.getAlgorithm());
        DrbgParameters.Instantiation params = (DrbgParameters.Instantiation) mine.getParameters();
        assertEquals(256, params.getStrength());
        assertEquals(DrbgParameters.Capability.RESEED_ONLY, params.getCapability());
        assertTrue(mine.toString().startsWith("Hash_DRBG,SHA-256,256"), mine.toString());
        ExecutorService other = Executors.newSingleThreadExecutor();
        try {
            assertNotSame(mine, other.submit(SECURE::generator).get());
        } finally {
            other.shutdown();
        }
    }

    @Test
    void fillsExactlyTheRequestedBytesOfEveryLength() {
        for (int n : new int[] {1, 12, 32, 44, 56, RandomSource.PerThreadDrbg.BLOCK - 1, RandomSource.PerThreadDrbg.BLOCK,
                RandomSource.PerThreadDrbg.BLOCK + 1, 5000}) {
            byte[] out = new byte[n + 8];
            SECURE.nextBytes(out, 4, n);
            for (int i : new int[] {0, 1, 2, 3, n + 4, n + 5, n + 6, n + 7}) {
                assertEquals(0, out[i], "byte " + i + " outside the range of " + n + " stays untouched");
            }
            if (n >= 32) {
                assertFalse(isZero(out, 4, n), n + " bytes were filled");
            }
            byte[] whole = new byte[n];
            SECURE.nextBytes(whole);
            if (n >= 32) {
                assertFalse(isZero(whole, 0, n));
            }
        }
        assertThrows(IndexOutOfBoundsException.class, () -> SECURE.nextBytes(new byte[10], 4, 7));
    }

    @Test
    void consecutiveCallsNeverRepeatAcrossManyBlocks() {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 5000; i++) { // 5000 × 44 bytes: more than 200 blocks
            byte[] b = new byte[44];
            SECURE.nextBytes(b);
            assertTrue(seen.add(java.util.HexFormat.of().formatHex(b)), "call " + i + " repeated an earlier output");
        }
    }

    @Test
    void threadsDrawDistinctBytes() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<List<String>>> draws = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                draws.add(pool.submit(() -> {
                    List<String> out = new ArrayList<>();
                    for (int i = 0; i < 500; i++) {
                        byte[] b = new byte[32];
                        SECURE.nextBytes(b);
                        out.add(java.util.HexFormat.of().formatHex(b));
                    }
                    return out;
                }));
            }
            Set<String> all = new HashSet<>();
            for (Future<List<String>> f : draws) {
                for (String s : f.get()) {
                    assertTrue(all.add(s), "two draws (same or different threads) gave the same 32 bytes");
                }
            }
            assertEquals(2000, all.size());
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void theDefaultOffsetMethodOfATestSourceWritesTheRange() {
        RandomSource fixed = bytes -> java.util.Arrays.fill(bytes, (byte) 7);
        byte[] out = new byte[6];
        fixed.nextBytes(out, 2, 3);
        assertArrayEquals(new byte[] {0, 0, 7, 7, 7, 0}, out);
    }

    private static boolean isZero(byte[] b, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }
}
