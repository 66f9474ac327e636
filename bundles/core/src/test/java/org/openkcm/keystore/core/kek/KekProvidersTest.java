package org.openkcm.keystore.core.kek;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.crypto.RandomSource;
import org.openkcm.keystore.core.testing.TestKeks;

/** The local key file and the environment/file reference providers. */
class KekProvidersTest {
    private static final byte[] DATA_KEY = TestKeks.kek(99);

    @TempDir
    Path dir;

    @Test
    void keyFileIsCreatedOwnerOnlyOnFirstStart() throws Exception {
        Path file = dir.resolve("sub/kek/local.kek");
        FileKekProvider provider = FileKekProvider.open(file, "local", true);
        assertTrue(Files.exists(file));
        assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(file));
        assertEquals(PosixFilePermissions.fromString("rwx------"), Files.getPosixFilePermissions(file.getParent()));
        assertEquals(List.of(1), provider.versions());
        assertEquals(1, provider.currentVersion());
        assertEquals("local", provider.kekId());
        byte[] wrapped = provider.wrap(1, DATA_KEY);
        assertArrayEquals(DATA_KEY, provider.unwrap(1, wrapped));

        // A second start reads the same file: what was wrapped still unwraps.
        FileKekProvider again = FileKekProvider.open(file, "local", true);
        assertArrayEquals(DATA_KEY, again.unwrap(1, wrapped));
    }

    @Test
    void absentFileWithoutCreateIsUnavailable() {
        assertThrows(UnavailableException.class, () -> FileKekProvider.open(dir.resolve("none.kek"), "local", false));
        assertFalse(Files.exists(dir.resolve("none.kek")));
    }

    @ParameterizedTest
    @ValueSource(strings = {"rw-r--r--", "rw-r-----", "rw----r--", "rw--w----", "r-----r--", "rwx---rwx"})
    void keyFileThatGroupOrOthersMayAccessIsRefused(String mode) throws Exception {
        Path file = TestKeks.writeRing(dir.resolve("loose.kek"), mode, Map.of(1, TestKeks.kek(1)));
        byte[] before = Files.readAllBytes(file);
        PolicyRefusedException e = assertThrows(PolicyRefusedException.class,
                () -> FileKekProvider.open(file, "local", true));
        assertTrue(e.getMessage().contains("chmod 600") && e.getMessage().contains(file.toString()), e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(file), "the file is left as it was");
        assertEquals(PosixFilePermissions.fromString(mode), Files.getPosixFilePermissions(file));
    }

    @Test
    void aLooseKeyFileIsNamedWithItsModeAndWhoMayAccessIt() throws Exception {
        Path file = TestKeks.writeRing(dir.resolve("local.kek"), "rw-r--r--", Map.of(1, TestKeks.kek(1)));
        PolicyRefusedException e = assertThrows(PolicyRefusedException.class,
                () -> FileKekProvider.open(file, "local", true));
        assertEquals("refused by policy: the KEK file " + file + " is readable by group and others (mode 0644); "
                + "a KEK file must be owner-only: chmod 600 " + file, e.getMessage());
        Path writable = TestKeks.writeRing(dir.resolve("w.kek"), "rw--w----", Map.of(1, TestKeks.kek(1)));
        assertTrue(assertThrows(PolicyRefusedException.class, () -> FileKekProvider.open(writable, "local", true))
                .getMessage().contains("is writable by group (mode 0620)"));
    }

    @Test
    void malformedKeyFileIsAClearTypedError() throws Exception {
        Path wrongLength = TestKeks.writeText(dir.resolve("short.kek"), "rw-------",
                "1:" + Base64.getEncoder().encodeToString(new byte[24]) + "\n");
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> FileKekProvider.open(wrongLength, "local", true));
        assertTrue(e.getMessage().contains(wrongLength.toString()) && e.getMessage().contains("32 bytes"), e.getMessage());

        Path badEncoding = TestKeks.writeText(dir.resolve("bad.kek"), "rw-------", "1:not*base64*at*all\n");
        assertThrows(InvalidInputException.class, () -> FileKekProvider.open(badEncoding, "local", true));
    }

    @Test
    void badKekIdIsRefused() {
        assertThrows(InvalidInputException.class, () -> FileKekProvider.open(dir.resolve("a.kek"), "../x", true));
        assertFalse(Files.exists(dir.resolve("a.kek")), "nothing is created for a refused configuration");
    }

    @Test
    void newestVersionSealsAndEveryVersionOpens() throws Exception {
        Path file = dir.resolve("ring.kek");
        FileKekProvider provider = FileKekProvider.open(file, "local", true);
        byte[] underV1 = provider.wrap(provider.currentVersion(), DATA_KEY);
        byte[] macV1 = provider.mac(1, new byte[] {1, 2, 3});

        assertEquals(2, KekFile.addVersion(file, RandomSource.secure()));
        assertEquals(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE),
                Files.getPosixFilePermissions(file), "the replaced file is owner-only too");
        provider.reload();
        assertEquals(List.of(1, 2), provider.versions());
        assertEquals(2, provider.currentVersion());
        byte[] underV2 = provider.wrap(2, DATA_KEY);
        assertArrayEquals(DATA_KEY, provider.unwrap(1, underV1));
        assertArrayEquals(DATA_KEY, provider.unwrap(2, underV2));
        assertArrayEquals(macV1, provider.mac(1, new byte[] {1, 2, 3}), "version 1's MAC key is unchanged");
        assertNotEquals(List.of(macV1), List.of(provider.mac(2, new byte[] {1, 2, 3})));
        // A key wrapped under one version does not unwrap under another.
        assertThrows(IntegrityException.class, () -> provider.unwrap(2, underV1));
        assertThrows(UnavailableException.class, () -> provider.unwrap(3, underV2));
    }

    @Test
    void referenceFromAnEnvironmentVariable() {
        String ring = "1:" + Base64.getEncoder().encodeToString(TestKeks.kek(1)) + ",2:"
                + Base64.getUrlEncoder().encodeToString(TestKeks.kek(2));
        ReferenceKekProvider provider = ReferenceKekProvider.open("external", "OPENKCM_KEK", "",
                name -> name.equals("OPENKCM_KEK") ? ring : null);
        assertEquals(List.of(1, 2), provider.versions());
        assertEquals(2, provider.currentVersion());
        byte[] wrapped = provider.wrap(2, DATA_KEY);
        // The same KEK bytes in another provider unwrap it: the ring is exactly what the variable held.
        TestKeks.Fixed same = TestKeks.fixed("external", 1, 2);
        assertArrayEquals(DATA_KEY, same.unwrap(2, wrapped));

        ReferenceKekProvider single = ReferenceKekProvider.open("external", "K", "",
                name -> Base64.getEncoder().encodeToString(TestKeks.kek(7)));
        assertEquals(List.of(1), single.versions());
    }

    @Test
    void referenceFromAFile() throws Exception {
        Path file = TestKeks.writeRing(dir.resolve("secret"), "r--------", Map.of(3, TestKeks.kek(3)));
        ReferenceKekProvider provider = ReferenceKekProvider.open("mounted", "", file.toString(), name -> null);
        assertEquals(List.of(3), provider.versions());
        Path loose = TestKeks.writeRing(dir.resolve("loose"), "rw-r--r--", Map.of(3, TestKeks.kek(3)));
        assertThrows(PolicyRefusedException.class, () -> ReferenceKekProvider.open("mounted", "", loose.toString(),
                name -> null));
    }

    @Test
    void referenceMisconfigurationIsAClearTypedError() {
        String secret = Base64.getEncoder().encodeToString(new byte[20]);
        assertThrows(InvalidInputException.class, () -> ReferenceKekProvider.open("x", "", "", n -> null), "neither");
        assertThrows(InvalidInputException.class, () -> ReferenceKekProvider.open("x", "A", "/tmp/f", n -> null), "both");
        assertThrows(InvalidInputException.class, () -> ReferenceKekProvider.open("x", "BAD-NAME", "", n -> null));
        assertThrows(UnavailableException.class, () -> ReferenceKekProvider.open("x", "UNSET", "", n -> null));
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> ReferenceKekProvider.open("x", "SHORT", "", n -> secret));
        assertTrue(e.getMessage().contains("environment variable SHORT"), e.getMessage());
        assertFalse(e.getMessage().contains(secret), "the value is never echoed");
        assertThrows(InvalidInputException.class, () -> ReferenceKekProvider.open("x", "BAD", "", n -> "1:%%%%"));
    }

    @Test
    void unloadedProviderIsUnavailableAndWiped() throws Exception {
        FileKekProvider provider = FileKekProvider.open(dir.resolve("k.kek"), "local", true);
        provider.deactivate();
        assertThrows(UnavailableException.class, () -> provider.wrap(1, DATA_KEY));
    }
}
