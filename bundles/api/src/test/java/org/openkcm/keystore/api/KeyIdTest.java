package org.openkcm.keystore.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.Objects;

import org.junit.jupiter.api.Test;

class KeyIdTest {

    /** The hash is computed without Objects.hash's varargs array, but keeps its value (and so every map's order). */
    @Test
    void hashCodeKeepsTheValueOfObjectsHash() {
        for (String name : new String[] {"a", "tenant-kek", "k999999", "a.b_c-d"}) {
            for (int version : new int[] {1, 2, 127, 128, 65_535, 999_999_999}) {
                assertEquals(Objects.hash(name, version), KeyId.of(name, version).hashCode(), name + ":" + version);
            }
        }
    }

    @Test
    void equalIdsHashAlikeAndVersionsDiffer() {
        assertEquals(KeyId.of("k", 3).hashCode(), KeyId.of("k", 3).hashCode());
        assertNotEquals(KeyId.of("k", 3).hashCode(), KeyId.of("k", 4).hashCode());
    }
}
