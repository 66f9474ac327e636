package org.openkcm.keystore.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class KeyMaterialTest {

    @Test
    void closingWipesTheBytesItOwns() {
        byte[] owned = {1, 2, 3, 4};
        KeyMaterial material = KeyMaterial.wrap(owned);
        assertEquals(4, material.length());

        material.close();

        assertArrayEquals(new byte[4], owned);
        assertTrue(material.isClosed());
        assertThrows(IllegalStateException.class, material::copyBytes);
    }

    @Test
    void copyOfLeavesTheCallersArrayAlone() {
        byte[] callers = {9, 9};
        try (KeyMaterial material = KeyMaterial.copyOf(callers)) {
            assertArrayEquals(callers, material.copyBytes());
        }
        assertArrayEquals(new byte[] {9, 9}, callers);
    }

    @Test
    void toStringNeverRevealsBytes() {
        try (KeyMaterial material = KeyMaterial.copyOf(new byte[] {0x41, 0x42, 0x43})) {
            assertEquals("KeyMaterial[3 bytes]", material.toString());
            assertFalse(material.toString().contains("ABC"));
        }
    }

    @Test
    void readOnlyViewCannotWrite() {
        try (KeyMaterial material = KeyMaterial.copyOf(new byte[] {1})) {
            assertThrows(java.nio.ReadOnlyBufferException.class, () -> material.asReadOnlyBuffer().put((byte) 2));
        }
    }

    @Test
    void sealedKeyCopiesAndHidesItsBytes() {
        byte[] bytes = {1, 2, 3};
        SealedKey sealed = SealedKey.of(bytes);
        bytes[0] = 7;
        assertEquals(1, sealed.bytes()[0]);
        assertEquals("SealedKey[3 bytes]", sealed.toString());
    }
}
