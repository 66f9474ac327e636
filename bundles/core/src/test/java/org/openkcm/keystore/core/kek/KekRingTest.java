package org.openkcm.keystore.core.kek;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.UnavailableException;

/** The ring keeps one initialised KW cipher per thread, version and direction: what that must not change. */
class KekRingTest {
    private static final byte[] V1 = filled(1);
    private static final byte[] V2 = filled(2);

    @Test
    void everyWrapIsTheJdksKeyWrapUnderTheVersionAskedFor() throws Exception {
        KekRing ring = KekRing.of("local", Map.of(1, V1, 2, V2));
        for (int i = 0; i < 5; i++) { // the same thread's ciphers, used again and alternated between versions
            byte[] dataKey = filled(10 + i);
            assertArrayEquals(jdkWrap(V1, dataKey), ring.wrap(1, dataKey));
            assertArrayEquals(jdkWrap(V2, dataKey), ring.wrap(2, dataKey));
            assertArrayEquals(dataKey, ring.unwrap(1, jdkWrap(V1, dataKey)));
            assertArrayEquals(dataKey, ring.unwrap(2, jdkWrap(V2, dataKey)));
        }
    }

    @Test
    void aFailedUnwrapLeavesTheNextOneWorking() {
        KekRing ring = KekRing.of("local", Map.of(1, V1));
        byte[] dataKey = filled(7);
        byte[] wrapped = ring.wrap(1, dataKey);
        byte[] altered = wrapped.clone();
        altered[5] ^= 1;
        assertThrows(IntegrityException.class, () -> ring.unwrap(1, altered));
        assertThrows(IntegrityException.class, () -> ring.unwrap(1, Arrays.copyOf(wrapped, 24)));
        assertArrayEquals(dataKey, ring.unwrap(1, wrapped));
        assertArrayEquals(wrapped, ring.wrap(1, dataKey));
    }

    @Test
    void aDestroyedRingRefusesToWrapOrUnwrapThoughItsCiphersWereInitialised() {
        KekRing ring = KekRing.of("local", Map.of(1, V1));
        byte[] wrapped = ring.wrap(1, filled(3));
        ring.unwrap(1, wrapped);

        ring.destroy();

        assertThrows(UnavailableException.class, () -> ring.wrap(1, filled(3)));
        assertThrows(UnavailableException.class, () -> ring.unwrap(1, wrapped));
    }

    @Test
    void eachThreadWrapsWithItsOwnCiphers() throws Exception {
        KekRing ring = KekRing.of("local", Map.of(1, V1));
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            Future<?>[] runs = new Future<?>[4];
            for (int t = 0; t < runs.length; t++) {
                int seed = t;
                runs[t] = pool.submit(() -> {
                    for (int i = 0; i < 2_000; i++) {
                        byte[] dataKey = filled(seed * 31 + i);
                        assertArrayEquals(dataKey, ring.unwrap(1, ring.wrap(1, dataKey)));
                    }
                    return null;
                });
            }
            for (Future<?> run : runs) {
                run.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static byte[] jdkWrap(byte[] kek, byte[] dataKey) throws Exception {
        Cipher kw = Cipher.getInstance("AES/KW/NoPadding");
        kw.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(kek, "AES"));
        return kw.doFinal(dataKey);
    }

    private static byte[] filled(int seed) {
        byte[] b = new byte[32];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (seed * 7 + i);
        }
        return b;
    }
}
