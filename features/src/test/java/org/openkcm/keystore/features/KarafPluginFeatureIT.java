package org.openkcm.keystore.features;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

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
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestInstance.Lifecycle;

/**
 * The plugin host feature in a stock Apache Karaf: {@code feature:install openkcm-keystore-plugins}
 * brings the host bundle up, an {@code etc/org.openkcm.keystore.plugin-NAME.cfg} naming the Go
 * example plugin the keystore-plugins build made starts the plugin and its backend serves keys, and
 * {@code feature:uninstall} stops the plugin process and leaves the rest running.
 */
@TestInstance(Lifecycle.PER_CLASS)
class KarafPluginFeatureIT {
    private static final String GROUP = "org.openkcm.keystore";
    private static final Duration READY = Duration.ofSeconds(120);
    private static final Duration SETTLE = Duration.ofSeconds(60);
    private static final Duration PLUGIN_EXIT = Duration.ofSeconds(15);

    private final String version = property("project.version");
    private Karaf karaf;
    private Path plugin;

    @BeforeAll
    void startKaraf() throws Exception {
        plugin = Path.of(property("openkcm.plugin.memory"));
        if (!Files.isExecutable(plugin)) {
            fail("no built example plugin at " + plugin + ": build bundles/keystore-plugins first (it runs go build)");
        }
        plugin = plugin.toRealPath(); // as /proc names the running executable
        Path home = Path.of(property("karaf.home"));
        Path staged = Path.of(property("karaf.repo.dir"));
        Karaf.stageFeatures(Path.of(property("features.file")), staged, GROUP, version);
        karaf = Karaf.prepare(home, staged, Path.of(property("maven.local.repository")));
        karaf.start();
        karaf.awaitReady(READY);
    }

    @AfterAll
    void stopKaraf() throws Exception {
        if (karaf != null) {
            karaf.close();
        }
    }

    @Test
    void thePluginFeatureStartsAConfiguredPluginAndItsUninstallStopsIt() throws Exception {
        karaf.ok("feature:repo-add mvn:" + GROUP + "/features/" + version + "/xml/features");
        karaf.ok("feature:install openkcm-keystore openkcm-keystore-memory openkcm-keystore-plugins");
        assertTrue(activeBundle("keystore-plugins"), karaf.ok("bundle:list -s -t 0") + karaf.logTail(20));

        Files.writeString(karaf.etc().resolve("org.openkcm.keystore.plugin-go.cfg"), String.join("\n",
                "plugin.path = \"" + plugin + "\"",
                "plugin.sha256 = \"" + sha256(plugin) + "\"",
                "keystore.name = \"go\"",
                "keystore.tiers = [ \"L4\" ]",
                ""), UTF_8);
        karaf.await("service:list org.openkcm.keystore.api.Keystore", out -> out.contains("keystore.name = go"),
                SETTLE, "the plugin's backend service");
        karaf.await("echo (keystore:backends)", out -> Pattern.compile("(?m)^go\\s+ACTIVE\\s").matcher(out).find(),
                SETTLE, "the plugin backend ACTIVE");
        Files.writeString(karaf.etc().resolve("org.openkcm.keystore.route-to-go.cfg"),
                "tiers = L4\nownerKind = TENANT\nownerId = plugged\ntarget = go\n", UTF_8);
        karaf.await("echo (keystore:routes)", out -> out.contains("to-go") && out.contains("in force"), SETTLE,
                "the route to the plugin");
        assertTrue(karaf.ok("echo (keystore:generate --type L4 --owner tenant/plugged p1)").contains("p1:1"));
        assertTrue(karaf.ok("echo (keystore:reveal p1:1)").strip().lines().anyMatch(l -> l.strip().matches("[0-9a-f]{64}")));
        // Another tenant's L4 key goes to the default (memory) backend.
        assertTrue(karaf.ok("echo (keystore:generate --type L4 --owner tenant/acme m1)").contains("m1:1"));

        List<ProcessHandle> running = pluginProcesses();
        assertEquals(1, running.size(), "one plugin process: " + running);

        karaf.ok("feature:uninstall openkcm-keystore-plugins");
        try {
            running.get(0).onExit().get(PLUGIN_EXIT.toSeconds(), TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            running.get(0).destroyForcibly();
            fail("the plugin process outlived the uninstalled feature by " + PLUGIN_EXIT);
        }
        assertFalse(activeBundle("keystore-plugins"), "the host bundle is uninstalled");
        String services = karaf.ok("service:list org.openkcm.keystore.api.Keystore");
        assertFalse(services.contains("keystore.name = go"), services);
        for (String name : List.of("api", "core", "shell", "keystore-memory")) {
            assertTrue(activeBundle(name), name + " still Active");
        }
        assertTrue(karaf.ok("echo (keystore:show m1:1)").contains("m1:1"), "the memory backend keeps serving");
    }

    private boolean activeBundle(String artifact) {
        return Pattern.compile("(?m)^.*Active.*\\s" + Pattern.quote(GROUP + "." + artifact) + "\\s*$")
                .matcher(karaf.ok("bundle:list -s -t 0")).find();
    }

    private List<ProcessHandle> pluginProcesses() {
        return ProcessHandle.allProcesses()
                .filter(p -> p.info().command().map(c -> c.equals(plugin.toString())).orElse(false)).toList();
    }

    private static String sha256(Path file) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            digest.update(in.readAllBytes());
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static String property(String name) {
        String value = System.getProperty(name);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("system property " + name + " is not set (failsafe sets it in features/pom.xml)");
        }
        return value;
    }
}
