package org.openkcm.keystore.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.keystore.sdk.SampleKeys.full;
import static org.openkcm.keystore.sdk.SampleKeys.minimal;
import static org.openkcm.keystore.sdk.SampleKeys.sealed;

import java.nio.ByteBuffer;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.StoredKey;

/** The file format: round trips, and every torn or altered file refused. */
class RecordFormatTest {
    private static final KeyId ID = KeyId.of("k", 4);

    @Test
    void roundTripsEveryField() throws Exception {
        StoredKey full = StoredKey.of(sealed(300, 1), full(ID));
        StoredKey minimal = StoredKey.of(sealed(0, 2), minimal(ID).build());

        assertEquals(full, RecordFormat.decode(RecordFormat.encode(full.sealed(), full.metadata())));
        assertEquals(minimal, RecordFormat.decode(RecordFormat.encode(minimal.sealed(), minimal.metadata())));
    }

    @Test
    void everyPrefixOfAFileIsRefused() {
        byte[] file = RecordFormat.encode(sealed(200, 3), full(ID));
        for (int length = 0; length < file.length; length++) {
            byte[] torn = Arrays.copyOf(file, length);
            assertThrows(RecordFormat.Damaged.class, () -> RecordFormat.decode(torn), "prefix of " + length + " bytes");
        }
    }

    @Test
    void everySingleBitFlipIsRefused() {
        byte[] file = RecordFormat.encode(sealed(100, 4), full(ID));
        for (int bit = 0; bit < file.length * 8; bit++) {
            byte[] flipped = file.clone();
            flipped[bit / 8] ^= (byte) (1 << (bit % 8));
            assertThrows(RecordFormat.Damaged.class, () -> RecordFormat.decode(flipped), "bit " + bit);
        }
    }

    @Test
    void extraBytesAfterTheRecordAreRefused() {
        byte[] file = RecordFormat.encode(sealed(10, 5), minimal(ID).build());
        byte[] longer = Arrays.copyOf(file, file.length + 1);

        RecordFormat.Damaged e = assertThrows(RecordFormat.Damaged.class, () -> RecordFormat.decode(longer));
        assertTrue(e.getMessage().contains("torn"), e.getMessage());
    }

    @Test
    void anUnknownFormatVersionIsRefusedByName() {
        byte[] file = RecordFormat.encode(sealed(10, 6), minimal(ID).build());
        ByteBuffer.wrap(file).putShort(RecordFormat.MAGIC.length, (short) 2);

        RecordFormat.Damaged e = assertThrows(RecordFormat.Damaged.class, () -> RecordFormat.decode(file));
        assertTrue(e.getMessage().contains("unknown format version 2"), e.getMessage());
    }

    @Test
    void aValidChecksumOverContentTheApiRefusesIsStillRefused() {
        // content rewritten consistently (checksum recomputed) but holding a name no key may have
        byte[] file = RecordFormat.encode(sealed(10, 7), minimal(KeyId.of("ab", 1)).build());
        int nameAt = RecordFormat.HEADER + 2;
        file[nameAt] = '/';
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(file, RecordFormat.MAGIC.length, 6);
        crc.update(file, RecordFormat.HEADER, file.length - RecordFormat.HEADER);
        ByteBuffer.wrap(file).putInt(RecordFormat.MAGIC.length + 6, (int) crc.getValue());

        RecordFormat.Damaged e = assertThrows(RecordFormat.Damaged.class, () -> RecordFormat.decode(file));
        assertTrue(e.getMessage().contains("keyId.name"), e.getMessage());
    }
}
