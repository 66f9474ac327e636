package org.openkcm.keystore.core.inputs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.journal.IntentJournal;
import org.openkcm.keystore.core.journal.JournalSettings;
import org.openkcm.keystore.core.kek.KekFile;
import org.openkcm.keystore.core.kek.KnownKeks;
import org.openkcm.keystore.core.routing.LocationIndex;

/**
 * Every file the core reads at start (the intent journal, the location index, the known-KEK record,
 * the local KEK ring) is refused, with an error naming it, when it is a FIFO (which would block the
 * start for good) or larger than its cap (which would fill the heap); the file is left as it was.
 */
class BoundedInputsTest {

    @TempDir
    Path dir;

    private Path fifo(String name) throws IOException, InterruptedException {
        Path fifo = dir.resolve(name);
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor(), "mkfifo");
        return fifo;
    }

    /** A sparse file: its size is over the cap without writing that much. */
    private Path sparse(String name, long size) throws IOException {
        Path file = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(size);
        }
        return file;
    }

    @Test
    void aJournalThatIsAFifoOrOversizedIsRefused() throws Exception {
        Path fifo = fifo("intents.log");
        UnavailableException e = assertThrows(UnavailableException.class,
                () -> IntentJournal.open(JournalSettings.of(fifo), null));
        assertEquals("unavailable: the intent journal " + fifo + " cannot be opened: " + fifo
                + ": not a regular file (a FIFO, socket or device)", e.getMessage());
        assertTrue(Files.readAttributes(fifo, java.nio.file.attribute.BasicFileAttributes.class).isOther(), "left as it was");

        Path big = sparse("big.log", IntentJournal.MAX_FILE_BYTES + 1L);
        e = assertThrows(UnavailableException.class, () -> IntentJournal.open(JournalSettings.of(big), null));
        assertEquals("unavailable: the intent journal " + big + " cannot be opened: " + big + ": larger than 1073741824 bytes",
                e.getMessage());
        assertEquals(IntentJournal.MAX_FILE_BYTES + 1L, Files.size(big), "left as it was");
    }

    @Test
    void aLocationIndexThatIsAFifoOrOversizedIsRefused() throws Exception {
        Path fifo = fifo("locations.idx");
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> LocationIndex.open(fifo));
        assertEquals("the key location index " + fifo + " cannot be read or written: " + fifo
                + ": not a regular file (a FIFO, socket or device)", e.getMessage());

        Path big = sparse("big.idx", LocationIndex.MAX_FILE_BYTES + 1L);
        e = assertThrows(UncheckedIOException.class, () -> LocationIndex.open(big));
        assertTrue(e.getMessage().endsWith(big + ": larger than 536870912 bytes"), e.getMessage());
        assertEquals(LocationIndex.MAX_FILE_BYTES + 1L, Files.size(big), "left as it was");
    }

    @Test
    void aKnownKekRecordThatIsAFifoOrOversizedIsRefused() throws Exception {
        Path fifo = fifo("known-keks");
        UnavailableException e = assertThrows(UnavailableException.class, () -> KnownKeks.open(fifo));
        assertEquals("unavailable: the known-KEK record " + fifo + ": not a regular file (a FIFO, socket or device)", e.getMessage());

        Path big = sparse("known-keks-big", (1 << 20) + 1L);
        e = assertThrows(UnavailableException.class, () -> KnownKeks.open(big));
        assertEquals("unavailable: the known-KEK record " + big + ": larger than 1048576 bytes", e.getMessage());
    }

    @Test
    void aLocalKekFileThatIsAFifoOrOversizedIsRefused() throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        Path fifo = fifo("local.kek");
        Files.setPosixFilePermissions(fifo, PosixFilePermissions.fromString("rw-------"));
        RuntimeException e = assertThrows(RuntimeException.class, () -> KekFile.read(fifo));
        assertEquals("refused by policy: the KEK file " + fifo + " is not a regular file", e.getMessage());

        Path big = sparse("big.kek", 64 * 1024 + 1);
        Files.setPosixFilePermissions(big, PosixFilePermissions.fromString("rw-------"));
        InvalidInputException tooLarge = assertThrows(InvalidInputException.class, () -> KekFile.read(big));
        assertTrue(tooLarge.getMessage().contains("is larger than 65536 bytes"), tooLarge.getMessage());
        assertFalse(Files.size(big) < 64 * 1024, "left as it was");
    }
}
