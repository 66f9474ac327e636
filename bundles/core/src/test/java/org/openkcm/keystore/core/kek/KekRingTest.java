package org.openkcm.keystore.core.kek;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.crypto.Hkdf;

/**
 * The ring's two wraps: GCM (the default) under a derived key with the KEK id and version as AAD,
 * KW (the form every earlier ring wrote); each ring unwraps both. It keeps one cipher per thread and
 * version (KW: and direction): what that must not change.
 */
class KekRingTest {
    private static final byte[] V1 = filled(1);
    private static final byte[] V2 = filled(2);

    @Test
    void everyKwWrapIsTheJdksKeyWrapUnderTheVersionAskedFor() throws Exception {
        KekRing ring = KekRing.of("local", Map.of(1, V1, 2, V2), KekRing.Wrap.KW);
        for (int i = 0; i < 5; i++) { // the same thread's ciphers, used again and alternated between versions
            byte[] dataKey = filled(10 + i);
            assertArrayEquals(jdkWrap(V1, dataKey), ring.wrap(1, dataKey));
            assertArrayEquals(jdkWrap(V2, dataKey), ring.wrap(2, dataKey));
            assertArrayEquals(dataKey, ring.unwrap(1, jdkWrap(V1, dataKey)));
            assertArrayEquals(dataKey, ring.unwrap(2, jdkWrap(V2, dataKey)));
        }
    }

    @Test
    void aFailedKwUnwrapLeavesTheNextOneWorking() {
        KekRing ring = KekRing.of("local", Map.of(1, V1), KekRing.Wrap.KW);
        byte[] dataKey = filled(7);
        byte[] wrapped = ring.wrap(1, dataKey);
        byte[] altered = wrapped.clone();
        altered[5] ^= 1;
        assertThrows(IntegrityException.class, () -> ring.unwrap(1, altered));
        assertThrows(IntegrityException.class, () -> ring.unwrap(1, Arrays.copyOf(wrapped, 24)));
        assertArrayEquals(dataKey, ring.unwrap(1, wrapped));
        assertArrayEquals(wrapped, ring.wrap(1, dataKey));
    }

    @ParameterizedTest
    @EnumSource(KekRing.Wrap.class)
    void aDestroyedRingRefusesToWrapOrUnwrapThoughItsCiphersWereInitialised(KekRing.Wrap wrap) {
        KekRing ring = KekRing.of("local", Map.of(1, V1), wrap);
        byte[] wrapped = ring.wrap(1, filled(3));
        ring.unwrap(1, wrapped);

        ring.destroy();

        assertThrows(UnavailableException.class, () -> ring.wrap(1, filled(3)));
        assertThrows(UnavailableException.class, () -> ring.unwrap(1, wrapped));
    }

    @Test
    void theDefaultWrapIsGcmUnderTheDerivedKeyWithTheKekIdAndVersionAsAad() throws Exception {
        KekRing ring = KekRing.of("local", Map.of(1, V1, 2, V2));
        assertEquals(KekRing.Wrap.GCM, ring.wrapForm());
        for (int version = 1; version <= 2; version++) {
            byte[] dataKey = filled(20 + version);
            byte[] wrapped = ring.wrap(version, dataKey);
            assertEquals(61, wrapped.length);
            assertEquals(0x02, wrapped[0]);
            // decrypted here with the JDK from the documented construction, not through the ring
            byte[] key = Hkdf.derive(null, version == 1 ? V1 : V2,
                    "openkcm-keystore/kek/wrap-gcm/v1".getBytes(StandardCharsets.US_ASCII), 32);
            Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
            gcm.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, wrapped, 1, 12));
            gcm.updateAAD(new byte[] {0x02, 5, 'l', 'o', 'c', 'a', 'l', 0, 0, 0, (byte) version});
            assertArrayEquals(dataKey, gcm.doFinal(wrapped, 13, 48));
            assertArrayEquals(dataKey, ring.unwrap(version, wrapped));
        }
    }

    @Test
    void everyGcmWrapHasAFreshNonce() {
        KekRing ring = KekRing.of("local", Map.of(1, V1));
        byte[] dataKey = filled(9);
        Set<String> nonces = new HashSet<>();
        for (int i = 0; i < 200; i++) { // several draws of the per-thread nonce pool
            byte[] wrapped = ring.wrap(1, dataKey);
            assertTrue(nonces.add(HexFormat.of().formatHex(wrapped, 1, 13)), "nonce reused at wrap " + i);
            assertArrayEquals(dataKey, ring.unwrap(1, wrapped));
        }
    }

    @Test
    void aKwWrappedKeyUnwrapsUnderAGcmWritingRingAndTheReverse() throws Exception {
        KekRing gcmRing = KekRing.of("local", Map.of(1, V1));
        KekRing kwRing = KekRing.of("local", Map.of(1, V1), KekRing.Wrap.KW);
        byte[] dataKey = filled(11);
        assertArrayEquals(dataKey, gcmRing.unwrap(1, jdkWrap(V1, dataKey)));
        assertArrayEquals(dataKey, kwRing.unwrap(1, gcmRing.wrap(1, dataKey)));
    }

    @Test
    void alteringAnyByteOfAGcmWrappedKeyIsAnIntegrityFailureAndTheNextUnwrapStillWorks() {
        KekRing ring = KekRing.of("local", Map.of(1, V1));
        byte[] dataKey = filled(12);
        byte[] wrapped = ring.wrap(1, dataKey);
        for (int i = 0; i < wrapped.length; i++) { // format byte, nonce, ciphertext, tag
            byte[] altered = wrapped.clone();
            altered[i] ^= 1;
            assertThrows(IntegrityException.class, () -> ring.unwrap(1, altered), "byte " + i);
        }
        assertThrows(IntegrityException.class, () -> ring.unwrap(1, Arrays.copyOf(wrapped, 60)));
        assertThrows(IntegrityException.class, () -> ring.unwrap(1, Arrays.copyOf(wrapped, 62)));
        assertThrows(IntegrityException.class, () -> ring.unwrap(1, new byte[0]));
        assertArrayEquals(dataKey, ring.unwrap(1, wrapped));
    }

    @Test
    void aKeyGcmWrappedUnderOneVersionDoesNotUnwrapUnderAnother() {
        KekRing ring = KekRing.of("local", Map.of(1, V1, 2, V2));
        byte[] wrapped = ring.wrap(1, filled(13));
        assertThrows(IntegrityException.class, () -> ring.unwrap(2, wrapped));
        // nor under the same bytes renumbered: the version is in the AAD
        KekRing renumbered = KekRing.of("local", Map.of(2, V1));
        assertThrows(IntegrityException.class, () -> renumbered.unwrap(2, wrapped));
    }

    @Test
    void aKeyGcmWrappedByOneRingIsRefusedByAnother() {
        byte[] wrapped = KekRing.of("ring-a", Map.of(1, V1)).wrap(1, filled(14));
        assertThrows(IntegrityException.class, () -> KekRing.of("ring-b", Map.of(1, V2)).unwrap(1, wrapped));
        // the same KEK bytes under another id: the id is in the AAD
        assertThrows(IntegrityException.class, () -> KekRing.of("ring-b", Map.of(1, V1)).unwrap(1, wrapped));
    }

    @Test
    void aGcmUnwrapUnderAnAbsentVersionIsUnavailable() {
        KekRing ring = KekRing.of("local", Map.of(1, V1));
        byte[] wrapped = ring.wrap(1, filled(15));
        assertThrows(UnavailableException.class, () -> ring.unwrap(2, wrapped));
        assertThrows(UnavailableException.class, () -> ring.wrap(2, filled(15)));
    }

    @ParameterizedTest
    @EnumSource(KekRing.Wrap.class)
    void eachThreadWrapsWithItsOwnCiphers(KekRing.Wrap wrap) throws Exception {
        KekRing ring = KekRing.of("local", Map.of(1, V1), wrap);
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
