package org.openkcm.keystore.core.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.HexFormat;
import java.util.Random;

import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.HKDFParameters;
import org.junit.jupiter.api.Test;

/** Our JDK-only HKDF against RFC 5869's vectors and against Bouncy Castle's generator. */
class HkdfTest {
    private static final HexFormat HEX = HexFormat.of();

    @Test
    void rfc5869Case1() {
        byte[] okm = Hkdf.derive(HEX.parseHex("000102030405060708090a0b0c"),
                HEX.parseHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), HEX.parseHex("f0f1f2f3f4f5f6f7f8f9"), 42);
        assertArrayEquals(HEX.parseHex(
                "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"), okm);
    }

    @Test
    void rfc5869Case3NoSaltNoInfo() {
        byte[] okm = Hkdf.derive(null, HEX.parseHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), new byte[0], 42);
        assertArrayEquals(HEX.parseHex(
                "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"), okm);
    }

    @Test
    void sameAsBouncyCastle() {
        Random random = new Random(42);
        for (int round = 0; round < 50; round++) {
            byte[] ikm = new byte[1 + random.nextInt(64)];
            byte[] salt = new byte[random.nextInt(40)];
            byte[] info = new byte[random.nextInt(40)];
            random.nextBytes(ikm);
            random.nextBytes(salt);
            random.nextBytes(info);
            int length = 1 + random.nextInt(100);
            HKDFBytesGenerator bc = new HKDFBytesGenerator(new SHA256Digest());
            bc.init(new HKDFParameters(ikm, salt.length == 0 ? null : salt, info));
            byte[] expected = new byte[length];
            bc.generateBytes(expected, 0, length);
            assertArrayEquals(expected, Hkdf.derive(salt, ikm, info, length), "round " + round);
        }
    }
}
