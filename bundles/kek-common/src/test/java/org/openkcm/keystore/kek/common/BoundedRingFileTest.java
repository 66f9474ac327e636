package org.openkcm.keystore.kek.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.InvalidInputException;

/** A sealed ring file (Transit, PKCS#11, AWS KMS) that is a FIFO or over the cap is refused before it is read. */
class BoundedRingFileTest {

    @TempDir
    Path dir;

    @Test
    void aFifoIsRefusedWithoutBlocking() throws Exception {
        Path fifo = dir.resolve("transit.ring");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor(), "mkfifo");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> SealedRingFile.read(fifo, "transit"));
        assertEquals("ring.file", e.field());
        assertTrue(e.getMessage().contains(fifo + ": not a regular file (a FIFO, socket or device): not a sealed KEK ring"),
                e.getMessage());
        assertTrue(Files.readAttributes(fifo, java.nio.file.attribute.BasicFileAttributes.class).isOther(), "left as it was");
    }

    @Test
    void anOversizedFileIsRefusedAndLeftAsItWas() throws Exception {
        Path big = dir.resolve("big.ring");
        try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(SealedRingFile.MAX_BYTES + 1L);
        }
        // owner-only, as a ring file must be (RingFileHardeningTest): the size is what is refused here
        Files.setPosixFilePermissions(big, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> SealedRingFile.read(big, "transit"));
        assertTrue(e.getMessage().contains(big + ": larger than " + SealedRingFile.MAX_BYTES + " bytes"), e.getMessage());
        assertEquals(SealedRingFile.MAX_BYTES + 1L, Files.size(big));
    }

    @Test
    void aMissingFileIsStillNoRing() {
        assertNull(SealedRingFile.read(dir.resolve("absent.ring"), "transit"));
    }
}
