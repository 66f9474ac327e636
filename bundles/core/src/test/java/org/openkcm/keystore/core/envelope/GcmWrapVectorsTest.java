package org.openkcm.keystore.core.envelope;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.OwnerKind;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.core.kek.KekRing;
import org.openkcm.keystore.core.testing.TestKeks;

/**
 * The checked-in records whose data key the local ring wrapped with AES-256-GCM
 * (src/test/resources/record-format/gcm-wrap-vectors.properties), and the format-1 records it wrapped
 * with AES-KW before (v1-vectors.properties): whichever a ring writes, it opens both.
 */
class GcmWrapVectorsTest {
    private static final HexFormat HEX = HexFormat.of();

    record Vector(String name, Properties p) {
        String get(String key) {
            return p.getProperty(name + "." + key, "");
        }

        byte[] hex(String key) {
            return HEX.parseHex(get(key));
        }

        int kekVersion() {
            return Integer.parseInt(get("kek.version"));
        }

        Map<Integer, byte[]> ring() {
            Map<Integer, byte[]> ring = new TreeMap<>();
            for (String entry : get("kek.ring").split(",")) {
                String[] parts = entry.split(":");
                ring.put(Integer.parseInt(parts[0]), HEX.parseHex(parts[1]));
            }
            return ring;
        }

        KeyMetadata metadata() {
            Map<String, String> tags = new TreeMap<>();
            if (!get("tags").isEmpty()) {
                for (String tag : get("tags").split(",")) {
                    String[] kv = tag.split("=", 2);
                    tags.put(kv[0], kv[1]);
                }
            }
            return KeyMetadata.builder()
                    .id(KeyId.of(get("key.name"), Integer.parseInt(get("key.version"))))
                    .type(KeyType.valueOf(get("type")))
                    .owner(Owner.of(OwnerKind.valueOf(get("owner.kind")), get("owner.id")))
                    .algorithm(get("algorithm"))
                    .keySize(Integer.parseInt(get("keySize")))
                    .parent(get("parent").isEmpty() ? null : KeyId.parse(get("parent")))
                    .region(get("region").isEmpty() ? null : get("region"))
                    .created(Instant.parse(get("created")))
                    .updated(Instant.parse(get("updated")))
                    .status(KeyStatus.valueOf(get("status")))
                    .expiry(get("expiry").isEmpty() ? null : Instant.parse(get("expiry")))
                    .tags(tags)
                    .revision(Long.parseLong(get("revision")))
                    .lifecycleMac(get("expected.lifecycleMac"))
                    .build();
        }

        Envelope envelope(KekRing.Wrap wrap) {
            return new Envelope(KekDirectory.of(new TestKeks.Fixed(get("kek.id"), ring(), wrap)));
        }

        @Override
        public String toString() {
            return "vector " + name;
        }
    }

    static Stream<Vector> gcmVectors() throws IOException {
        return load("/record-format/gcm-wrap-vectors.properties");
    }

    static Stream<Vector> kwVectors() throws IOException {
        return load("/record-format/v1-vectors.properties");
    }

    private static Stream<Vector> load(String resource) throws IOException {
        Properties p = new Properties();
        try (InputStream in = GcmWrapVectorsTest.class.getResourceAsStream(resource)) {
            p.load(in);
        }
        return Stream.of(p.getProperty("vectors").split(",")).map(n -> new Vector(n.trim(), p));
    }

    @ParameterizedTest
    @MethodSource("gcmVectors")
    void currentCodeOpensTheCheckedInGcmWrappedRecordWhicheverWrapTheRingWrites(Vector v) {
        for (KekRing.Wrap wrap : KekRing.Wrap.values()) {
            Envelope envelope = v.envelope(wrap);
            KeyMetadata metadata = v.metadata();
            envelope.verifyLifecycle(metadata);
            SealedKey record = SealedKey.of(v.hex("expected.record"));
            assertArrayEquals(v.hex("material"), envelope.open(record, metadata), wrap.name());
            assertEquals(new KekRef(v.get("kek.id"), v.kekVersion()), Envelope.recordKek(record, metadata.id()));
        }
    }

    @ParameterizedTest
    @MethodSource("kwVectors")
    void theFormat1KwRecordsOpenUnderAGcmWritingRing(Vector v) {
        Envelope envelope = v.envelope(KekRing.Wrap.GCM);
        KeyMetadata metadata = v.metadata();
        envelope.verifyLifecycle(metadata);
        assertArrayEquals(v.hex("material"), envelope.open(SealedKey.of(v.hex("expected.record")), metadata));
    }

    @ParameterizedTest
    @MethodSource("gcmVectors")
    void theCheckedInWrappedKeyIsTheDataKeyGcmWrappedAndSitsInTheRecord(Vector v) {
        byte[] wrapped = v.hex("expected.wrapped");
        assertEquals(KekRing.GCM_WRAPPED_BYTES, wrapped.length);
        assertEquals(KekRing.GCM_WRAP_FORMAT, wrapped[0]);
        assertArrayEquals(v.hex("wrap.nonce"), java.util.Arrays.copyOfRange(wrapped, 1, 13));
        assertArrayEquals(v.hex("dataKey"), KekRing.of(v.get("kek.id"), v.ring()).unwrap(v.kekVersion(), wrapped));
        String record = v.get("expected.record");
        int at = 2 * (8 + v.get("kek.id").length());
        assertEquals(v.get("expected.wrapped"), record.substring(at, at + 2 * wrapped.length));
    }

    @ParameterizedTest
    @MethodSource("gcmVectors")
    void alteringAnyByteOfTheGcmWrappedKeyIsAnIntegrityFailure(Vector v) {
        Envelope envelope = v.envelope(KekRing.Wrap.GCM);
        KeyMetadata metadata = v.metadata();
        int from = 8 + v.get("kek.id").length();
        for (int i = from; i < from + KekRing.GCM_WRAPPED_BYTES; i++) { // format byte, nonce, ciphertext, tag
            byte[] record = v.hex("expected.record");
            record[i] ^= 1;
            assertThrows(IntegrityException.class, () -> envelope.open(SealedKey.of(record), metadata), "byte " + i);
        }
    }

    @ParameterizedTest
    @MethodSource("gcmVectors")
    void theGcmWrappedKeyDoesNotUnwrapUnderAnotherVersionOrKekIdWithTheSameBytes(Vector v) {
        byte[] wrapped = v.hex("expected.wrapped");
        Map<Integer, byte[]> ring = v.ring();
        byte[] kek = ring.get(v.kekVersion());
        // the same KEK bytes under another version number, and under another KEK id: the AAD differs
        int other = v.kekVersion() + 1;
        KekRing renumbered = KekRing.of(v.get("kek.id"), Map.of(other, kek));
        assertThrows(IntegrityException.class, () -> renumbered.unwrap(other, wrapped));
        KekRing renamed = KekRing.of(v.get("kek.id") + "-b", Map.of(v.kekVersion(), kek));
        assertThrows(IntegrityException.class, () -> renamed.unwrap(v.kekVersion(), wrapped));
        for (int version : ring.keySet()) {
            if (version != v.kekVersion()) {
                KekRing same = KekRing.of(v.get("kek.id"), ring);
                assertThrows(IntegrityException.class, () -> same.unwrap(version, wrapped));
            }
        }
    }
}
