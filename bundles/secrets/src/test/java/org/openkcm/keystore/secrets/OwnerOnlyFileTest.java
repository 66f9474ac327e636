package org.openkcm.keystore.secrets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shared checked read of key files, on its own; the core's KekFileHardeningTest and
 * kek-common's RingFileHardeningTest test it through the KEK file and the sealed ring.
 */
class OwnerOnlyFileTest {
    @TempDir
    Path tmp;

    private Path folder;
    private Path file;

    @BeforeEach
    void ownerOnlyFile() throws IOException {
        folder = Files.createDirectory(tmp.resolve("keys"));
        file = ownerOnly(folder.resolve("a.key"), new byte[] {1, 2, 3});
    }

    private static Path ownerOnly(Path path, byte[] content) throws IOException {
        Files.createFile(path, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        return Files.write(path, content);
    }

    @Test
    void readsTheProcessUsersOwnerOnlyFileInAFolderOthersCannotWrite() throws IOException {
        Files.setPosixFilePermissions(folder, PosixFilePermissions.fromString("rwxr-xr-x")); // others may read, not write
        assertArrayEquals(new byte[] {1, 2, 3}, OwnerOnlyFile.read(file, "key file", 16));
    }

    @Test
    void aFileReplacedBetweenTheCheckAndTheReadIsRefused() throws IOException {
        Path other = ownerOnly(folder.resolve("b.key"), new byte[] {9, 9, 9});
        UnsafeFileException e = assertThrows(UnsafeFileException.class, () -> OwnerOnlyFile.read(file, "key file", 16,
                () -> {
                    try {
                        Files.move(other, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    } catch (IOException io) {
                        throw new AssertionError(io);
                    }
                }));
        assertEquals("the key file " + file + " was replaced while it was read; nothing was loaded from it",
                e.getMessage());
    }

    @Test
    void aFifoIsRefusedBeforeItIsOpenedAndAnOversizedFileIsToldApart() throws Exception {
        Path fifo = Fifo.make(folder.resolve("fifo.key"));
        FileRefusedException notRegular = assertThrows(FileRefusedException.class,
                () -> OwnerOnlyFile.read(fifo, "key file", 16));
        assertEquals(fifo + ": not a regular file (a FIFO, socket or device)", notRegular.getMessage());
        assertFalse(notRegular.oversized());

        FileRefusedException big = assertThrows(FileRefusedException.class, () -> OwnerOnlyFile.read(file, "key file", 2));
        assertTrue(big.oversized(), big.getMessage());
        assertEquals(file + ": larger than 2 bytes", big.getMessage());
    }

    @Test
    void aMissingFileOrFolderIsNoSuchFile() {
        assertThrows(NoSuchFileException.class, () -> OwnerOnlyFile.read(folder.resolve("absent.key"), "key file", 16));
        assertThrows(NoSuchFileException.class, () -> OwnerOnlyFile.read(tmp.resolve("none/a.key"), "key file", 16));
    }
}
