package org.openkcm.keystore.plugins;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The executable is hashed only if it is a regular file: hashing a FIFO would hang the plugin host. */
class ExecutableCheckTest {

    @TempDir
    Path dir;

    @Test
    void aFifoIsNeverHashed() throws Exception {
        Path fifo = dir.resolve("plugin");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor(), "mkfifo");
        fifo.toFile().setExecutable(true);
        PluginStartException verify = assertThrows(PluginStartException.class,
                () -> ExecutableCheck.verify(fifo, "0".repeat(64)));
        assertEquals("the plugin executable " + fifo + " is not a regular file", verify.getMessage());
        // The hash itself refuses it too (a FIFO swapped in after the check above).
        PluginStartException hash = assertThrows(PluginStartException.class, () -> ExecutableCheck.sha256(fifo));
        assertTrue(hash.getMessage().endsWith(fifo + ": not a regular file (a FIFO, socket or device)"), hash.getMessage());
        assertTrue(Files.readAttributes(fifo, java.nio.file.attribute.BasicFileAttributes.class).isOther());
    }

    @Test
    void aRegularFileIsHashed() throws Exception {
        Path file = Files.writeString(dir.resolve("plugin"), "abc");
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ExecutableCheck.sha256(file));
    }
}
