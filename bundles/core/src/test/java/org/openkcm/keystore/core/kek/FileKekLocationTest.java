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
import org.openkcm.keystore.core.testing.CapturingLogger;
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
    void theDefaultFileIsInTheHomeElseKarafsDataFolderNeverTheBundleDataArea() {
        Path home = tmp.resolve("home");
        Path karafData = tmp.resolve("karaf/data");
        Path data = tmp.resolve("bundle-data/kek/local.kek");
        Path homeFolder = KekFolder.of(Map.of("openkcm.home", home.toString(), "karaf.data", karafData.toString())::get);
        assertEquals(home.resolve("data/kek").toAbsolutePath(), homeFolder, "openkcm.home wins over karaf.data");
        Path karafFolder = KekFolder.of(Map.of("karaf.data", karafData.toString())::get);
        assertEquals(karafData.resolve("openkcm/kek").toAbsolutePath(), karafFolder);
        assertEquals(null, KekFolder.of(Map.of("openkcm.home", " ")::get));

        assertEquals(homeFolder.resolve("local.kek"), FileKekProvider.resolve("", homeFolder, data.toFile(), null));
        assertEquals(karafFolder.resolve("local.kek"), FileKekProvider.resolve("", karafFolder, data.toFile(), null));
        assertEquals(homeFolder.resolve("known-keks"), KnownKeksComponent.resolve("", homeFolder));
        assertEquals(karafFolder.resolve("known-keks"), KnownKeksComponent.resolve(null, karafFolder),
                "the KEK file and its pins live together");
        assertEquals(Path.of("/etc/kek.ring"), FileKekProvider.resolve(" /etc/kek.ring ", homeFolder, data.toFile(),
                null), "a configured path wins");
        assertEquals(Path.of("/etc/known"), KnownKeksComponent.resolve("/etc/known", null));
    }

    @Test
    void withoutHomeKarafDataOrPathBothAreRefusedNamingOpenkcmHomeAndThePathAndNothingIsWritten() throws IOException {
        Path data = tmp.resolve("bundle-data/kek/local.kek");
        InvalidInputException file = assertThrows(InvalidInputException.class,
                () -> FileKekProvider.resolve("", null, data.toFile(), null));
        assertEquals("invalid org.openkcm.keystore.kek.file path: is not set, and neither the framework property "
                + "openkcm.home nor karaf.data is: set openkcm.home (the KEK file is then ${openkcm.home}/data/kek/"
                + "local.kek) or the 'path' of org.openkcm.keystore.kek.file; it is never kept in the core bundle's "
                + "data area, which an uninstall of the bundle deletes", file.getMessage());
        InvalidInputException known = assertThrows(InvalidInputException.class,
                () -> KnownKeksComponent.resolve(" ", null));
        assertTrue(known.getMessage().startsWith("invalid org.openkcm.keystore.kek.known path: is not set, and "
                + "neither the framework property openkcm.home nor karaf.data is: set openkcm.home (the known-KEK "
                + "record is then ${openkcm.home}/data/kek/known-keks) or the 'path' of org.openkcm.keystore.kek.known"),
                known.getMessage());
        try (var left = Files.list(tmp)) {
            assertEquals(0, left.count(), "nothing written");
        }
    }

    @Test
    void aKnownKekRecordInTheDataAreaMovesToTheFolderAndKeepsItsPins() {
        Path old = tmp.resolve("bundle-data/kek/known-keks");
        KnownKeks before = KnownKeks.open(old);
        before.pin(FileKekProvider.open(tmp.resolve("a/local.kek"), "local", true), true);
        Path target = tmp.resolve("home/data/kek/known-keks");

        assertTrue(KnownKeks.moveIfAbsent(old, target));
        assertFalse(Files.exists(old));
        assertEquals(List.of(1), KnownKeks.open(target).usedVersions("local"));
        assertFalse(KnownKeks.moveIfAbsent(old, target), "nothing left to move");
    }

    @Test
    void aFileInTheDataAreaIsMovedToTheHomeAndKeepsOpeningWhatItWrapped() throws IOException {
        Path data = tmp.resolve("bundle-data/kek/local.kek");
        Files.createDirectories(data.getParent(), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        FileKekProvider old = FileKekProvider.open(data, "local", true);
        byte[] wrapped = old.wrap(1, DATA_KEY);

        Path home = tmp.resolve("home");
        Path moved = FileKekProvider.resolve("", home.resolve("data/kek"), data.toFile(), null);
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
        assertEquals(inHome, FileKekProvider.resolve("", inHome.getParent(), data.toFile(), null));
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
    void aFreshKekInAHomeWithoutKeyFileOrRecordIsCreatedWithOneWarningLine() {
        Path before = tmp.resolve("old-home/data/kek");
        KnownKeks oldRecord = KnownKeks.open(before.resolve("known-keks"));
        oldRecord.pin(FileKekProvider.open(before.resolve("local.kek"), "local", true, oldRecord), true);

        // openkcm.home changed: the key file and the record are both absent in the new home
        Path folder = tmp.resolve("new-home/data/kek");
        Path record = folder.resolve("known-keks");
        KnownKeks known = KnownKeks.open(record);
        CapturingLogger log = new CapturingLogger();
        FileKekProvider.open(folder.resolve("local.kek"), "local", true, known, log.logger());
        List<String> warnings = log.lines().stream().filter(l -> l.startsWith("warn ")).toList();
        assertEquals(1, warnings.size(), log.text());
        String warning = warnings.get(0);
        assertFalse(warning.contains("\n"), warning);
        assertTrue(warning.contains("Created a fresh KEK file {} (mode 0600) with a new 256-bit KEK '{}' version 1: no "
                + "KEK file and no known-KEK record of '{}' were found there (record: {}); records sealed under an earlier "
                + "KEK (e.g. under a previous openkcm.home) will not open under this one: if keys were stored before, "
                + "stop the runtime and restore that home's data/kek (local.kek and known-keks) instead"), warning);
        assertTrue(warning.contains("[" + folder.resolve("local.kek") + ", local, local, " + record + "]"),
                "names the key file and the record: " + warning);

        // the next start reads the file it created: no warning
        CapturingLogger again = new CapturingLogger();
        FileKekProvider.open(folder.resolve("local.kek"), "local", true, known, again.logger());
        assertFalse(again.text().contains("warn "), again.text());
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
