package org.openkcm.keystore.core.envelope;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HexFormat;
import java.util.List;
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
import org.openkcm.keystore.core.crypto.RandomSource;
import org.openkcm.keystore.core.testing.TestKeks;

/**
 * The checked-in vectors of record format 1 (src/test/resources/record-format/v1-vectors.properties):
 * the current code must still open every record and accept every MAC, and (while it writes format 1)
 * seal the same inputs to exactly the same bytes.
 */
class RecordFormatVectorsTest {
    private static final HexFormat HEX = HexFormat.of();

    record Vector(String name, Properties p) {
        String get(String key) {
            return p.getProperty(name + "." + key, "");
        }

        byte[] hex(String key) {
            return HEX.parseHex(get(key));
        }

        @Override
        public String toString() {
            return "vector " + name;
        }
    }

    static Stream<Vector> vectors() throws IOException {
        Properties p = new Properties();
        try (InputStream in = RecordFormatVectorsTest.class.getResourceAsStream("/record-format/v1-vectors.properties")) {
            p.load(in);
        }
        return Stream.of(p.getProperty("vectors").split(",")).map(n -> new Vector(n.trim(), p));
    }

    private static TestKeks.Fixed kek(Vector v) {
        Map<Integer, byte[]> ring = new TreeMap<>();
        for (String entry : v.get("kek.ring").split(",")) {
            String[] parts = entry.split(":");
            ring.put(Integer.parseInt(parts[0]), HEX.parseHex(parts[1]));
        }
        return new TestKeks.Fixed(v.get("kek.id"), ring);
    }

    private static KeyMetadata metadata(Vector v) {
        Map<String, String> tags = new TreeMap<>();
        if (!v.get("tags").isEmpty()) {
            for (String tag : v.get("tags").split(",")) {
                String[] kv = tag.split("=", 2);
                tags.put(kv[0], kv[1]);
            }
        }
        return KeyMetadata.builder()
                .id(KeyId.of(v.get("key.name"), Integer.parseInt(v.get("key.version"))))
                .type(KeyType.valueOf(v.get("type")))
                .owner(Owner.of(OwnerKind.valueOf(v.get("owner.kind")), v.get("owner.id")))
                .algorithm(v.get("algorithm"))
                .keySize(Integer.parseInt(v.get("keySize")))
                .parent(v.get("parent").isEmpty() ? null : KeyId.parse(v.get("parent")))
                .region(v.get("region").isEmpty() ? null : v.get("region"))
                .created(Instant.parse(v.get("created")))
                .updated(Instant.parse(v.get("updated")))
                .status(KeyStatus.valueOf(v.get("status")))
                .expiry(v.get("expiry").isEmpty() ? null : Instant.parse(v.get("expiry")))
                .tags(tags)
                .revision(Long.parseLong(v.get("revision")))
                .build();
    }

    @ParameterizedTest
    @MethodSource("vectors")
    void currentCodeOpensTheCheckedInRecord(Vector v) {
        Envelope envelope = new Envelope(KekDirectory.of(kek(v)));
        KeyMetadata metadata = metadata(v).toBuilder().lifecycleMac(v.get("expected.lifecycleMac")).build();
        envelope.verifyLifecycle(metadata);
        SealedKey record = SealedKey.of(v.hex("expected.record"));
        assertArrayEquals(v.hex("material"), envelope.open(record, metadata));
        assertEquals(new KekRef(v.get("kek.id"), Integer.parseInt(v.get("kek.version"))),
                Envelope.recordKek(record, metadata.id()));
    }

    @ParameterizedTest
    @MethodSource("vectors")
    void sealingTheSameInputsGivesTheSameBytes(Vector v) {
        byte[] dataKey = v.hex("dataKey");
        byte[] nonce = v.hex("nonce");
        Deque<byte[]> randomness = new ArrayDeque<>(List.of(concat(dataKey, nonce)));
        RandomSource fixed = bytes -> {
            byte[] next = randomness.pop();
            assertEquals(next.length, bytes.length, "the envelope draws the data key and the nonce at once");
            System.arraycopy(next, 0, bytes, 0, bytes.length);
        };
        Envelope envelope = new Envelope(KekDirectory.of(kek(v)), fixed);
        KeyMetadata metadata = metadata(v);
        assertArrayEquals(v.hex("expected.bound"), BoundMetadata.encode(metadata));
        assertEquals(v.get("expected.record"), HEX.formatHex(envelope.seal(metadata, v.hex("material")).bytes()));
        assertEquals(v.get("expected.lifecycleMac"), envelope.withLifecycleMac(metadata).lifecycleMac().orElseThrow());
        assertEquals(0, randomness.size());
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @ParameterizedTest
    @MethodSource("vectors")
    void theVectorsAreNotOpenedByAccident(Vector v) {
        Envelope envelope = new Envelope(KekDirectory.of(kek(v)));
        KeyMetadata metadata = metadata(v).toBuilder().lifecycleMac(v.get("expected.lifecycleMac")).build();
        byte[] record = v.hex("expected.record");
        record[record.length - 1] ^= 1;
        assertThrows(IntegrityException.class, () -> envelope.open(SealedKey.of(record), metadata));
        KeyMetadata otherRevision = metadata.toBuilder().revision(metadata.revision() + 1).build();
        assertThrows(IntegrityException.class, () -> envelope.verifyLifecycle(otherRevision));
    }
}
