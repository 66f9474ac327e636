package org.openkcm.keystore.kek.transit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.sdk.ComponentConfigs;

/**
 * The Transit provider (a real OpenBao) refuses a sealed ring that someone else could have written,
 * as the core refuses such a KEK file: a symbolic link, a group-writable folder, a ring readable or
 * writable by group. A refused start loads nothing; a refused reload keeps the ring in force; the
 * file is left as it was. What the provider writes itself (0600 in a 0700 folder) it reads back.
 */
class RingFileRefusalTest {
    private static final AtomicInteger KEYS = new AtomicInteger();
    private static TransitServer bao;

    @TempDir
    Path dir;
    private Path ringFile;
    private Map<String, Object> config;
    private TransitKekProvider loaded;
    private String ring;

    @BeforeAll
    static void startOpenBao() {
        bao = TransitServer.start();
    }

    @AfterAll
    static void stopOpenBao() {
        bao.close();
    }

    @BeforeEach
    void aRingTheProviderWrote() throws IOException {
        String key = "refusal-root-" + KEYS.incrementAndGet();
        bao.createKey(key);
        ringFile = dir.resolve("home/data/kek/transit.ring");
        config = new HashMap<>();
        config.put("address", bao.address());
        config.put("key.name", key);
        config.put("token.source", bao.tokenReference(dir));
        config.put("ring.file", ringFile.toString());
        config.put("timeout.seconds", "3");
        loaded = start(config);
        assertEquals("rw-------", mode(ringFile));
        assertEquals("rwx------", mode(ringFile.getParent()));
        assertEquals(List.of(1), start(config).versions(), "a ring the provider wrote reads back");
        ring = Files.readString(ringFile);
    }

    private static TransitKekProvider start(Map<String, Object> config) {
        TransitKekProvider provider = new TransitKekProvider();
        provider.activate(ComponentConfigs.of(TransitKekProvider.Config.class, config));
        return provider;
    }

    private static String mode(Path path) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
    }

    /** A fresh start and a reload are both refused with {@code expected}, on one line; nothing else changes. */
    private void assertRefused(String expected) throws IOException {
        TransitKekProvider fresh = new TransitKekProvider();
        PolicyRefusedException e = assertThrows(PolicyRefusedException.class,
                () -> fresh.activate(ComponentConfigs.of(TransitKekProvider.Config.class, config)));
        assertEquals("refused by policy: " + expected, e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertThrows(UnavailableException.class, () -> fresh.wrap(1, dataKey()), "the refused start loaded nothing");

        byte[] dk = dataKey();
        byte[] wrapped = loaded.wrap(1, dk);
        config.put("reload", "after-the-change");
        assertThrows(PolicyRefusedException.class,
                () -> loaded.modified(ComponentConfigs.of(TransitKekProvider.Config.class, config)));
        assertArrayEquals(dk, loaded.unwrap(1, wrapped), "a refused reload keeps the ring in force");
    }

    private static byte[] dataKey() {
        byte[] k = new byte[KekProvider.DATA_KEY_BYTES];
        new SecureRandom().nextBytes(k);
        return k;
    }

    @Test
    void aRingThatIsASymbolicLinkIsRefused() throws IOException {
        Path elsewhere = dir.resolve("elsewhere.ring");
        Files.move(ringFile, elsewhere);
        Files.createSymbolicLink(ringFile, elsewhere);
        assertRefused("the sealed KEK ring " + ringFile + " is a symbolic link; a sealed KEK ring must be the file "
                + "itself, opened without following links");
        assertTrue(Files.isSymbolicLink(ringFile), "the link is left as it was");
        assertEquals(ring, Files.readString(elsewhere), "the ring is left as it was");
    }

    @Test
    void aRingInAGroupWritableFolderIsRefused() throws IOException {
        Path folder = ringFile.getParent();
        Files.setPosixFilePermissions(folder, PosixFilePermissions.fromString("rwxrwx---"));
        assertRefused("the folder " + folder + " of the sealed KEK ring " + ringFile + " is writable by group (mode "
                + "0770), so another user could replace the sealed KEK ring: chmod go-w " + folder);
        assertEquals("rwxrwx---", mode(folder));
        assertEquals(ring, Files.readString(ringFile));
    }

    @Test
    void aGroupReadableRingIsRefused() throws IOException {
        Files.setPosixFilePermissions(ringFile, PosixFilePermissions.fromString("rw-r-----"));
        assertRefused("the sealed KEK ring " + ringFile + " is readable by group (mode 0640); a sealed KEK ring must "
                + "be owner-only: chmod 600 " + ringFile);
        assertEquals("rw-r-----", mode(ringFile));
        assertEquals(ring, Files.readString(ringFile));
    }

    @Test
    void aGroupWritableRingIsRefused() throws IOException {
        Files.setPosixFilePermissions(ringFile, PosixFilePermissions.fromString("rw--w----"));
        assertRefused("the sealed KEK ring " + ringFile + " is writable by group (mode 0620); a sealed KEK ring must "
                + "be owner-only: chmod 600 " + ringFile);
        assertEquals(ring, Files.readString(ringFile));
    }
}
