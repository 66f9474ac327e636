package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * The built distribution, started as a separate process through {@code bin/keystore}, each test
 * on its own copy. Non-interactive checks use {@code -c} and scripts (their exit status is part of
 * what is tested); live changes (plugins/, config/) drive a running interactive shell through its
 * standard input.
 * <p>
 * Key-level checks (generate, get, list through the keystore shell commands) join here once the
 * shell bundle is in the distribution: {@link #keystore(Distribution, String)} runs a command the
 * same way.
 */
@Timeout(120)
class RuntimeDistributionIT {

    private static final Duration LIVE_CHANGE = Duration.ofSeconds(20);
    private static final Duration COMMAND = Duration.ofSeconds(20);
    private static final String MEMORY_COMPONENT = "org.openkcm.keystore.memory.MemoryKeystore";
    private static final String FILE_COMPONENT = "org.openkcm.keystore.file";
    /** What the runtime says at start about where keys live, with the shipped configuration. */
    private static final String DEFAULT_PLACEMENT =
            "openkcm-keystore: keys: L2, L3 -> file (data/keys, persistent); L4 -> memory (volatile: lost at stop)";

    private Distribution fresh(TestInfo test) throws Exception {
        return Distribution.copy(test.getTestMethod().orElseThrow().getName());
    }

    /** Runs one command line with {@code bin/keystore -c}; the single place key-level checks will go through. */
    private static Distribution.Result keystore(Distribution distribution, String command) throws Exception {
        return distribution.run("-c", command);
    }

    @Test
    void runsWithNoUserConfigurationOnTheFileBackendForL2AndL3AndMemoryForL4(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);

        Distribution.Result bundles = keystore(distribution, "lb -s");
        assertEquals(0, bundles.exit(), bundles::toString);
        assertEquals("", bundles.err(), bundles::toString);
        assertTrue(bundles.out().contains("START LEVEL " + StartLevels.FINAL), bundles::toString);
        for (String bundle : List.of("org.apache.felix.scr", "org.apache.felix.configadmin",
                "org.apache.felix.fileinstall", "org.apache.felix.gogo.runtime", "org.openkcm.keystore.api",
                "org.openkcm.keystore.keystore-memory", "org.openkcm.keystore.keystore-file")) {
            assertTrue(Pattern.compile("\\|Active\\s*\\|\\s*\\d+\\|" + Pattern.quote(bundle) + " ")
                    .matcher(bundles.out()).find(), () -> bundle + " is not active\n" + bundles);
        }
        // All started but the console this mode does not use (the interactive one), left installed.
        assertTrue(Pattern.compile("\\|(Installed|Resolved)\\s*\\|\\s*\\d+\\|org\\.apache\\.felix\\.gogo\\.jline ")
                .matcher(bundles.out()).find(), bundles::toString);
        assertEquals(1, Pattern.compile("\\|(Installed|Resolved)\\s*\\|").matcher(bundles.out()).results().count(),
                () -> "every other bundle is started\n" + bundles);

        Distribution.Result memory = keystore(distribution, "scr:info " + MEMORY_COMPONENT);
        assertEquals(0, memory.exit(), memory::toString);
        assertTrue(memory.out().contains("State:        ACTIVE"), memory::toString);
        assertTrue(memory.out().contains("service.pid<String> = org.openkcm.keystore.memory~default"),
                memory::toString);
        assertTrue(memory.out().contains("keystore.name<String> = memory"), memory::toString);
        assertTrue(memory.out().contains("keystore.tiers<String[]> = [L4]"), memory::toString);

        Distribution.Result file = keystore(distribution, "scr:info " + FILE_COMPONENT);
        assertEquals(0, file.exit(), file::toString);
        assertTrue(file.out().contains("State:        ACTIVE"), file::toString);
        assertTrue(file.out().contains("service.pid<String> = org.openkcm.keystore.file~default"), file::toString);
        assertTrue(file.out().contains("keystore.tiers<String[]> = [L2, L3]"), file::toString);
        assertTrue(file.out().contains("path<String> = " + distribution.home() + "/data/keys"), file::toString);
        assertTrue(Files.isRegularFile(distribution.path("data/keys/.lock")), "the key folder is created and locked");
        assertEquals("rwx------",
                PosixFilePermissions.toString(Files.getPosixFilePermissions(distribution.path("data/keys"))));

        Distribution.Result routes = keystore(distribution, "keystore:routes");
        assertEquals(0, routes.exit(), routes::toString);
        assertTrue(Pattern.compile("(?m)^l4-to-memory\\s+L4\\s.*\\smemory\\s+in force$").matcher(routes.out()).find(),
                routes::toString);
        assertTrue(Pattern.compile("(?m)^\\(default\\)\\s+any\\s.*\\sfile\\s+in force$").matcher(routes.out()).find(),
                routes::toString);
    }

    @Test
    void l2AndL3KeysSurviveARestartAndL4KeysDoNot(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);
        Distribution.Result generated = keystore(distribution, String.join("\n",
                "keystore:generate --type L2 --owner tenant/acme tenant-key",
                "keystore:generate --type L3 --owner service/payments --parent tenant-key:1 service-key",
                "keystore:generate --type L4 --owner node/n1 --parent service-key:1 data-key",
                "keystore:reveal tenant-key:1"));
        assertEquals(0, generated.exit(), generated::toString);
        String material = generated.out().strip().lines().reduce((a, b) -> b).orElse("").strip();
        assertTrue(material.matches("[0-9a-f]{64}"), generated::toString);
        assertTrue(Files.isRegularFile(distribution.path("data/keys/tenant/acme/tenant-key/1.rec")), generated::toString);
        assertTrue(Files.isRegularFile(distribution.path("data/keys/service/payments/service-key/1.rec")));

        Distribution.Result again = keystore(distribution, "keystore:reveal tenant-key:1");
        assertEquals(0, again.exit(), again::toString);
        assertTrue(again.out().contains(material), "the L2 key is the same after a restart\n" + again);
        Distribution.Result l3 = keystore(distribution, "keystore:show service-key:1");
        assertEquals(0, l3.exit(), l3::toString);
        Distribution.Result l4 = keystore(distribution, "keystore:show data-key:1");
        assertEquals(List.of("error: key data-key:1 not found"), l4.errLines(),
                "the L4 key was in the in-memory backend, which a restart empties\n" + l4);
    }

    @Test
    void theLocalKekFileIsOwnerOnlyAndSurvivesARestart(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);
        Path kek = distribution.path("data/kek/local.kek");

        Distribution.Result first = keystore(distribution, "scr:list");
        assertEquals(0, first.exit(), first::toString);
        assertTrue(Files.isRegularFile(kek), () -> "no KEK file at " + kek + "\n" + first);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(kek)));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(kek.getParent())));
        assertEquals("rwx------",
                PosixFilePermissions.toString(Files.getPosixFilePermissions(distribution.path("data"))));
        byte[] created = Files.readAllBytes(kek);

        Distribution.Result second = keystore(distribution, "scr:list");
        assertEquals(0, second.exit(), second::toString);
        assertTrue(java.util.Arrays.equals(created, Files.readAllBytes(kek)),
                "the framework cache is rebuilt at every start, the KEK file is not");
    }

    @Test
    void aFailingCommandExitsNonZeroWithOneErrorLine(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);

        Distribution.Result result = keystore(distribution, "nosuchcommand");

        assertEquals(CommandRunner.FAILED, result.exit(), result::toString);
        assertEquals(List.of("error: Command not found: nosuchcommand"), result.errLines(), result::toString);
        assertEquals("", result.out(), result::toString);
    }

    @Test
    void aScriptRunsStatementByStatementAndStopsAtTheFirstFailure(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);
        Path good = Files.writeString(distribution.path("good.gosh"), String.join("\n",
                "# a comment, then a blank line",
                "",
                "echo first $1",
                "each [a b] {",
                "    echo item-$it",
                "}",
                "echo last"));
        Path bad = Files.writeString(distribution.path("bad.gosh"), String.join("\n",
                "echo before",
                "nosuchcommand --with args",
                "echo never"));

        Distribution.Result passed = distribution.run(good.toString(), "argument");
        assertEquals(0, passed.exit(), passed::toString);
        assertEquals(List.of("first argument", "item-a", "item-b", "last"), passed.out().lines().toList(),
                passed::toString);
        assertEquals("", passed.err(), passed::toString);

        Distribution.Result failed = distribution.run("-f", bad.toString());
        assertEquals(CommandRunner.FAILED, failed.exit(), failed::toString);
        assertEquals(List.of("before"), failed.out().lines().toList(), failed::toString);
        assertEquals(List.of("error: " + bad + ":2: Command not found: nosuchcommand"), failed.errLines(),
                failed::toString);
    }

    @Test
    void badUsageExitsWithStatusTwoBeforeStartingAnything(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);

        Distribution.Result unknown = distribution.run("--bogus");
        assertEquals(Main.USAGE, unknown.exit(), unknown::toString);
        assertTrue(unknown.err().startsWith("error: unknown option --bogus"), unknown::toString);

        Distribution.Result missing = distribution.run("no-such-script.gosh");
        assertEquals(Main.USAGE, missing.exit(), missing::toString);
        assertEquals(1, missing.errLines().size(), missing::toString);
        assertFalse(Files.exists(distribution.path("data/cache")), "the framework was not started");
    }

    @Test
    void pluginsPresentAtStartAreStartedBeforeCommandsRun(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);
        Distribution.writeBundle(distribution.path("plugins/test-plugin.jar"), "org.openkcm.test.plugin", "1.0.0");

        Distribution.Result result = keystore(distribution, "lb -s org.openkcm.test.plugin");

        assertEquals(0, result.exit(), result::toString);
        assertTrue(Pattern.compile("\\|Active\\s*\\|\\s*" + StartLevels.PLUGINS + "\\|org\\.openkcm\\.test\\.plugin ")
                .matcher(result.out()).find(), result::toString);
    }

    @Test
    void aBackendBundleDroppedIntoPluginsIsStartedAndRemovingItUninstallsIt(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);
        // The memory backend leaves bundle/: the runtime starts without a backend.
        Path aside = distribution.path("keystore-memory.jar");
        try (var jars = Files.newDirectoryStream(distribution.path("bundle"), "keystore-memory-*.jar")) {
            Files.move(jars.iterator().next(), aside);
        }
        try (Distribution.Running runtime = interactive(distribution)) {
            assertFalse(shell(runtime, "scr:list").contains(MEMORY_COMPONENT));

            Path plugin = distribution.path("plugins/keystore-memory.jar");
            Files.copy(aside, distribution.path("plugins/.keystore-memory.part"));
            Files.move(distribution.path("plugins/.keystore-memory.part"), plugin, StandardCopyOption.ATOMIC_MOVE);
            Distribution.eventually(LIVE_CHANGE, () -> {
                String components = shell(runtime, "scr:list");
                assertTrue(components.contains(MEMORY_COMPONENT)
                        && components.contains("State:ACTIVE, PID(s): [org.openkcm.keystore.memory~default]"),
                        components);
            });
            assertTrue(shell(runtime, "lb -s org.openkcm.keystore.keystore-memory").contains("|Active     |    " + StartLevels.PLUGINS + "|"));

            Files.delete(plugin);
            Distribution.eventually(LIVE_CHANGE, () -> {
                String bundles = shell(runtime, "lb -s");
                assertFalse(bundles.contains("org.openkcm.keystore.keystore-memory"), bundles);
            });
            assertFalse(shell(runtime, "scr:list").contains(MEMORY_COMPONENT));
        }
    }

    @Test
    void aJarInPluginsNamedLikeABuiltInBundleIsRefusedAndChangesNothing(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);
        try (Distribution.Running runtime = interactive(distribution)) {
            String before = memoryBundle(runtime);
            assertTrue(before.contains("|Active"), before);
            // the built-in's own name and version: FileInstall alone would update the built-in with it
            Path fake = Distribution.writeBundle(distribution.path("plugins/my-memory.jar"),
                    "org.openkcm.keystore.keystore-memory", "0.1.0.SNAPSHOT");
            Distribution.eventually(LIVE_CHANGE, () -> assertTrue(runtime.err().contains("error: plugins/my-memory.jar "
                    + "is refused: its Bundle-SymbolicName org.openkcm.keystore.keystore-memory is that of the built-in "
                    + "bundle/keystore-memory-"), runtime.err()));
            assertEquals(before, memoryBundle(runtime), "the built-in is still the one installed, unchanged");
            String locations = shell(runtime, "lb -l");
            assertTrue(locations.contains("/bundle/keystore-memory-") && !locations.contains("my-memory.jar"), locations);
            assertTrue(shell(runtime, "scr:list").contains("State:ACTIVE, PID(s): [org.openkcm.keystore.memory~default]"));

            Files.delete(fake);
            Thread.sleep(1500); // several FileInstall polls (250 ms): nothing to wait for, nothing may happen
            assertEquals(before, memoryBundle(runtime), "removing the dropped jar leaves the built-in installed");
            assertTrue(shell(runtime, "scr:list").contains("State:ACTIVE, PID(s): [org.openkcm.keystore.memory~default]"));
        }
    }

    /** The "lb -s" line of the memory backend's bundle: id, state, level, name and version. */
    private static String memoryBundle(Distribution.Running runtime) throws Exception {
        String bundles = shell(runtime, "lb -s");
        List<String> lines = bundles.lines().filter(l -> l.contains("org.openkcm.keystore.keystore-memory")).toList();
        assertEquals(1, lines.size(), bundles);
        return lines.get(0);
    }

    @Test
    void aCfgDroppedIntoConfigTakesEffectWithoutARestart(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);
        try (Distribution.Running runtime = interactive(distribution)) {
            runtime.awaitOut(DEFAULT_PLACEMENT + "\n", COMMAND);
            assertFalse(shell(runtime, "scr:list").contains("~hot"));

            Path hot = distribution.path("config/org.openkcm.keystore.memory-hot.cfg");
            Files.copy(distribution.path("config/examples/org.openkcm.keystore.memory-hot.cfg"), hot);
            Distribution.eventually(LIVE_CHANGE, () -> assertEquals("[L4]", tiersOf(runtime, "hot")));

            Files.writeString(hot, Files.readString(hot).replace("[ \"L4\" ]", "[ \"L3\", \"L4\" ]"));
            Distribution.eventually(LIVE_CHANGE, () -> assertEquals("[L3, L4]", tiersOf(runtime, "hot")));

            Files.delete(hot);
            Distribution.eventually(LIVE_CHANGE, () -> assertFalse(shell(runtime, "scr:list").contains("~hot")));
            assertEquals("[L4]", tiersOf(runtime, "default"), "the default instance is untouched");
        }
    }

    @Test
    void aConfigYamlEditTakesEffectWithoutARestartAndTheCfgFilesBesideItAreHandledOnce(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);
        try (Distribution.Running runtime = interactive(distribution)) {
            runtime.awaitOut(DEFAULT_PLACEMENT + "\n", COMMAND);
            Path yaml = distribution.path("config/config.yaml");
            String shipped = Files.readString(yaml);

            // FileInstall watches config/ for config.yaml for the config bundle (a second watcher of the folder).
            Files.writeString(yaml, shipped + "org.openkcm.keystore.memory:\n  hot: {keystore.name: hot, keystore.tiers: [L4]}\n");
            Distribution.eventually(LIVE_CHANGE, () -> assertEquals("[L4]", tiersOf(runtime, "hot")));
            Files.writeString(yaml, shipped + "org.openkcm.keystore.memory:\n  hot: {keystore.name: hot, keystore.tiers: [L3, L4]}\n");
            Distribution.eventually(LIVE_CHANGE, () -> assertEquals("[L3, L4]", tiersOf(runtime, "hot")));

            // The .cfg of the same folder, edited now, is handled once: one configuration, the edit applied.
            Path cfg = distribution.path("config/org.openkcm.keystore.memory-default.cfg");
            Files.writeString(cfg, Files.readString(cfg).replace("[ \"L4\" ]", "[ \"L3\", \"L4\" ]"));
            Distribution.eventually(LIVE_CHANGE, () -> assertEquals("[L3, L4]", tiersOf(runtime, "default")));
            String components = shell(runtime, "scr:list");
            assertEquals(1, components.split(Pattern.quote("org.openkcm.keystore.memory~default"), -1).length - 1, components);

            Files.writeString(yaml, shipped);
            Distribution.eventually(LIVE_CHANGE, () -> assertFalse(shell(runtime, "scr:list").contains("~hot")));
        }
    }

    @Test
    void sigtermStopsTheDaemonCleanlyWithinItsBound(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);
        try (Distribution.Running runtime = distribution.start("--daemon")) {
            runtime.awaitOut("openkcm-keystore: started in ", COMMAND);
            runtime.awaitOut(DEFAULT_PLACEMENT + "\n", COMMAND);

            int exit = runtime.terminate(Duration.ofSeconds(KeystoreRuntime.stopTimeout().toSeconds() + 10));

            assertEquals(143, exit, "the JVM's status after a SIGTERM it handled\n" + runtime);
            assertTrue(runtime.out().contains("openkcm-keystore: stopped in "), runtime::toString);
            assertEquals("", Distribution.withoutFreshKekWarning(runtime.err()), runtime::toString);
        }
    }

    /** The one line a runtime started on a home that a running one holds prints before it exits with 3. */
    private static String heldLine(Distribution distribution, Distribution.Running holder) throws Exception {
        return "error: not started: a runtime is already running on this home (" + distribution.home().toRealPath()
                + ", pid " + holder.process().pid() + "); stop it first, or use another home";
    }

    /**
     * Every file and folder under {@code data/} (the bundle cache included) with its size and
     * modification time: what a refused runtime must leave as it was.
     */
    private static Map<String, String> snapshot(Path data) throws Exception {
        Map<String, String> files = new TreeMap<>();
        try (Stream<Path> paths = Files.walk(data)) {
            for (Path path : paths.toList()) {
                BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                files.put(data.relativize(path).toString(),
                        (a.isDirectory() ? "folder" : a.size() + " bytes") + ", modified " + a.lastModifiedTime());
            }
        }
        return files;
    }

    @Test
    void aSecondDaemonOnAHomeARunningRuntimeHoldsRefusesToStartAndChangesNothing(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);
        try (Distribution.Running first = distribution.start()) {
            Distribution.eventually(COMMAND, () -> assertTrue(shell(first, "keystore:list").contains("0 keys"),
                    first::toString));
            assertTrue(shell(first, "keystore:generate --type L2 --owner tenant/acme k1").contains("k1:1"), first::toString);
            assertTrue(Files.isDirectory(distribution.path("data/cache/bundle0")), "the first runtime's bundle cache");
            Map<String, String> before = snapshot(distribution.path("data"));

            // (the shell, -c and scripts run on the running runtime over gRPC instead: ClientModeIT)
            Distribution.Result second = distribution.run("--daemon");
            assertEquals(Main.NOT_STARTED, second.exit(), second::toString);
            assertEquals(List.of(heldLine(distribution, first)), second.errLines(), second::toString);
            assertEquals("", second.out(), second::toString);

            assertEquals(before, snapshot(distribution.path("data")), "the refused runtimes changed data/");
            String show = shell(first, "keystore:show k1:1");
            assertTrue(show.contains("k1:1") && show.contains("ACTIVE") && show.contains("file"), show);
            assertTrue(shell(first, "keystore:generate --type L3 --owner tenant/acme --parent k1:1 k2").contains("k2:1"),
                    first::toString);
            var input = first.process().getOutputStream();
            input.write("exit\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            input.flush();
            assertTrue(first.process().waitFor(KeystoreRuntime.stopTimeout().toSeconds() + 10,
                    java.util.concurrent.TimeUnit.SECONDS), first::toString);
            assertEquals(0, first.process().exitValue(), first::toString);
        }
        // the lock went with the process: the next runtime takes the home over, and the keys are there
        Distribution.Result next = keystore(distribution, "keystore:show k2:1");
        assertEquals(0, next.exit(), next::toString);
        assertTrue(next.out().contains("k2:1"), next::toString);
    }

    @Test
    void commandsRunWhileTheDaemonRunsRunOnItOverGrpc(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);
        try (Distribution.Running daemon = distribution.start("--daemon")) {
            daemon.awaitOut("openkcm-keystore: started in ", COMMAND);
            daemon.awaitOut(DEFAULT_PLACEMENT + "\n", COMMAND);
            assertTrue(daemon.out().contains("pid " + daemon.process().pid() + ")"), daemon::toString);

            Distribution.Result health = keystore(distribution, "keystore:health");

            assertEquals(0, health.exit(), health::toString);
            assertTrue(health.out().contains("health: every tier (L2, L3, L4) can be served"), health::toString);
            assertEquals("", health.err(), health::toString);
            Distribution.Result second = distribution.run("--daemon");
            assertEquals(Main.NOT_STARTED, second.exit(), second::toString);
            assertEquals(List.of(heldLine(distribution, daemon)), second.errLines(), second::toString);
            assertEquals(143, daemon.terminate(Duration.ofSeconds(KeystoreRuntime.stopTimeout().toSeconds() + 10)),
                    daemon::toString);
            assertTrue(daemon.out().contains("openkcm-keystore: stopped in "), daemon::toString);
            assertEquals("", Distribution.withoutFreshKekWarning(daemon.err()), "the daemon saw nothing of it\n" + daemon);
        }
    }

    @Test
    void theDaemonReportsABrokenConfigurationOnOneLineAndExits3(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);
        Files.writeString(distribution.path("config/org.openkcm.keystore.memory-broken.cfg"),
                "keystore.name = \"no spaces allowed\"\n");
        Distribution.Result result = distribution.run("--daemon");
        assertEquals(Main.NOT_STARTED, result.exit(), result::toString);
        List<String> errors = result.errLines().stream().filter(l -> l.startsWith("error: [")).toList();
        assertEquals(1, errors.size(), result::toString);
        assertTrue(errors.get(0).startsWith("error: [org.openkcm.keystore.keystore-memory] ")
                && errors.get(0).contains("org.openkcm.keystore.memory-broken.cfg")
                && errors.get(0).contains("invalid keystore.name"), result::toString);
        assertTrue(result.err().lines().noneMatch(line -> line.startsWith("\tat ")), "no stack trace");
        assertFalse(result.out().contains("started in"), result::toString);
    }

    private static String shell(Distribution.Running runtime, String command) throws Exception {
        return runtime.shell(command, COMMAND);
    }

    /** Starts the interactive runtime and waits until every bundle has started. */
    private static Distribution.Running interactive(Distribution distribution) throws Exception {
        Distribution.Running runtime = distribution.start();
        try {
            // The console opens during the final start level; "lb" says when the framework is there.
            Distribution.eventually(COMMAND, () -> {
                String bundles = runtime.shell("lb -s org.apache.felix.framework", COMMAND);
                assertTrue(bundles.contains("START LEVEL " + StartLevels.FINAL) && bundles.contains("|Active"),
                        bundles);
            });
            return runtime;
        } catch (Exception | AssertionError e) {
            runtime.close();
            throw e;
        }
    }

    /** The keystore.tiers of the in-memory instance with this configuration name, as scr:info prints it. */
    private static String tiersOf(Distribution.Running runtime, String name) throws Exception {
        String info = shell(runtime, "scr:info " + MEMORY_COMPONENT);
        int at = info.indexOf("service.pid<String> = org.openkcm.keystore.memory~" + name);
        assertTrue(at >= 0, () -> "no instance " + name + "\n" + info);
        int begin = info.lastIndexOf("Component Configuration Id:", at);
        Matcher tiers = Pattern.compile("keystore\\.tiers<String\\[\\]> = (\\[[^\\]]*\\])").matcher(info);
        assertTrue(tiers.find(begin), info);
        return tiers.group(1);
    }
}
