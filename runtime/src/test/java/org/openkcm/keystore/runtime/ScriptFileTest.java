package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A script is read only if it is a regular file under the cap, before the home is locked or anything starts. */
class ScriptFileTest {

    @TempDir
    Path dir;

    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(Path script) {
        Path home = dir.resolve("home");
        Main main = new Main(new Home(home), Invocation.parse(script.toString()), new ByteArrayInputStream(new byte[0]),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return main.run();
    }

    private String error() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void anOversizedScriptIsRefusedBeforeAnythingStarts() throws Exception {
        Path big = Files.write(dir.resolve("big.gogo"), new byte[Main.MAX_SCRIPT_BYTES + 1]);
        assertEquals(Main.USAGE, run(big));
        assertEquals("error: cannot read the script " + big + ": " + big + ": larger than " + Main.MAX_SCRIPT_BYTES
                + " bytes" + System.lineSeparator(), error());
        assertFalse(Files.exists(dir.resolve("home")), "nothing was started on the home");
    }

    @Test
    void aFifoIsRefusedWithoutBlocking() throws Exception {
        Path fifo = dir.resolve("script.gogo");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
        assertTrue(mkfifo.waitFor(10, TimeUnit.SECONDS) && mkfifo.exitValue() == 0, "mkfifo");
        // Opening a FIFO with no writer would block forever: the check comes before any open.
        assertEquals(Main.USAGE, run(fifo));
        assertTrue(error().startsWith("error: cannot read the script " + fifo + ": " + fifo
                + ": not a regular file (a FIFO, socket or device)"), error());
        assertFalse(Files.exists(dir.resolve("home")), "nothing was started on the home");
    }
}
