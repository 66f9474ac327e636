package org.openkcm.keystore.core.operations;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.OwnerKind;
import org.openkcm.keystore.api.StoredKey;

/** Every tier, algorithm and size offered survives generate/import and get, with every metadata field kept. */
class RoundTripTest {

    static Stream<Arguments> everyTierAlgorithmAndSize() {
        List<Arguments> all = new ArrayList<>();
        for (KeyType type : KeyType.values()) {
            Algorithms.OFFERED.forEach((algorithm, sizes) -> sizes.forEach(size -> all.add(Arguments.of(type, algorithm, size))));
        }
        return all.stream();
    }

    /** An L3 or L4 key's parent must be an ACTIVE key held here (an L2 key's, an L1 key, is held elsewhere). */
    private static void storeParent(Fixture f, KeyType type) {
        if (type != KeyType.L2) {
            f.ops.generate(KeySpec.builder().name("parent-" + type).type(KeyType.values()[type.ordinal() - 1])
                    .algorithm("AES").keySize(256).owner(Owner.tenant("t")).build());
        }
    }

    private static KeySpec spec(String name, KeyType type, String algorithm, int size) {
        return KeySpec.builder().name(name).type(type).algorithm(algorithm).keySize(size)
                .owner(Owner.of(OwnerKind.values()[type.ordinal()], "owner-" + type)).region("eu-central-1")
                .parent(KeyId.of("parent-" + type, type == KeyType.L2 ? 7 : 1)).expiry(Instant.parse("2030-01-01T00:00:00.5Z"))
                .tags(Map.of("app", "billing", "tier", type.name())).build();
    }

    private static void assertSpecKept(KeySpec spec, KeyMetadata m, Instant now) {
        assertEquals(KeyId.of(spec.name(), 1), m.id());
        assertEquals(spec.type(), m.type());
        assertEquals(spec.algorithm(), m.algorithm());
        assertEquals(spec.keySize(), m.keySize());
        assertEquals(spec.owner(), m.owner());
        assertEquals(spec.region(), m.region());
        assertEquals(spec.parent(), m.parent());
        assertEquals(spec.expiry(), m.expiry());
        assertEquals(spec.tags(), m.tags());
        assertEquals(KeyStatus.ACTIVE, m.status());
        assertEquals(1, m.revision());
        assertEquals(now, m.created());
        assertEquals(now, m.updated());
        assertTrue(m.lifecycleMac().isPresent());
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("everyTierAlgorithmAndSize")
    void generateThenGet(KeyType type, String algorithm, int size) {
        Fixture f = new Fixture();
        storeParent(f, type);
        KeySpec spec = spec("gen-" + algorithm.toLowerCase() + "-" + size, type, algorithm, size);
        KeyMetadata created = f.ops.generate(spec);
        assertSpecKept(spec, created, Fixture.T0);
        assertEquals(created, f.ops.metadata(created.id()));
        StoredKey stored = f.raw(created.id());
        assertEquals(created, stored.metadata(), "the backend holds exactly the metadata returned");
        try (KeyMaterial material = f.ops.get(created.id())) {
            assertEquals(size / 8, material.length());
            byte[] bytes = material.copyBytes();
            assertFalse(Arrays.equals(new byte[bytes.length], bytes), "material is not all zeros");
            assertTrue(stored.sealed().length() > bytes.length, "the backend holds a sealed record, not the material");
        }
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("everyTierAlgorithmAndSize")
    void importThenGet(KeyType type, String algorithm, int size) {
        Fixture f = new Fixture();
        storeParent(f, type);
        KeySpec spec = spec("imp-" + algorithm.toLowerCase() + "-" + size, type, algorithm, size);
        byte[] given = new byte[size / 8];
        for (int i = 0; i < given.length; i++) {
            given[i] = (byte) (i * 13 + size);
        }
        KeyMetadata created;
        try (KeyMaterial material = KeyMaterial.copyOf(given)) {
            created = f.ops.importKey(spec, material);
        }
        assertSpecKept(spec, created, Fixture.T0);
        assertArrayEquals(given, f.material(created.id()));
        assertEquals(created, f.ops.metadata(created.id()));
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("everyTierAlgorithmAndSize")
    void lowerCaseAlgorithmNamesAreStoredCanonically(KeyType type, String algorithm, int size) {
        Fixture f = new Fixture();
        KeyMetadata m = f.ops.generate(KeySpec.builder().name("lc").type(type).algorithm(algorithm.toLowerCase())
                .keySize(size).owner(Owner.tenant("t")).build());
        assertEquals(algorithm, m.algorithm());
        assertEquals(size / 8, f.material(m.id()).length);
    }
}
