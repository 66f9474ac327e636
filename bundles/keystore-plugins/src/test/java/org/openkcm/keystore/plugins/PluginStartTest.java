package org.openkcm.keystore.plugins;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad plugins are refused at start with one clear line, and leave no process behind: a missing or
 * non-executable file, a checksum mismatch, output before the handshake, no handshake, a wrong
 * protocol version. The good plugin receives only the environment variables the configuration passes.
 */
class PluginStartTest {
    @TempDir
    Path dir;

    private final TestPlugins.RecordingLog log = new TestPlugins.RecordingLog();

    @Test
    void missingExecutableIsRefused() {
        Path missing = dir.resolve("no-such-plugin");
        PluginStartException e = refused(TestPlugins.settings(missing, "0".repeat(64), List.of(), 1, Duration.ofSeconds(5)));
        assertEquals("the plugin executable " + missing + " does not exist", e.getMessage());
    }

    @Test
    void nonExecutableFileIsRefused() throws IOException {
        Path file = Files.writeString(dir.resolve("plain"), "#!/bin/sh\n");
        PluginStartException e = refused(TestPlugins.settings(file));
        assertEquals("the plugin executable " + file + " is not executable", e.getMessage());
    }

    @Test
    void checksumMismatchIsRefusedBeforeAnyStart() throws IOException {
        Path marker = dir.resolve("started");
        Path script = script("touch " + marker + "\nsleep 30\n");
        PluginStartException e = refused(TestPlugins.settings(script, "ab".repeat(32), List.of(), 1, Duration.ofSeconds(5)));
        assertTrue(e.getMessage().contains("has SHA-256 " + ExecutableCheck.sha256(script)), e.getMessage());
        assertTrue(e.getMessage().endsWith("not the configured plugin.sha256 " + "ab".repeat(32) + "; refused"), e.getMessage());
        assertFalse(Files.exists(marker), "the refused executable must not have run");
    }

    @Test
    void outputBeforeTheHandshakeIsRefused() throws IOException {
        Path script = script("echo 'starting up...'\necho '1|1|unix|/tmp/x|grpc|'\nsleep 30\n");
        PluginStartException e = refused(TestPlugins.settings(script));
        assertEquals("the plugin printed \"starting up...\" on stdout before its handshake line;"
                + " a plugin must print nothing else first", e.getMessage());
    }

    @Test
    void noHandshakeWithinTheBoundIsRefusedAndTheProcessKilled() throws IOException {
        Path pidFile = dir.resolve("pid");
        Path script = script("echo $$ > " + pidFile + "\necho 'still thinking' >&2\nexec sleep 60\n");
        PluginStartException e = refused(TestPlugins.settings(script, ExecutableCheck.sha256(script), List.of(), 1,
                Duration.ofMillis(1500)));
        assertEquals("the plugin printed no handshake line within 1500 ms; its stderr ended with: \"still thinking\"",
                e.getMessage());
        long pid = Long.parseLong(Files.readString(pidFile).trim());
        assertGone(pid);
    }

    @Test
    void exitBeforeTheHandshakeIsRefused() throws IOException {
        Path script = script("echo 'no config' >&2\nsleep 0.2\nexit 7\n");
        PluginStartException e = refused(TestPlugins.settings(script));
        assertEquals("the plugin exited with code 7 before its handshake; its stderr ended with: \"no config\"",
                e.getMessage());
    }

    @Test
    void wrongProtocolVersionIsRefused() {
        Path plugin = TestPlugins.memoryPlugin();
        PluginStartException e = refused(TestPlugins.settings(plugin, ExecutableCheck.sha256(plugin), List.of(), 2,
                Duration.ofSeconds(10)));
        assertEquals("the plugin speaks keystore plugin protocol version \"1\"; this host speaks version 2", e.getMessage());
    }

    @Test
    void handshakeWithoutCertificateIsRefused() throws IOException {
        Path script = script("echo '1|1|tcp|127.0.0.1:1|grpc|'\nsleep 30\n");
        PluginStartException e = refused(TestPlugins.settings(script));
        assertEquals("the plugin sent no server certificate: it does not do AutoMTLS", e.getMessage());
    }

    @Test
    void onlyTheListedEnvironmentReachesThePlugin() throws Exception {
        Path envFile = dir.resolve("env");
        // A wrapper that records its environment, then becomes the real plugin.
        Path wrapper = script("env > " + envFile + "\nexec " + TestPlugins.memoryPlugin() + "\n");
        PluginSettings settings = TestPlugins.settings(wrapper);
        try (PluginSupervisor supervisor = new PluginSupervisor(settings,
                Map.of("OPENKCM_TEST_PASSED", "yes", "OPENKCM_TEST_SECRET", "must-not-pass", "PATH", "/usr/bin"), log)) {
            String env = Files.readString(envFile);
            assertTrue(env.contains("OPENKCM_TEST_PASSED=yes"), env);
            assertFalse(env.contains("OPENKCM_TEST_SECRET"), env);
            assertTrue(env.contains(PluginProcess.MAGIC_COOKIE_KEY + "=" + PluginProcess.MAGIC_COOKIE_VALUE), env);
            assertTrue(env.contains("PLUGIN_PROTOCOL_VERSIONS=1"), env);
            assertTrue(env.contains("PLUGIN_CLIENT_CERT=-----BEGIN CERTIFICATE-----"), env);
            assertTrue(supervisor.current().isAlive());
        }
    }

    private PluginStartException refused(PluginSettings settings) {
        return assertThrows(PluginStartException.class, () -> new PluginSupervisor(settings, Map.of(), log));
    }

    private Path script(String body) throws IOException {
        Path script = dir.resolve("plugin-" + System.nanoTime() + ".sh");
        Files.writeString(script, "#!/bin/sh\n" + body);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        return script;
    }

    static void assertGone(long pid) {
        ProcessHandle.of(pid).ifPresent(p -> {
            try {
                p.onExit().get(5, java.util.concurrent.TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new AssertionError("process " + pid + " is still running", e);
            }
        });
    }
}
