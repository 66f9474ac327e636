package org.openkcm.keystore.core.kek;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.Map;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.testing.TestKeks;

/**
 * The KEK file is read without following symbolic links, from a folder no one else may write, owned
 * by the process user, and the content read is that of the file checked. Each refusal leaves the
 * file as it was and loads nothing.
 */
class KekFileHardeningTest {
    @TempDir
    Path tmp;

    private Path folder;
    private Path file;
    private byte[] before;

    @BeforeEach
    void ring() throws IOException {
        folder = Files.createDirectory(tmp.resolve("kek"), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        file = TestKeks.writeRing(folder.resolve("local.kek"), "rw-------", Map.of(1, TestKeks.kek(1)));
        before = Files.readAllBytes(file);
    }

    private PolicyRefusedException refused(Path path) {
        PolicyRefusedException e = assertThrows(PolicyRefusedException.class, () -> FileKekProvider.open(path, "local", true));
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e;
    }

    /**
     * Root may give a file away: CI runs the build as root, so there (CI set) a non-root run fails
     * instead of skipping; a developer's non-root run skips only these owner cases.
     */
    private UserPrincipal nobody() throws IOException {
        boolean root = "root".equals(Files.getOwner(Path.of("/proc/self")).getName());
        if (System.getenv("CI") != null) {
            assertTrue(root, "CI runs the build as root: the owner checks need it to give a file to another user");
        }
        assumeTrue(root, "giving a file to another user needs root");
        return tmp.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
    }

    @Test
    void theRingFileReadsWhenEverythingIsInOrder() {
        assertEquals(java.util.List.of(1), FileKekProvider.open(file, "local", true).versions());
    }

    @Test
    void aSymbolicLinkToAnOwnerOnlyRingIsRefused() throws IOException {
        Path link = Files.createSymbolicLink(folder.resolve("link.kek"), file);
        PolicyRefusedException e = refused(link);
        assertEquals("refused by policy: the KEK file " + link + " is a symbolic link; a KEK file must be the file "
                + "itself, opened without following links", e.getMessage());
        assertTrue(Files.isSymbolicLink(link));
        assertArrayEquals(before, Files.readAllBytes(file));
    }

    @Test
    void aDanglingSymbolicLinkIsRefusedAndNoKekIsCreatedThroughIt() throws IOException {
        Path target = tmp.resolve("elsewhere.kek");
        Path link = Files.createSymbolicLink(folder.resolve("dangling.kek"), target);
        refused(link);
        assertFalse(Files.exists(target), "no fresh KEK was written through the link");
    }

    @Test
    void aFileOfAnotherUserIsRefused() throws IOException {
        Files.setOwner(file, nobody());
        PolicyRefusedException e = refused(file);
        assertTrue(e.getMessage().startsWith("refused by policy: the KEK file " + file + " belongs to nobody, not to "
                + "this process's user root: chown root " + file), e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(file));
    }

    @Test
    void aGroupWritableFolderIsRefused() throws IOException {
        Files.setPosixFilePermissions(folder, PosixFilePermissions.fromString("rwxrwx---"));
        PolicyRefusedException e = refused(file);
        assertEquals("refused by policy: the folder " + folder + " of the KEK file " + file + " is writable by group "
                + "(mode 0770), so another user could replace the KEK file: chmod go-w " + folder, e.getMessage());
    }

    @Test
    void aWorldWritableFolderIsRefused() throws IOException {
        Files.setPosixFilePermissions(folder, PosixFilePermissions.fromString("rwxr-xrwx"));
        assertTrue(refused(file).getMessage().contains("is writable by others (mode 0757)"));
    }

    @Test
    void aFolderOfAnotherUserIsRefused() throws IOException {
        Files.setOwner(folder, nobody());
        PolicyRefusedException e = refused(file);
        assertTrue(e.getMessage().contains("the folder " + folder + " of the KEK file " + file + " belongs to nobody"),
                e.getMessage());
    }

    @Test
    void aFileReplacedAfterItWasCheckedIsRefused() throws IOException {
        Path other = TestKeks.writeRing(folder.resolve("other.kek"), "rw-------", Map.of(1, TestKeks.kek(2)));
        PolicyRefusedException e = assertThrows(PolicyRefusedException.class, () -> KekFile.read(file, () -> {
            try {
                Files.move(other, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException io) {
                throw new AssertionError(io);
            }
        }));
        assertEquals("refused by policy: the KEK file " + file + " was replaced while it was read; nothing was loaded "
                + "from it", e.getMessage());
    }

    @Test
    void aMissingFolderIsAMissingFile() {
        Path missing = tmp.resolve("none/local.kek");
        UnavailableException e = assertThrows(UnavailableException.class, () -> KekFile.read(missing));
        assertTrue(e.getMessage().contains("the KEK file " + missing + " does not exist"), e.getMessage());
        assertFalse(Files.exists(missing.getParent(), LinkOption.NOFOLLOW_LINKS));
    }
}
