package org.openkcm.keystore.core.kek;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.testing.TestKeks;

/**
 * Where the default KEK file lives (the runtime's home), the move of an earlier version's file out
 * of the bundle data area, and that a KEK id the known-KEK record knows never gets a fresh key.
 */
class FileKekLocationTest {
    private static final byte[] DATA_KEY = TestKeks.kek(42);

    @TempDir
    Path tmp;

    @Test
    void theDefaultFileIsInTheHome() {
        Path home = tmp.resolve("home");
        Path data = tmp.resolve("bundle-data/kek/local.kek");
        assertEquals(home.resolve("data/kek/local.kek"), FileKekProvider.resolve("", home.toString(), data.toFile(), null));
        assertEquals(Path.of("/etc/kek.ring"), FileKekProvider.resolve(" /etc/kek.ring ", home.toString(), data.toFile(),
                null), "a configured path wins");
        assertEquals(data, FileKekProvider.resolve("", null, data.toFile(), null), "without a home: the data area");
        assertThrows(UnavailableException.class, () -> FileKekProvider.resolve("", null, null, null));
    }

    @Test
    void aFileInTheDataAreaIsMovedToTheHomeAndKeepsOpeningWhatItWrapped() throws IOException {
        Path data = tmp.resolve("bundle-data/kek/local.kek");
        Files.createDirectories(data.getParent(), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        FileKekProvider old = FileKekProvider.open(data, "local", true);
        byte[] wrapped = old.wrap(1, DATA_KEY);

        Path home = tmp.resolve("home");
        Path moved = FileKekProvider.resolve("", home.toString(), data.toFile(), null);
        assertEquals(home.resolve("data/kek/local.kek"), moved);
        assertFalse(Files.exists(data), "the data area's copy is gone");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(moved)));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(moved.getParent())));
        assertArrayEquals(DATA_KEY, FileKekProvider.open(moved, "local", true).unwrap(1, wrapped));
    }

    @Test
    void aFileAlreadyInTheHomeIsKeptAndTheDataAreaLeftAlone() throws IOException {
        Path home = tmp.resolve("home");
        Path inHome = home.resolve("data/kek/local.kek");
        Files.createDirectories(inHome.getParent());
        Files.setPosixFilePermissions(inHome.getParent(), PosixFilePermissions.fromString("rwx------"));
        TestKeks.writeRing(inHome, "rw-------", Map.of(1, TestKeks.kek(1)));
        Path data = tmp.resolve("data.kek");
        TestKeks.writeRing(data, "rw-------", Map.of(1, TestKeks.kek(2)));
        assertEquals(inHome, FileKekProvider.resolve("", home.toString(), data.toFile(), null));
        assertArrayEquals(TestKeks.kek(1), KekFile.read(inHome).get(1), "the home's file is not overwritten");
        assertTrue(Files.exists(data));
    }

    @Test
    void aMissingFileOfAKnownKekIsAnErrorAndNoFreshKeyIsCreated() {
        KnownKeks known = KnownKeks.open(tmp.resolve("known-keks"));
        FileKekProvider first = FileKekProvider.open(tmp.resolve("a/local.kek"), "local", true, known);
        known.pin(first, true);

        Path moved = tmp.resolve("b/local.kek"); // the path changed, the file did not follow
        UnavailableException e = assertThrows(UnavailableException.class,
                () -> FileKekProvider.open(moved, "local", true, known));
        assertEquals("unavailable: the KEK file " + moved + " does not exist, but KEK 'local' was used before "
                + "(versions [1] in " + tmp.resolve("known-keks") + "): restore the file from its backup, or set 'path' "
                + "of org.openkcm.keystore.kek.file to where it is; a fresh KEK would leave every record sealed under "
                + "the old one unreadable, so none is created", e.getMessage());
        assertFalse(Files.exists(moved));
        assertFalse(Files.exists(moved.getParent()));

        // the record survives a restart (it is a file): still refused
        KnownKeks reread = KnownKeks.open(tmp.resolve("known-keks"));
        assertThrows(UnavailableException.class, () -> FileKekProvider.open(moved, "local", true, reread));
        // another KEK id is new: its file is created
        assertEquals(List.of(1), FileKekProvider.open(moved, "fresh", true, reread).versions());
    }

    @Test
    void aMalformedRecordIsRefusedNamingTheLine() throws IOException {
        Path record = tmp.resolve("known-keks");
        Files.writeString(record, "# header\nlocal 1 not-base64! used\n");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> KnownKeks.open(record));
        assertTrue(e.getMessage().contains(record + " line 2"), e.getMessage());
        Files.writeString(record, "local 1\n");
        assertThrows(InvalidInputException.class, () -> KnownKeks.open(record));
    }
}
