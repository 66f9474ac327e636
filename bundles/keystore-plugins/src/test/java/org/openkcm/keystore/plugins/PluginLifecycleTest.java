package org.openkcm.keystore.plugins;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.keystore.sdk.SampleKeys.minimal;
import static org.openkcm.keystore.sdk.SampleKeys.sealed;

import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.UnavailableException;

/** A plugin that dies is restarted, DOWN and unavailable meanwhile; a stopped plugin leaves no process. */
class PluginLifecycleTest {
    private final TestPlugins.RecordingLog log = new TestPlugins.RecordingLog();

    @Test
    void crashedPluginIsRestartedAndUnavailableMeanwhile() throws Exception {
        PluginSettings settings = TestPlugins.settings(TestPlugins.memoryPlugin());
        try (PluginSupervisor supervisor = new PluginSupervisor(settings, Map.of(), log)) {
            PluginKeystore keystore = new PluginKeystore(supervisor, log);
            KeyId id = KeyId.of("before-crash", 1);
            keystore.storeKey(id, sealed(1), minimal(id).build());
            PluginProcess first = supervisor.current();

            ProcessHandle.of(first.pid()).orElseThrow().destroyForcibly();
            first.onExit().get(5, TimeUnit.SECONDS);
            awaitCondition(() -> supervisor.current() != first);

            // Down until the restart (the backoff is 50 ms here): calls fail at once, never hang.
            if (supervisor.current() == null) {
                assertThrows(UnavailableException.class, () -> keystore.retrieveKey(id));
                KeystoreHealth down = keystore.health();
                assertFalse(down.isUp());
            }
            awaitCondition(() -> supervisor.current() != null);
            assertNotEquals(first.pid(), supervisor.current().pid());
            assertTrue(keystore.health().isUp());
            assertTrue(log.lines.stream().anyMatch(l -> l.startsWith("WARN plugin go-memory exited with code")), log.lines::toString);
            assertTrue(log.lines.stream().anyMatch(l -> l.startsWith("INFO plugin go-memory restarted")), log.lines::toString);
        }
    }

    @Test
    void closeShutsThePluginDownAndNoProcessRemains() throws Exception {
        PluginSettings settings = TestPlugins.settings(TestPlugins.memoryPlugin());
        PluginSupervisor supervisor = new PluginSupervisor(settings, Map.of(), log);
        PluginKeystore keystore = new PluginKeystore(supervisor, log);
        long pid = supervisor.current().pid();

        supervisor.close();

        PluginStartTest.assertGone(pid);
        UnavailableException e = assertThrows(UnavailableException.class, () -> keystore.retrieveKey(KeyId.of("k", 1)));
        assertEquals("unavailable (key k:1): plugin go-memory is stopped", e.getMessage());
        Thread.sleep(300); // longer than the restart backoff: a stopped plugin is not restarted
        assertEquals(null, supervisor.current());
    }

    @Test
    void pluginExitsWhenItsParentIsKilled() throws Exception {
        // A shell parent starts the plugin as a runtime would (go-plugin's environment), then is
        // killed with SIGKILL: no stop, no shutdown call. The plugin must notice and exit.
        ProcessBuilder builder = new ProcessBuilder("sh", "-c", "\"$0\" & echo \"pid $!\"; wait",
                TestPlugins.memoryPlugin().toString()).redirectError(ProcessBuilder.Redirect.DISCARD);
        builder.environment().put(PluginProcess.MAGIC_COOKIE_KEY, PluginProcess.MAGIC_COOKIE_VALUE);
        builder.environment().put("PLUGIN_PROTOCOL_VERSIONS", "1");
        builder.environment().put("PLUGIN_CLIENT_CERT", AutoMtls.generate().clientCertificatePem());
        Process parent = builder.start();
        java.io.BufferedReader out = new java.io.BufferedReader(
                new java.io.InputStreamReader(parent.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
        long child = -1;
        boolean serving = false;
        while (child < 0 || !serving) {
            String line = out.readLine();
            if (line == null) {
                throw new AssertionError("the parent shell ended early");
            }
            if (line.startsWith("pid ")) {
                child = Long.parseLong(line.substring(4).trim());
            } else if (line.startsWith("1|1|")) {
                serving = true;
            }
        }
        ProcessHandle plugin = ProcessHandle.of(child).orElseThrow();
        assertTrue(plugin.isAlive());

        parent.destroyForcibly().waitFor(5, TimeUnit.SECONDS);

        try {
            plugin.onExit().get(10, TimeUnit.SECONDS);
        } finally {
            plugin.destroyForcibly();
        }
        assertFalse(plugin.isAlive());
    }

    private static void awaitCondition(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met within 15 s");
            }
            Thread.sleep(10);
        }
    }
}
