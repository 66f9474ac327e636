package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The plugin host in the built runtime, with the Go example plugin the keystore-plugins build
 * made: a plugin configuration in config/ starts it and its backend is ACTIVE; a configuration
 * whose checksum is wrong is NOT STARTED in keystore:backends with its one line, and nothing else
 * is affected; and when the runtime's JVM is killed with kill -9 (no shutdown hook, no stop) the
 * plugin process notices and exits.
 */
class PluginHostRuntimeIT {
    static final Duration COMMAND = Duration.ofSeconds(60);
    /** The plugin polls its parent every 500 ms; this bound leaves room for a loaded machine. */
    static final Duration ORPHAN_EXIT = Duration.ofSeconds(15);
    static Distribution distribution;
    static Path plugin;

    @BeforeAll
    static void setUp() throws Exception {
        String built = System.getProperty("openkcm.plugin.memory");
        if (built == null || !Files.isExecutable(Path.of(built))) {
            fail("no built example plugin at " + built + ": build bundles/keystore-plugins first (it runs go build)");
        }
        plugin = Path.of(built).toRealPath(); // as /proc names the running executable
        distribution = Distribution.copy("plugin-host");
        Files.writeString(distribution.path("config/org.openkcm.keystore.plugin-edge.cfg"),
                "plugin.path = \"" + plugin + "\"\n"
                        + "plugin.sha256 = \"" + sha256(plugin) + "\"\n"
                        + "keystore.name = \"go-edge\"\n"
                        + "keystore.tiers = [ \"L4\" ]\n");
        Files.writeString(distribution.path("config/org.openkcm.keystore.plugin-tampered.cfg"),
                "plugin.path = \"" + plugin + "\"\n"
                        + "plugin.sha256 = \"" + "0".repeat(64) + "\"\n"
                        + "keystore.name = \"go-tampered\"\n"
                        + "keystore.tiers = [ \"L4\" ]\n");
    }

    @AfterAll
    static void tearDown() throws IOException {
        if (distribution != null) {
            Distribution.delete(distribution.path(""));
        }
    }

    @Test
    void aRefusedPluginIsNotStartedInBackendsAndNoPluginOutlivesAKilledRuntime() throws Exception {
        Distribution.Running runtime = distribution.start();
        try {
            Distribution.eventually(COMMAND, () -> {
                String backends = runtime.shell("keystore:backends", COMMAND);
                assertTrue(Pattern.compile("(?m)^go-edge\\s+ACTIVE\\s").matcher(backends).find(), backends);
                assertTrue(Pattern.compile("(?m)^go-tampered\\s+NOT STARTED\\s.*org\\.openkcm\\.keystore\\.plugin\\S*"
                        + ": plugin go-tampered \\(" + Pattern.quote(plugin.toString()) + "\\) not started: the"
                        + " plugin executable " + Pattern.quote(plugin.toString()) + " has SHA-256 [0-9a-f]{64}, not the"
                        + " configured plugin.sha256 0{64}; refused$").matcher(backends).find(), backends);
                assertTrue(Pattern.compile("(?m)^memory\\s+ACTIVE\\s").matcher(backends).find(), backends);
            });
            List<ProcessHandle> plugins = runtime.process().toHandle().children()
                    .filter(p -> p.info().command().map(c -> c.equals(plugin.toString())).orElse(false)).toList();
            assertEquals(1, plugins.size(), "one plugin process for the one accepted configuration: " + plugins);
            ProcessHandle child = plugins.get(0);

            runtime.process().destroyForcibly(); // SIGKILL
            assertTrue(runtime.process().waitFor(30, TimeUnit.SECONDS), "the runtime did not die of SIGKILL");
            assertEquals(137, runtime.process().exitValue());

            try {
                child.onExit().get(ORPHAN_EXIT.toSeconds(), TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                child.destroyForcibly();
                fail("plugin process " + child.pid() + " outlived the killed runtime by " + ORPHAN_EXIT);
            }
        } finally {
            runtime.close();
        }
    }

    private static String sha256(Path file) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            digest.update(in.readAllBytes());
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
