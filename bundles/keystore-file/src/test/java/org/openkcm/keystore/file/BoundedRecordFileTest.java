package org.openkcm.keystore.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.keystore.sdk.SampleKeys.minimal;
import static org.openkcm.keystore.sdk.SampleKeys.sealed;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyType;

/** A record file over the cap is never read into memory: the key is reported damaged, the file kept. */
class BoundedRecordFileTest {

    @TempDir
    Path folder;

    @Test
    void anOversizedRecordFileIsDamagedNotRead() throws Exception {
        Path root = folder.resolve("keys");
        KeyId big = KeyId.of("big", 1);
        KeyId small = KeyId.of("small", 1);
        Path file;
        try (FileKeystore keystore = new FileKeystore(root, "file", EnumSet.allOf(KeyType.class), null)) {
            keystore.storeKey(big, sealed(64), minimal(big).build());
            keystore.storeKey(small, sealed(2), minimal(small).build());
            file = keystore.file(big, keystore.retrieveKey(big).metadata().owner());
        }
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(FileKeystore.MAX_RECORD_FILE_BYTES + 1L);
        }
        try (FileKeystore keystore = new FileKeystore(root, "file", EnumSet.allOf(KeyType.class), null)) {
            IntegrityException e = assertThrows(IntegrityException.class, () -> keystore.retrieveKey(big));
            assertTrue(e.getMessage().contains(file + ": larger than 1048576 bytes"), e.getMessage());
            assertEquals(sealed(2), keystore.retrieveKey(small).sealed(), "other keys are served");
        }
        assertEquals(FileKeystore.MAX_RECORD_FILE_BYTES + 1L, Files.size(file), "the file is left for inspection");
    }
}
