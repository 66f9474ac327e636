package org.openkcm.keystore.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecretSourceTest {

    @TempDir
    Path dir;

    private SecretSource file(Path path) {
        return SecretSource.parse("password.ref", "file:" + path, Map.<String, String>of()::get);
    }

    @Test
    void readsARegularFileAndALinkToOne() throws Exception {
        Path secret = Files.writeString(dir.resolve("token"), "pw\n");
        assertEquals("pw", file(secret).read());
        Path link = Files.createSymbolicLink(dir.resolve("link"), secret);
        assertEquals("pw", file(link).read(), "a mounted secret is a link to a regular file");
    }

    @Test
    void aFifoIsRefusedWithoutBlocking() throws Exception {
        Path fifo = dir.resolve("token");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor(), "mkfifo");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> file(fifo).read());
        assertEquals("password.ref: " + fifo + " is not a regular file", e.getMessage());
    }

    @Test
    void aMissingFileIsNamed() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> file(dir.resolve("none")).read());
        assertEquals("password.ref: cannot read " + dir.resolve("none") + " (NoSuchFileException)", e.getMessage());
    }

    @Test
    void aDirectoryIsRefused() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> file(dir).read());
        assertEquals("password.ref: " + dir + " is not a regular file", e.getMessage());
    }

    @Test
    void anOversizedFileIsRefusedAndNotEchoed() throws Exception {
        Path big = Files.writeString(dir.resolve("token"), "x".repeat(16 * 1024 + 1));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> file(big).read());
        assertEquals("password.ref: " + big + " is larger than 16384 bytes; it does not hold a credential", e.getMessage());
        assertEquals(16 * 1024 + 1, Files.size(big), "the file is left as it was");
    }
}
