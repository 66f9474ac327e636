package org.openkcm.keystore.core.operations;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.core.kek.FileKekProvider;
import org.openkcm.keystore.core.kek.ReferenceKekProvider;
import org.openkcm.keystore.core.testing.TestKeks;

/** Bad input gets a clear typed error and changes nothing in the backend. */
class BadInputTest {
    private final Fixture f = new Fixture();
    private Map<KeyId, StoredKey> before;
    private KeyMetadata existing;

    @TempDir
    Path dir;

    @BeforeEach
    void someKeysExist() {
        existing = f.ops.generate(Fixture.spec("existing").build());
        f.ops.generate(Fixture.spec("other").algorithm("HMAC-SHA256").build());
        before = f.snapshot();
    }

    private void assertUnchanged() {
        assertEquals(before, f.snapshot(), "the backend is unchanged");
    }

    @Test
    void unknownAlgorithm() {
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> f.ops.generate(Fixture.spec("new").algorithm("DES").build()));
        assertEquals("algorithm", e.field());
        assertTrue(e.getMessage().contains("AES"), e.getMessage());
        try (KeyMaterial m = KeyMaterial.copyOf(new byte[32])) {
            assertThrows(InvalidInputException.class, () -> f.ops.importKey(Fixture.spec("new").algorithm("RSA").build(), m));
        }
        assertUnchanged();
    }

    @Test
    void sizeNotAllowedForTheAlgorithm() {
        for (KeySpec spec : List.of(Fixture.spec("n").keySize(512).build(), Fixture.spec("n").keySize(100).build(),
                Fixture.spec("n").algorithm("HMAC-SHA256").keySize(128).build(),
                Fixture.spec("n").algorithm("HMAC-SHA512").keySize(256).build())) {
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> f.ops.generate(spec));
            assertEquals("keySize", e.field());
        }
        assertUnchanged();
    }

    @Test
    void missingOwnerOrSpec() {
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> f.ops.generate(KeySpec.builder().name("n").type(KeyType.L4).algorithm("AES").keySize(256).build()));
        assertEquals("owner", e.field());
        assertThrows(InvalidInputException.class, () -> f.ops.generate(null));
        assertThrows(InvalidInputException.class, () -> f.ops.importKey(Fixture.spec("n").build(), null));
        assertUnchanged();
    }

    @Test
    void materialOfTheWrongLength() {
        for (int length : new int[] {0, 16, 31, 33, 64}) {
            try (KeyMaterial m = KeyMaterial.copyOf(new byte[length])) {
                InvalidInputException e = assertThrows(InvalidInputException.class,
                        () -> f.ops.importKey(Fixture.spec("n").build(), m), "length " + length);
                assertEquals("material", e.field());
            }
        }
        KeyMaterial closed = KeyMaterial.copyOf(new byte[32]);
        closed.close();
        assertThrows(InvalidInputException.class, () -> f.ops.importKey(Fixture.spec("n").build(), closed));
        assertUnchanged();
    }

    @Test
    void badChanges() {
        assertThrows(InvalidInputException.class, () -> f.ops.changeStatus(existing.id(), null, 1));
        assertThrows(InvalidInputException.class, () -> f.ops.changeTags(existing.id(), Map.of("bad key!", "v"), 1));
        assertThrows(InvalidInputException.class, () -> f.ops.changeTags(existing.id(), null, 1));
        assertThrows(InvalidInputException.class, () -> f.ops.changeStatus(existing.id(), KeyStatus.DEPRECATED, 0));
        assertThrows(InvalidInputException.class, () -> f.ops.rotate("../etc"));
        assertThrows(InvalidInputException.class, () -> f.ops.get(null));
        assertThrows(InvalidInputException.class, () -> f.ops.deleteAllVersions(""));
        assertUnchanged();
    }

    @Test
    void aKekFileWithLoosePermissionsStartsNothingAndChangesNothing() throws Exception {
        Path file = TestKeks.writeRing(dir.resolve("loose.kek"), "rw-r--r--", Map.of(1, TestKeks.kek(1)));
        byte[] content = Files.readAllBytes(file);
        PolicyRefusedException e = assertThrows(PolicyRefusedException.class,
                () -> FileKekProvider.open(file, "local", true));
        assertTrue(e.getMessage().contains("owner-only"), e.getMessage());
        assertEquals(List.of(content.length), List.of(Files.readAllBytes(file).length));
        assertUnchanged();
    }

    @Test
    void aMalformedKekStartsNothingAndChangesNothing() throws Exception {
        Path shortKey = TestKeks.writeText(dir.resolve("short.kek"), "rw-------",
                "1:" + Base64.getEncoder().encodeToString(new byte[31]));
        assertThrows(InvalidInputException.class, () -> FileKekProvider.open(shortKey, "local", true));
        assertThrows(InvalidInputException.class,
                () -> ReferenceKekProvider.open("env", "OPENKCM_KEK", "", n -> "1:@@@not-base64@@@"));
        assertUnchanged();
    }
}
