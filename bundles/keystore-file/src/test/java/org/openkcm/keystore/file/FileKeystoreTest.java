package org.openkcm.keystore.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.keystore.sdk.SampleKeys.full;
import static org.openkcm.keystore.sdk.SampleKeys.minimal;
import static org.openkcm.keystore.sdk.SampleKeys.sealed;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.EnumSet;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;

/** What the conformance suite cannot see: the files, the folder lock, damage, leftovers and reopening. */
class FileKeystoreTest {

    @TempDir
    Path folder;

    private Path root;
    private FileKeystore keystore;

    @AfterEach
    void closeKeystore() {
        if (keystore != null) {
            keystore.close();
        }
    }

    private FileKeystore open() {
        if (root == null) {
            root = folder.resolve("keys");
        }
        keystore = new FileKeystore(root, "file", EnumSet.allOf(KeyType.class), null);
        return keystore;
    }

    private FileKeystore reopen() {
        keystore.close();
        return open();
    }

    // ---- layout and persistence ----

    @Test
    void eachKeyVersionIsOneFileInAFolderPerOwnerAndName() throws IOException {
        open();
        KeyId id = KeyId.of("tenant-kek", 3);
        keystore.storeKey(id, sealed(1), minimal(id).owner(Owner.service("payments")).build());

        Path file = keystore.root().resolve("service/payments/tenant-kek/3.rec");
        assertTrue(Files.isRegularFile(file), "stored at " + file);
        assertEquals(List.of(file), recordFiles());
        assertEquals(root.toRealPath(), keystore.root());
    }

    @Test
    void everythingSurvivesReopening() {
        open();
        KeyId a = KeyId.of("a", 1);
        KeyId b = KeyId.of("b", 2);
        KeyId gone = KeyId.of("gone", 1);
        keystore.storeKey(a, sealed(1), full(a));
        keystore.storeKey(b, sealed(2), minimal(b).build());
        keystore.storeKey(gone, sealed(3), minimal(gone).build());
        KeyMetadata updated = keystore.updateKeyMetadata(b,
                minimal(b).status(KeyStatus.DEPRECATED).revision(2).build());
        keystore.rewrapKey(a, sealed(10), full(a).revision());
        assertTrue(keystore.deleteKey(gone));

        reopen();

        assertEquals(StoredKey.of(sealed(10), full(a)), keystore.retrieveKey(a));
        assertEquals(StoredKey.of(sealed(2), updated), keystore.retrieveKey(b));
        assertThrows(KeyNotFoundException.class, () -> keystore.retrieveKey(gone));
        assertEquals(List.of(a, b), ids());
        assertFalse(Files.exists(keystore.root().resolve("tenant/acme/gone")), "an emptied name folder is removed");
    }

    @Test
    void theFileStartsWithTheMagicAndDecodesToWhatWasStored() throws IOException {
        open();
        KeyId id = KeyId.of("k", 1);
        keystore.storeKey(id, sealed(1), minimal(id).build());
        byte[] file = Files.readAllBytes(recordFiles().get(0));

        assertArrayEquals(RecordFormat.MAGIC, java.util.Arrays.copyOf(file, RecordFormat.MAGIC.length));
        assertEquals(StoredKey.of(sealed(1), minimal(id).build()), assertDoesNotThrowDecode(file));
    }

    @Test
    void aTierTheInstanceDoesNotAcceptIsRefusedAndNothingIsWritten() throws IOException {
        root = folder.resolve("keys");
        keystore = new FileKeystore(root, "l2-only", EnumSet.of(KeyType.L2), null);
        KeyId id = KeyId.of("l3", 1);

        assertThrows(PolicyRefusedException.class, () -> keystore.storeKey(id, sealed(1), minimal(id).build()));

        assertEquals(List.of(), recordFiles());
    }

    // ---- the folder lock ----

    @Test
    void aSecondInstanceInThisJvmIsRefusedNamingTheFolder() throws IOException {
        open();
        KeyId id = KeyId.of("k", 1);
        keystore.storeKey(id, sealed(1), minimal(id).build());

        UnavailableException refused = assertThrows(UnavailableException.class,
                () -> new FileKeystore(root, "other", EnumSet.allOf(KeyType.class), null));
        assertTrue(refused.getMessage().contains(keystore.root().toString()), refused.getMessage());
        assertTrue(refused.getMessage().contains("in use by another keystore runtime"), refused.getMessage());

        // the first instance is untouched and still holds the lock
        assertEquals(sealed(1), keystore.retrieveKey(id).sealed());
        assertTrue(keystore.health().isUp());
        // the same folder through a symbolic link is the same folder
        Path link = Files.createSymbolicLink(folder.resolve("link"), root);
        assertThrows(UnavailableException.class, () -> new FileKeystore(link, "other", EnumSet.allOf(KeyType.class), null));
    }

    @Test
    void theFolderCanBeOpenedAgainOnceClosed() {
        open();
        keystore.close();
        assertThrows(UnavailableException.class, () -> keystore.retrieveKey(KeyId.of("k", 1)));
        assertFalse(keystore.health().isUp());

        open();
        assertTrue(keystore.health().isUp());
    }

    @Test
    void anotherProcessHoldingTheFolderIsRefusedUntilItStops() throws Exception {
        root = folder.resolve("keys");
        Path log = folder.resolve("holder.log");
        try (ChildJvm holder = ChildJvm.start(log, "hold", root.toString())) {
            assertEquals("holding", holder.next(60_000), () -> ChildJvm.stderrOf(log));

            UnavailableException refused = assertThrows(UnavailableException.class, this::open);
            assertTrue(refused.getMessage().contains(root.toRealPath().toString()), refused.getMessage());
            assertTrue(refused.getMessage().contains("another process holds its lock (pid " + holder.pid() + ")"),
                    refused.getMessage());
            keystore = null;

            holder.kill();
        }
        open();
        assertTrue(keystore.health().isUp());
    }

    @Test
    void anOsLockHeldOutsideThisClassIsRespected() throws IOException {
        root = folder.resolve("keys");
        Files.createDirectories(root);
        // the lock as another class loader of this JVM (say, an older revision of the bundle) holds it
        try (FileChannel channel = FileChannel.open(root.resolve(FileKeystore.LOCK_FILE), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE); java.nio.channels.FileLock held = channel.lock()) {
            UnavailableException refused = assertThrows(UnavailableException.class, this::open);
            assertTrue(refused.getMessage().contains("this JVM already holds its lock"), refused.getMessage());
            keystore = null;
            assertTrue(held.isValid(), "the refusal did not release the holder's lock");
        }
    }

    // ---- damage ----

    @Test
    void aTornFileFoundAtOpenIsAnIntegrityErrorNeverARecord() throws IOException {
        open();
        KeyId torn = KeyId.of("torn", 1);
        KeyId whole = KeyId.of("whole", 1);
        keystore.storeKey(torn, sealed(1024, 1), minimal(torn).build());
        keystore.storeKey(whole, sealed(2), minimal(whole).build());
        Path file = fileOf(torn);
        keystore.close();
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 100));

        open();

        IntegrityException e = assertThrows(IntegrityException.class, () -> keystore.retrieveKey(torn));
        assertEquals(torn, e.keyId().orElseThrow());
        assertTrue(e.getMessage().contains("torn"), e.getMessage());
        assertEquals(List.of(whole), ids(), "a damaged key is not listed");
        assertEquals(sealed(2), keystore.retrieveKey(whole).sealed(), "other keys are served");
        assertTrue(keystore.health().isUp());
        // nothing is written over it, and nothing updates it
        assertThrows(IntegrityException.class, () -> keystore.storeKey(torn, sealed(1024, 1), minimal(torn).build()));
        assertThrows(IntegrityException.class,
                () -> keystore.updateKeyMetadata(torn, minimal(torn).revision(2).build()));
        assertThrows(IntegrityException.class, () -> keystore.rewrapKey(torn, sealed(3), 1));
        assertEquals(bytes.length - 100, Files.size(file), "the damaged file is left for inspection");
        // deleting it clears the way
        assertTrue(keystore.deleteKey(torn));
        keystore.storeKey(torn, sealed(4), minimal(torn).build());
        assertEquals(sealed(4), reopen().retrieveKey(torn).sealed());
    }

    @Test
    void aBitFlippedWhileRunningIsAnIntegrityError() throws IOException {
        open();
        KeyId id = KeyId.of("flipped", 1);
        keystore.storeKey(id, sealed(64, 5), full(id));
        Path file = fileOf(id);
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length - 10] ^= 0x04;
        Files.write(file, bytes);

        IntegrityException e = assertThrows(IntegrityException.class, () -> keystore.retrieveKey(id));
        assertTrue(e.getMessage().contains("checksum"), e.getMessage());
        assertThrows(IntegrityException.class, () -> keystore.updateKeyMetadata(id,
                full(id).toBuilder().revision(full(id).revision() + 1).build()));
        assertEquals(bytes.length, Files.size(file), "a refused update writes nothing");
    }

    @Test
    void anEmptyOrForeignFileIsDamageNotAKey() throws IOException {
        open();
        KeyId empty = KeyId.of("empty", 1);
        KeyId foreign = KeyId.of("foreign", 1);
        keystore.storeKey(empty, sealed(1), minimal(empty).build());
        keystore.storeKey(foreign, sealed(2), minimal(foreign).build());
        Path emptyFile = fileOf(empty);
        Path foreignFile = fileOf(foreign);
        keystore.close();
        Files.write(emptyFile, new byte[0]);
        Files.writeString(foreignFile, "not a record at all, but long enough to have a header");

        open();

        assertTrue(assertThrows(IntegrityException.class, () -> keystore.retrieveKey(empty)).getMessage()
                .contains("shorter"));
        assertTrue(assertThrows(IntegrityException.class, () -> keystore.retrieveKey(foreign)).getMessage()
                .contains("bad magic"));
        assertEquals(List.of(), ids());
    }

    @Test
    void aRecordCopiedToAnotherKeysPlaceIsRefused() throws IOException {
        open();
        KeyId original = KeyId.of("original", 1);
        KeyId victim = KeyId.of("victim", 1);
        keystore.storeKey(original, sealed(1), minimal(original).build());
        keystore.storeKey(victim, sealed(2), minimal(victim).build());
        Path victimFile = fileOf(victim);
        Path originalFile = fileOf(original);
        keystore.close();
        Files.copy(originalFile, victimFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        // and the original also copied to another owner's folder under its own name
        Path elsewhere = keystore.root().resolve("tenant/globex/original/1.rec");
        Files.createDirectories(elsewhere.getParent());
        Files.copy(originalFile, elsewhere);

        open();

        IntegrityException moved = assertThrows(IntegrityException.class, () -> keystore.retrieveKey(victim));
        assertTrue(moved.getMessage().contains("holds the record of another key"), moved.getMessage());
        IntegrityException twice = assertThrows(IntegrityException.class, () -> keystore.retrieveKey(original));
        assertTrue(twice.getMessage().contains("holds the record of another key")
                || twice.getMessage().contains("stored twice"), twice.getMessage());
    }

    // ---- leftovers ----

    @Test
    void temporaryFilesOfInterruptedWritesAreIgnoredAndRemoved() throws IOException {
        open();
        KeyId kept = KeyId.of("kept", 1);
        keystore.storeKey(kept, sealed(1), minimal(kept).build());
        Path keptFile = fileOf(kept);
        keystore.close();
        // a complete record that was never moved into place, a torn one, and one beside a stored key
        Path neverMoved = keystore.root().resolve("tenant/acme/never/1.rec" + FileKeystore.TEMP_MARK + "a1");
        Files.createDirectories(neverMoved.getParent());
        Files.write(neverMoved, RecordFormat.encode(sealed(9), minimal(KeyId.of("never", 1)).build()));
        Path torn = keystore.root().resolve("tenant/acme/kept/2.rec" + FileKeystore.TEMP_MARK + "b2");
        Files.write(torn, new byte[] {'O', 'K'});
        Path besides = keptFile.resolveSibling("1.rec" + FileKeystore.TEMP_MARK + "c3");
        Files.write(besides, RecordFormat.encode(sealed(8), minimal(kept).build()));
        // unknown files are left alone
        Path readme = keystore.root().resolve("README.txt");
        Files.writeString(readme, "notes");

        open();

        assertEquals(List.of(kept), ids());
        assertEquals(sealed(1), keystore.retrieveKey(kept).sealed(), "the stored record, not the temporary one");
        assertThrows(KeyNotFoundException.class, () -> keystore.retrieveKey(KeyId.of("never", 1)));
        for (Path leftover : List.of(neverMoved, torn, besides)) {
            assertFalse(Files.exists(leftover), leftover + " removed");
        }
        assertTrue(Files.exists(readme));
        try (Stream<Path> all = Files.walk(keystore.root())) {
            assertEquals(List.of(), all.filter(p -> p.toString().contains(FileKeystore.TEMP_MARK)).collect(Collectors.toList()));
        }
    }

    @Test
    void healthIsDownWhenTheFolderIsGone() throws IOException {
        open();
        assertTrue(keystore.health().isUp());
        Path moved = folder.resolve("moved");
        Files.move(keystore.root(), moved);

        assertFalse(keystore.health().isUp());
        assertTrue(keystore.health().reason().orElseThrow().contains("is gone"));

        Files.move(moved, keystore.root());
        assertTrue(keystore.health().isUp());
    }

    // ---- helpers ----

    private static StoredKey assertDoesNotThrowDecode(byte[] file) {
        try {
            return RecordFormat.decode(file);
        } catch (RecordFormat.Damaged e) {
            throw new AssertionError(e);
        }
    }

    private Path fileOf(KeyId id) {
        return keystore.file(id, keystore.retrieveKey(id).metadata().owner());
    }

    private List<Path> recordFiles() throws IOException {
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(p -> p.toString().endsWith(FileKeystore.SUFFIX)).sorted().collect(Collectors.toList());
        }
    }

    private List<KeyId> ids() {
        return keystore.listKeys(KeyFilter.all()).keys().stream().map(KeyMetadata::id).collect(Collectors.toList());
    }
}
