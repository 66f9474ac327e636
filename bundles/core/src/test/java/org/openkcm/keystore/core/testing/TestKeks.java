package org.openkcm.keystore.core.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

import org.openkcm.keystore.core.kek.KekRing;
import org.openkcm.keystore.core.kek.KekRingText;
import org.openkcm.keystore.core.kek.RingKekProvider;

/** KEK providers for tests: fixed, known KEK bytes. */
public final class TestKeks {
    private TestKeks() {
    }

    /** A provider holding exactly the given versions. */
    public static final class Fixed extends RingKekProvider {
        private final KekRing.Wrap wrap;

        /**
         * Wraps with AES-KW, as every local ring did before the GCM wrap: the record-format 1 vectors
         * were sealed so, and sealing their inputs again must give their bytes (KW is deterministic).
         * {@link TestKeks#fixed} gives the default, GCM.
         */
        public Fixed(String kekId, Map<Integer, byte[]> keys) {
            this(kekId, keys, KekRing.Wrap.KW);
        }

        public Fixed(String kekId, Map<Integer, byte[]> keys, KekRing.Wrap wrap) {
            this.wrap = wrap;
            install(KekRing.of(kekId, keys, wrap));
        }

        public void replace(String kekId, Map<Integer, byte[]> keys) {
            install(KekRing.of(kekId, keys, wrap));
        }
    }

    /** 32 bytes derived from a seed, distinct per seed. */
    public static byte[] kek(int seed) {
        byte[] kek = new byte[32];
        for (int i = 0; i < kek.length; i++) {
            kek[i] = (byte) (seed * 31 + i * 7 + 0x5A);
        }
        return kek;
    }

    public static Fixed fixed(String kekId, int... versions) {
        Map<Integer, byte[]> keys = new TreeMap<>();
        for (int v : versions) {
            keys.put(v, kek(v));
        }
        return new Fixed(kekId, keys, KekRing.Wrap.GCM);
    }

    public static byte[] hex(String hex) {
        return HexFormat.of().parseHex(hex);
    }

    /** Writes a ring file with the given versions and mode, e.g. "rw-------". */
    public static Path writeRing(Path file, String mode, Map<Integer, byte[]> keys) throws IOException {
        Files.write(file, KekRingText.format(keys));
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(mode));
        return file;
    }

    public static Path writeText(Path file, String mode, String text) throws IOException {
        Files.writeString(file, text, StandardCharsets.US_ASCII);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(mode));
        return file;
    }
}
