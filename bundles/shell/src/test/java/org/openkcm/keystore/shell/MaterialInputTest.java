package org.openkcm.keystore.shell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.InvalidInputException;

/** {@code --file}: key material is read only from a regular file of at most 1 MiB; a FIFO never hangs the shell. */
class MaterialInputTest {

    @TempDir
    Path dir;

    private static final ByteArrayInputStream NO_STDIN = new ByteArrayInputStream(new byte[0]);

    @Test
    void aRegularFileIsRead() throws Exception {
        Path file = Files.writeString(dir.resolve("key.b64"), "AAECAw==\n");
        assertEquals(4, MaterialInput.read(file.toString(), "base64", NO_STDIN).length());
    }

    @Test
    void aFifoIsRefusedWithoutBlocking() throws Exception {
        Path fifo = dir.resolve("key");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor(), "mkfifo");
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> MaterialInput.read(fifo.toString(), "raw", NO_STDIN));
        assertEquals("--file", e.field());
        assertTrue(e.getMessage().contains("must name a regular file (or - for standard input): " + fifo
                + ": not a regular file (a FIFO, socket or device)"), e.getMessage());
    }

    @Test
    void anOversizedFileIsRefused() throws Exception {
        Path big = dir.resolve("big");
        try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(MaterialInput.MAX_INPUT_BYTES + 1L);
        }
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> MaterialInput.read(big.toString(), "raw", NO_STDIN));
        assertTrue(e.getMessage().contains("must be at most 1048576 bytes"), e.getMessage());
        assertEquals(MaterialInput.MAX_INPUT_BYTES + 1L, Files.size(big));
    }
}
