package org.openkcm.keystore.kek.common;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;

import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.UnavailableException;

/** The sealed rings' local wrap: AES-256-GCM as the core's KekRing writes it, and AES-KW as earlier rings did. */
class LocalKekRingTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final byte[] V1 = filled(1);
    private static final byte[] V2 = filled(2);

    @Test
    void aDataKeyWrapsWithGcmAndUnwraps() {
        LocalKekRing ring = LocalKekRing.of("sealed", Map.of(1, V1));
        byte[] dataKey = filled(5);
        byte[] a = ring.wrap(1, dataKey);
        byte[] b = ring.wrap(1, dataKey);
        assertEquals(LocalKekRing.GCM_WRAPPED_BYTES, a.length);
        assertEquals(LocalKekRing.GCM_WRAP_FORMAT, a[0]);
        assertFalse(Arrays.equals(a, b), "a fresh nonce per wrap");
        assertArrayEquals(dataKey, ring.unwrap(1, a));
        assertArrayEquals(dataKey, ring.unwrap(1, b));
    }

    @Test
    void aKwRingWritesWhatEarlierRingsWroteAndBothFormsUnwrapEitherWay() throws Exception {
        byte[] dataKey = filled(7);
        LocalKekRing kwRing = LocalKekRing.of("sealed", Map.of(1, V1), LocalKekRing.Wrap.KW);
        LocalKekRing gcmRing = LocalKekRing.of("sealed", Map.of(1, V1));
        assertEquals(LocalKekRing.Wrap.KW, kwRing.wrapForm());
        assertEquals(LocalKekRing.Wrap.GCM, gcmRing.wrapForm());
        byte[] kwWrapped = kwRing.wrap(1, dataKey);
        Cipher kw = Cipher.getInstance("AES/KW/NoPadding");
        kw.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(V1, "AES"));
        assertArrayEquals(kw.doFinal(dataKey), kwWrapped, "exactly RFC 3394 under the KEK, as an older runtime reads it");
        assertArrayEquals(dataKey, gcmRing.unwrap(1, kwWrapped));
        assertArrayEquals(dataKey, kwRing.unwrap(1, gcmRing.wrap(1, dataKey)));
    }

    @Test
    void theWrapSettingParses() {
        assertEquals(LocalKekRing.Wrap.GCM, LocalKekRing.Wrap.parse(null));
        assertEquals(LocalKekRing.Wrap.GCM, LocalKekRing.Wrap.parse(" "));
        assertEquals(LocalKekRing.Wrap.GCM, LocalKekRing.Wrap.parse("GCM"));
        assertEquals(LocalKekRing.Wrap.KW, LocalKekRing.Wrap.parse(" kw "));
        assertThrows(org.openkcm.keystore.api.InvalidInputException.class, () -> LocalKekRing.Wrap.parse("kwp"));
    }

    @Test
    void aKwWrappedKeyOfAnEarlierRingStillUnwraps() throws Exception {
        byte[] dataKey = filled(6);
        Cipher kw = Cipher.getInstance("AES/KW/NoPadding");
        kw.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(V1, "AES"));
        assertArrayEquals(dataKey, LocalKekRing.of("sealed", Map.of(1, V1)).unwrap(1, kw.doFinal(dataKey)));
    }

    @Test
    void theCoresGcmWrapVectorUnwrapsHereToo() {
        // gcm-wrap-vectors.properties of the core bundle, vector g1: the same construction in both rings
        LocalKekRing ring = LocalKekRing.of("vectors",
                Map.of(1, HEX.parseHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")));
        byte[] wrapped = HEX.parseHex("02b0b1b2b3b4b5b6b7b8b9babbe586afabbbad1107088c6749a334719fe876406917066816ac57"
                + "ddd01936848c741211794687f09c63d43047e3d75a3f");
        assertArrayEquals(HEX.parseHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"),
                ring.unwrap(1, wrapped));
    }

    @Test
    void alteringAnyByteIsAnIntegrityFailure() {
        LocalKekRing ring = LocalKekRing.of("sealed", Map.of(1, V1));
        byte[] wrapped = ring.wrap(1, filled(7));
        for (int i = 0; i < wrapped.length; i++) {
            byte[] altered = wrapped.clone();
            altered[i] ^= 1;
            assertThrows(IntegrityException.class, () -> ring.unwrap(1, altered), "byte " + i);
        }
        assertThrows(IntegrityException.class, () -> ring.unwrap(1, Arrays.copyOf(wrapped, 60)));
    }

    @Test
    void aKeyWrappedUnderOneVersionOrRingIsRefusedByAnother() {
        LocalKekRing ring = LocalKekRing.of("sealed", Map.of(1, V1, 2, V2));
        byte[] wrapped = ring.wrap(1, filled(8));
        assertThrows(IntegrityException.class, () -> ring.unwrap(2, wrapped));
        assertThrows(IntegrityException.class, () -> LocalKekRing.of("other", Map.of(1, V1)).unwrap(1, wrapped));
        assertThrows(IntegrityException.class, () -> LocalKekRing.of("sealed", Map.of(2, V1)).unwrap(2, wrapped));
        assertThrows(UnavailableException.class, () -> LocalKekRing.of("sealed", Map.of(2, V2)).unwrap(1, wrapped));
    }

    @Test
    void aDestroyedRingRefuses() {
        LocalKekRing ring = LocalKekRing.of("sealed", Map.of(1, V1));
        byte[] wrapped = ring.wrap(1, filled(9));
        ring.destroy();
        assertThrows(UnavailableException.class, () -> ring.wrap(1, filled(9)));
        assertThrows(UnavailableException.class, () -> ring.unwrap(1, wrapped));
    }

    private static byte[] filled(int seed) {
        byte[] b = new byte[32];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (seed * 7 + i);
        }
        return b;
    }
}
