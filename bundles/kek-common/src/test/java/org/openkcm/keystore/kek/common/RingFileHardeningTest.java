package org.openkcm.keystore.kek.common;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.Arrays;
import java.util.NavigableMap;
import java.util.TreeMap;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.kek.common.SealedRingFile.SealedVersion;

/**
 * A sealed ring file is read as the core reads its KEK file: without following a symbolic link,
 * from a folder no one else may write, owned by the process user and owner-only. Each refusal is
 * one line, loads nothing and leaves the file as it was; what the provider writes passes.
 */
class RingFileHardeningTest {
    @TempDir
    Path tmp;

    private Path folder;
    private Path file;
    private byte[] before;

    @BeforeEach
    void ring() throws IOException {
        folder = tmp.resolve("data/kek");
        file = folder.resolve("transit.ring");
        NavigableMap<Integer, SealedVersion> sealed = new TreeMap<>();
        byte[] checkValue = new byte[KekProvider.MAC_BYTES];
        Arrays.fill(checkValue, (byte) 7);
        sealed.put(1, new SealedVersion(new byte[] {1, 2, 3, 4}, checkValue));
        SealedRingFile.write(file, "transit", "a test root", sealed);
        before = Files.readAllBytes(file);
    }

    private PolicyRefusedException refused(Path path) {
        PolicyRefusedException e = assertThrows(PolicyRefusedException.class, () -> SealedRingFile.read(path, "transit"));
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e;
    }

    private static String mode(Path path) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
    }

    @Test
    void aWrittenRingIsOwnerOnlyInAnOwnerOnlyFolderAndReadsBack() throws IOException {
        assertEquals("rw-------", mode(file));
        assertEquals("rwx------", mode(folder));
        assertEquals("rwx------", mode(folder.getParent()), "every folder the write creates is owner-only");
        NavigableMap<Integer, SealedVersion> read = SealedRingFile.read(file, "transit");
        assertEquals(java.util.List.of(1), java.util.List.copyOf(read.keySet()));
        assertArrayEquals(new byte[] {1, 2, 3, 4}, read.get(1).sealed());
    }

    @Test
    void aSymbolicLinkToTheRingIsRefused() throws IOException {
        Path link = Files.createSymbolicLink(folder.resolve("link.ring"), file);
        assertEquals("refused by policy: the sealed KEK ring " + link + " is a symbolic link; a sealed KEK ring must be "
                + "the file itself, opened without following links", refused(link).getMessage());
        assertTrue(Files.isSymbolicLink(link), "left as it was");
        assertArrayEquals(before, Files.readAllBytes(file));
    }

    @Test
    void aDanglingSymbolicLinkIsRefusedNotTakenForNoRing() throws IOException {
        Path link = Files.createSymbolicLink(folder.resolve("dangling.ring"), tmp.resolve("elsewhere.ring"));
        assertTrue(refused(link).getMessage().contains("is a symbolic link"));
        assertFalse(Files.exists(tmp.resolve("elsewhere.ring")));
    }

    @Test
    void aGroupWritableFolderIsRefused() throws IOException {
        Files.setPosixFilePermissions(folder, PosixFilePermissions.fromString("rwxrwx---"));
        assertEquals("refused by policy: the folder " + folder + " of the sealed KEK ring " + file + " is writable by "
                + "group (mode 0770), so another user could replace the sealed KEK ring: chmod go-w " + folder,
                refused(file).getMessage());
        assertArrayEquals(before, Files.readAllBytes(file));
    }

    @Test
    void anAbsentRingInAGroupWritableFolderIsRefusedSoNoFreshRingIsWrittenThere() throws IOException {
        Files.setPosixFilePermissions(folder, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path absent = folder.resolve("other.ring");
        assertTrue(refused(absent).getMessage().contains("is writable by group and others (mode 0777)"));
        assertFalse(Files.exists(absent));
    }

    @Test
    void aGroupReadableRingIsRefused() throws IOException {
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r-----"));
        assertEquals("refused by policy: the sealed KEK ring " + file + " is readable by group (mode 0640); a sealed KEK "
                + "ring must be owner-only: chmod 600 " + file, refused(file).getMessage());
        assertEquals("rw-r-----", mode(file), "left as it was");
    }

    @Test
    void aGroupWritableRingIsRefused() throws IOException {
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-rw----"));
        assertTrue(refused(file).getMessage().contains(" is readable and writable by group (mode 0660); a sealed KEK "
                + "ring must be owner-only"));
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-----w-"));
        assertTrue(refused(file).getMessage().contains(" is writable by others (mode 0602)"));
        assertArrayEquals(before, Files.readAllBytes(file));
    }

    @Test
    void aRingOfAnotherUserIsRefused() throws IOException {
        Files.setOwner(file, nobody());
        PolicyRefusedException e = refused(file);
        assertTrue(e.getMessage().startsWith("refused by policy: the sealed KEK ring " + file + " belongs to nobody, not"
                + " to this process's user root: chown root " + file), e.getMessage());
    }

    @Test
    void aFolderOfAnotherUserIsRefused() throws IOException {
        Files.setOwner(folder, nobody());
        assertTrue(refused(file).getMessage().contains("the folder " + folder + " of the sealed KEK ring " + file
                + " belongs to nobody, not to this process's user root (or root)"));
    }

    /** As KekFileHardeningTest: CI runs as root and must not skip; a developer's non-root run skips these two. */
    private UserPrincipal nobody() throws IOException {
        boolean root = "root".equals(Files.getOwner(Path.of("/proc/self")).getName());
        if (System.getenv("CI") != null) {
            assertTrue(root, "CI runs the build as root: the owner checks need it to give a file to another user");
        }
        assumeTrue(root, "giving a file to another user needs root");
        return tmp.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
    }
}
