package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The home lock within one process; {@code RuntimeDistributionIT} shows it between two runtime
 * processes.
 */
class HomeLockTest {

    @TempDir
    Path folder;

    private Home home() throws IOException {
        Files.createDirectories(folder.resolve("bundle"));
        return new Home(folder);
    }

    @Test
    void theHolderRecordsItsPidAndASecondAcquireIsRefusedNamingIt() throws Exception {
        Home home = home();
        HomeLock lock = HomeLock.acquire(home);
        try {
            long pid = ProcessHandle.current().pid();
            assertTrue(lock.held());
            assertEquals(pid + "\n", Files.readString(HomeLock.file(home), StandardCharsets.US_ASCII));

            HomeLock.HeldException refused = assertThrows(HomeLock.HeldException.class, () -> HomeLock.acquire(home));
            assertEquals(pid, refused.pid().orElseThrow());
            assertEquals("a runtime is already running on this home (" + folder.toAbsolutePath().normalize() + ", pid "
                    + pid + "); stop it first, or use another home", refused.getMessage());
            // the refused attempt leaves the holder's record alone
            assertEquals(pid + "\n", Files.readString(HomeLock.file(home), StandardCharsets.US_ASCII));
            assertTrue(lock.held());
        } finally {
            lock.release();
        }
    }

    @Test
    void aLockFileLeftByARuntimeThatIsGoneIsTakenOver() throws Exception {
        Home home = home();
        Files.createDirectories(home.data());
        Files.writeString(HomeLock.file(home), "999999999\n");

        HomeLock lock = HomeLock.acquire(home);
        try {
            assertEquals(ProcessHandle.current().pid() + "\n", Files.readString(HomeLock.file(home)));
        } finally {
            lock.release();
        }
        HomeLock again = HomeLock.acquire(home);
        again.release();
    }

    @Test
    void aFolderThatIsNotAHomeIsRefusedAndNothingIsCreatedInIt() {
        IOException refused = assertThrows(IOException.class, () -> HomeLock.acquire(new Home(folder)));
        assertFalse(refused instanceof HomeLock.HeldException);
        assertTrue(refused.getMessage().startsWith("not an OpenKCM Keystore distribution: "), refused.getMessage());
        assertFalse(Files.exists(folder.resolve("data")), "data/ was created in a folder that is not a home");
    }
}
