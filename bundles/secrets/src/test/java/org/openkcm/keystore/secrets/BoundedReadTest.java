package org.openkcm.keystore.secrets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.secrets.BoundedRead.Links;

class BoundedReadTest {

    @TempDir
    Path dir;

    @Test
    void readsARegularFileUpToItsCap() throws Exception {
        Path file = Files.write(dir.resolve("f"), new byte[100]);
        assertEquals(100, BoundedRead.bytes(file, 100, Links.REFUSE).length);
        assertEquals(List.of("a", "b"), BoundedRead.lines(Files.writeString(dir.resolve("l"), "a\nb\n"), 10,
                Links.FOLLOW, StandardCharsets.US_ASCII));
    }

    @Test
    void anOversizedFileIsRefusedAndLeftAsItWas() throws Exception {
        Path file = Files.write(dir.resolve("big"), new byte[101]);
        FileRefusedException e = assertThrows(FileRefusedException.class, () -> BoundedRead.bytes(file, 100, Links.FOLLOW));
        assertEquals(file + ": larger than 100 bytes", e.getMessage());
        assertEquals(file, e.file());
        assertEquals(101, Files.size(file));
    }

    @Test
    void aFifoIsRefusedWithoutBlocking() throws Exception {
        Path fifo = Fifo.make(dir.resolve("fifo"));
        for (Links links : Links.values()) {
            FileRefusedException e = assertThrows(FileRefusedException.class, () -> BoundedRead.bytes(fifo, 100, links));
            assertEquals(fifo + ": not a regular file (a FIFO, socket or device)", e.getMessage());
        }
        assertThrows(FileRefusedException.class, () -> BoundedRead.stream(fifo, 100, Links.FOLLOW).close());
    }

    @Test
    void aDirectoryAndADeviceAreRefused() {
        assertEquals(dir + ": not a regular file (a directory)",
                assertThrows(FileRefusedException.class, () -> BoundedRead.bytes(dir, 100, Links.FOLLOW)).getMessage());
        Path zero = Path.of("/dev/zero");
        assertEquals(zero + ": not a regular file (a FIFO, socket or device)",
                assertThrows(FileRefusedException.class, () -> BoundedRead.bytes(zero, 100, Links.FOLLOW)).getMessage());
    }

    @Test
    void aLinkIsFollowedOrRefusedAsAsked() throws Exception {
        Path target = Files.writeString(dir.resolve("target"), "x");
        Path link = Files.createSymbolicLink(dir.resolve("link"), target);
        assertArrayEquals(new byte[] {'x'}, BoundedRead.bytes(link, 10, Links.FOLLOW));
        FileRefusedException e = assertThrows(FileRefusedException.class, () -> BoundedRead.bytes(link, 10, Links.REFUSE));
        assertEquals(link + ": is a symbolic link; it is read only as the file itself", e.getMessage());
        Path toFifo = Files.createSymbolicLink(dir.resolve("to-fifo"), Fifo.make(dir.resolve("fifo")));
        assertThrows(FileRefusedException.class, () -> BoundedRead.bytes(toFifo, 10, Links.FOLLOW));
    }

    @Test
    void aMissingFileIsNoSuchFile() {
        assertThrows(NoSuchFileException.class, () -> BoundedRead.bytes(dir.resolve("none"), 10, Links.FOLLOW));
    }

    @Test
    void theCapHoldsWhileReadingAFileThatGrewAfterTheCheck() throws Exception {
        Path file = Files.write(dir.resolve("grows"), new byte[10]);
        try (InputStream in = BoundedRead.stream(file, 10, Links.REFUSE)) {
            Files.write(file, new byte[50]);
            FileRefusedException e = assertThrows(FileRefusedException.class, in::readAllBytes);
            assertEquals(file + ": larger than 10 bytes", e.getMessage());
        }
    }
}
