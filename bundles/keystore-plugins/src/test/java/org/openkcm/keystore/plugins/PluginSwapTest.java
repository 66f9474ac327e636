package org.openkcm.keystore.plugins;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.keystore.sdk.SampleKeys.minimal;
import static org.openkcm.keystore.sdk.SampleKeys.sealed;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.StoredKey;

/**
 * A new executable (another checksum) swaps in under load as a bundle update does: not one call
 * fails, and every key acknowledged before, during or after the swap is readable from the new
 * plugin. The persistent example plugin keeps its keys in a folder both processes serve.
 */
class PluginSwapTest {
    private static final int WRITERS = 3;

    @TempDir
    Path dir;

    private final TestPlugins.RecordingLog log = new TestPlugins.RecordingLog();

    @Test
    void aNewExecutableSwapsInUnderLoadWithoutAFailedCallOrALostKey() throws Exception {
        PluginSettings version1 = TestPlugins.fileSettings(TestPlugins.filePlugin(), dir);
        PluginSettings version2 = TestPlugins.fileSettings(TestPlugins.filePluginVersion2(), dir);
        assertNotEquals(version1.sha256(), version2.sha256());
        try (PluginSupervisor supervisor = new PluginSupervisor(version1, Map.of(), log)) {
            PluginKeystore keystore = new PluginKeystore(supervisor, log);
            long oldPid = supervisor.current().pid();
            ConcurrentLinkedQueue<KeyId> acknowledged = new ConcurrentLinkedQueue<>();
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> writers = new ArrayList<>();
            for (int w = 0; w < WRITERS; w++) {
                int writer = w;
                Thread thread = new Thread(() -> load(keystore, writer, acknowledged, failures, stop), "writer " + w);
                thread.start();
                writers.add(thread);
            }
            awaitAcknowledged(acknowledged, 50);

            supervisor.replace(version2);
            int atSwap = acknowledged.size();
            awaitAcknowledged(acknowledged, atSwap + 50);
            stop.set(true);
            for (Thread t : writers) {
                t.join();
            }

            assertEquals(List.of(), List.copyOf(failures), "calls failed during the swap");
            long newPid = supervisor.current().pid();
            assertNotEquals(oldPid, newPid);
            PluginStartTest.assertGone(oldPid);
            assertEquals(version2, supervisor.settings());
            for (KeyId id : acknowledged) {
                assertEquals(StoredKey.of(sealed(id.version()), minimal(id).build()), keystore.retrieveKey(id));
            }
            assertTrue(log.lines.stream().anyMatch(l -> l.contains("(pid " + newPid + ")") && l.contains("version=2")),
                    log.lines::toString);
            assertTrue(log.lines.stream().anyMatch(l -> l.startsWith("INFO plugin go-file swapped to "
                    + version2.executable() + " (pid " + newPid + "); stopping pid " + oldPid)), log.lines::toString);
        }
    }

    @Test
    void aRefusedNewExecutableLeavesTheRunningPluginServing() throws Exception {
        PluginSettings version1 = TestPlugins.fileSettings(TestPlugins.filePlugin(), dir);
        PluginSettings wrongChecksum = new PluginSettings(TestPlugins.filePluginVersion2(), "ab".repeat(32),
                version1.arguments(), version1.passedEnvironment(), 1, version1.handshakeTimeout(),
                version1.callTimeout(), version1.restartBackoff(), version1.restartBackoffMax(),
                version1.shutdownTimeout(), version1.name(), version1.tiers(), version1.regions(), true, 0,
                version1.pluginSettings());
        try (PluginSupervisor supervisor = new PluginSupervisor(version1, Map.of(), log)) {
            PluginKeystore keystore = new PluginKeystore(supervisor, log);
            KeyId id = KeyId.of("kept", 1);
            keystore.storeKey(id, sealed(1), minimal(id).build());
            long pid = supervisor.current().pid();

            PluginStartException e = assertThrows(PluginStartException.class, () -> supervisor.replace(wrongChecksum));

            assertTrue(e.getMessage().endsWith("not the configured plugin.sha256 " + "ab".repeat(32) + "; refused"),
                    e.getMessage());
            assertEquals(pid, supervisor.current().pid());
            assertEquals(version1, supervisor.settings());
            assertEquals(StoredKey.of(sealed(1), minimal(id).build()), keystore.retrieveKey(id));
        }
    }

    private static void load(PluginKeystore keystore, int writer, ConcurrentLinkedQueue<KeyId> acknowledged,
            ConcurrentLinkedQueue<Throwable> failures, AtomicBoolean stop) {
        List<KeyId> mine = new ArrayList<>();
        for (int n = 1; !stop.get(); n++) {
            KeyId id = KeyId.of("writer-" + writer + "-" + n, 1 + n % 5);
            try {
                keystore.storeKey(id, sealed(id.version()), minimal(id).build());
                mine.add(id);
                acknowledged.add(id);
                KeyId earlier = mine.get(ThreadLocalRandom.current().nextInt(mine.size()));
                keystore.retrieveKey(earlier);
            } catch (RuntimeException e) {
                failures.add(e);
            }
        }
    }

    private static void awaitAcknowledged(ConcurrentLinkedQueue<KeyId> acknowledged, int count)
            throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (acknowledged.size() < count) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("only " + acknowledged.size() + " keys stored within 30 s");
            }
            Thread.sleep(5);
        }
    }
}
