package org.openkcm.keystore.itest;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;
import static org.ops4j.pax.exam.CoreOptions.options;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Dictionary;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.felix.fileinstall.ArtifactInstaller;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreProperties;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.osgi.framework.Bundle;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ManagedService;
import org.osgi.service.log.LogEntry;
import org.osgi.service.log.LogLevel;
import org.osgi.service.log.LogListener;
import org.osgi.service.log.LogReaderService;

/**
 * The config bundle in a real framework: config.yaml and environment overrides become
 * ConfigAdmin configurations and reach the in-memory backend; edits apply live; a broken file
 * changes nothing and the error names the file, the line and the key; {@code $[env:…]} and
 * {@code $[secret:…]} references are stored as written and resolved for consumers by ConfigAdmin's
 * interpolation plugin; a configuration in config.yaml shadows the .cfg file of the same PID
 * (FileInstall, for real) and hands it back when it leaves config.yaml.
 * <p>
 * The environment of a running JVM cannot change, so the overrides come from the config bundle's
 * environment file ({@code env.file}), whose entries count as environment variables.
 * <p>
 * Edits reach the bundle through FileInstall: it asks for a watcher of config.yaml's folder (a
 * factory configuration of FileInstall's PID, for that file only) and handles the file as an
 * {@code ArtifactInstaller}; ConfigAdmin changes reach it as a {@code ConfigurationListener}. The
 * framework's own FileInstall watcher has the runtime's filter, {@code .*\.(cfg|config|jar)}.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class ConfigYamlIT extends KeystoreTestSupport {

    private static final String CONFIG_PID = "org.openkcm.keystore.config";
    private static final String CONFIG_BSN = "org.openkcm.keystore.config";
    private static final String ROUTE_PID = "org.openkcm.keystore.route";
    private static final String SOURCE = ".openkcm.config.source";
    private static final String SHADOWS = ".openkcm.config.shadows";
    private static final String FILENAME = "felix.fileinstall.filename";
    private static final String FILEINSTALL_BSN = "org.apache.felix.fileinstall";
    private static final String WATCHER_PID = "org.apache.felix.fileinstall";
    private static final String YAML_WATCHER = WATCHER_PID + "~openkcm-config-yaml";
    private static final String ENV_WATCHER = WATCHER_PID + "~openkcm-config-env";
    private static final String SECRETS_DIR = "org.apache.felix.configadmin.plugin.interpolation.secretsdir";

    private Path dir;
    private Path yaml;
    private Path envFile;
    private final List<LogEntry> errors = new CopyOnWriteArrayList<>();
    private LogReaderService logReader;
    private final LogListener listener = entry -> {
        if (entry.getLogLevel() == LogLevel.ERROR && CONFIG_BSN.equals(entry.getBundle().getSymbolicName())) {
            errors.add(entry);
        }
    };

    @org.ops4j.pax.exam.Configuration
    public Option[] configuration() throws IOException {
        Path base = Files.createTempDirectory("openkcm-config-it");
        Path secrets = Files.createDirectories(base.resolve("secrets"));
        Files.writeString(secrets.resolve("bao-token"), "s.from-the-secrets-dir");
        Path cfg = Files.createDirectories(base.resolve("cfg"));
        return options(
                baseConfiguration(),
                // ConfigAdmin registers only once this plugin is there, so no consumer ever sees "$[...]".
                frameworkProperty("felix.cm.config.plugins").value("org.apache.felix.configadmin.plugin.interpolation"),
                frameworkProperty(SECRETS_DIR).value(secrets.toString()),
                frameworkProperty("felix.fileinstall.dir").value(cfg.toString()),
                frameworkProperty("felix.fileinstall.poll").value("100"),
                frameworkProperty("felix.fileinstall.noInitialDelay").value("true"),
                frameworkProperty("felix.fileinstall.filter").value(".*\\.(cfg|config|jar)"),
                // until the test configures the bundle: a config.yaml that does not exist
                frameworkProperty("openkcm.config.yaml").value(base.resolve("absent.yaml").toString()),
                buildBundle("converter"),
                buildBundle("interpolation"),
                buildBundle("log"),
                buildBundle("fileinstall"),
                buildBundle("config"));
    }

    @Before
    public void configureTheConfigBundle() throws Exception {
        dir = Files.createTempDirectory("openkcm-config-yaml");
        yaml = dir.resolve("config.yaml");
        envFile = dir.resolve("environment.properties");
        ServiceReference<LogReaderService> ref = bundleContext.getServiceReference(LogReaderService.class);
        assertNotNull("no LogReaderService", ref);
        logReader = bundleContext.getService(ref);
        logReader.addLogListener(listener);
    }

    @After
    public void stopListening() {
        if (logReader != null) {
            logReader.removeLogListener(listener);
        }
    }

    /** Points the config bundle at this test's config.yaml and environment file, read every 100 ms. */
    private void startReading() throws IOException {
        startReading(yaml, envFile, 100L);
    }

    private void startReading(Path yamlFile, Path environmentFile, long pollInterval) throws IOException {
        Configuration own = configurationAdmin.getConfiguration(CONFIG_PID, "?");
        own.update(dictionary(Map.of(
                "yaml.path", yamlFile.toString(),
                "env.file", environmentFile.toString(),
                "poll.interval", pollInterval)));
    }

    @Test
    public void configYamlAndTheEnvironmentBecomeConfigurationsAndEditsApplyLive() throws Exception {
        write(yaml, """
                org.openkcm.keystore.memory:
                  default:
                    keystore.name: yaml-memory
                    keystore.tiers: [L4]
                org.openkcm.keystore.route:
                  l2-l3-to-openbao: {tiers: [L2, L3], target: openbao, priority: 10}
                """);
        write(envFile, """
                OPENKCM__MEMORY__DEFAULT__KEYSTORE_TIERS=[L3, L4]
                OPENKCM__ROUTE__EU_TENANTS__OWNER_ID_PREFIX=eu-
                OPENKCM__ROUTE__EU_TENANTS__TARGET=memory
                """);
        startReading();

        Map<String, Object> memory = awaitConfiguration(MEMORY_PID + "~default");
        assertEquals("yaml-memory", memory.get(KeystoreProperties.NAME));
        assertArrayEquals("the environment overrides config.yaml's tiers", new String[] {"L3", "L4"},
                (String[]) memory.get(KeystoreProperties.TIERS));
        assertEquals("yaml", memory.get(SOURCE));
        ServiceReference<Keystore> keystore = awaitKeystoreReference("yaml-memory");
        assertArrayEquals("the backend got it", new String[] {"L3", "L4"},
                (String[]) keystore.getProperty(KeystoreProperties.TIERS));
        assertNull("the marker is private: not a service property", keystore.getProperty(SOURCE));

        Map<String, Object> route = awaitConfiguration(ROUTE_PID + "~l2-l3-to-openbao");
        assertArrayEquals(new String[] {"L2", "L3"}, (String[]) route.get("tiers"));
        assertEquals("openbao", route.get("target"));
        assertEquals(Integer.valueOf(10), route.get("priority"));

        Map<String, Object> eu = awaitConfiguration(ROUTE_PID + "~eu-tenants");
        assertEquals("eu-", eu.get("ownerIdPrefix"));
        assertEquals("memory", eu.get("target"));
        assertEquals("env", eu.get(SOURCE));
        long euChanges = find(ROUTE_PID + "~eu-tenants").getChangeCount();

        // Edit the file: rename the backend, drop a route, add one; comments and layout change too.
        write(yaml, """
                # edited while running
                org.openkcm.keystore.memory:
                  default: {keystore.name: edited-memory, keystore.tiers: [L4]}
                org.openkcm.keystore.route:
                  l4: {tiers: [L4], target: edited-memory}
                """);
        awaitKeystoreReference("edited-memory");
        awaitNoKeystore("yaml-memory");
        awaitConfiguration(ROUTE_PID + "~l4");
        awaitCondition("the route that left config.yaml to be deleted", () -> find(ROUTE_PID + "~l2-l3-to-openbao") == null);
        assertEquals("a configuration whose properties did not change is not written again",
                euChanges, find(ROUTE_PID + "~eu-tenants").getChangeCount());
        assertTrue("no error: " + errors, errors.isEmpty());
    }

    @Test
    public void anOpenBaoInstanceComesFromTheEnvironmentAlone() throws Exception {
        // No config.yaml at all, no .cfg: the variables name a new instance "main" of the factory PID.
        write(envFile, """
                OPENKCM__OPENBAO__MAIN__ADDRESS=https://bao.example.net:8200
                OPENKCM__OPENBAO__MAIN__KEYSTORE_TIERS=[L2, L3]
                OPENKCM__OPENBAO__MAIN__TOKEN_SOURCE=env:OPENKCM_SECRET_BAO_TOKEN
                OPENKCM__OPENBAO__MAIN__NAMESPACE_MODE=per-tenant
                OPENKCM__OPENBAO__MAIN__NAMESPACE_BASE=openkcm
                OPENKCM__OPENBAO__MAIN__SERVICE_RANKING=10
                """);
        startReading();
        Map<String, Object> main = awaitConfiguration("org.openkcm.keystore.openbao~main");
        assertEquals("org.openkcm.keystore.openbao", main.get("service.factoryPid"));
        assertEquals("https://bao.example.net:8200", main.get("address"));
        assertArrayEquals(new String[] {"L2", "L3"}, (String[]) main.get("keystore.tiers"));
        assertEquals("env:OPENKCM_SECRET_BAO_TOKEN", main.get("token.source"));
        assertEquals("per-tenant", main.get("namespace.mode"));
        assertEquals("openkcm", main.get("namespace.base"));
        assertEquals(Integer.valueOf(10), main.get("service.ranking"));

        // The variables gone, the instance goes.
        write(envFile, "");
        awaitCondition("the OpenBao instance to be deleted", () -> find("org.openkcm.keystore.openbao~main") == null);
    }

    @Test
    public void aBrokenFileChangesNothingAndSaysWhereItIsBroken() throws Exception {
        String valid = """
                org.openkcm.keystore.memory:
                  default: {keystore.name: kept, keystore.tiers: [L4]}
                org.openkcm.keystore.route:
                  l4: {tiers: [L4], target: kept}
                """;
        write(yaml, valid);
        write(envFile, "OPENKCM__ROUTE__L4__PRIORITY=3\n");
        startReading();
        awaitKeystoreReference("kept");
        assertEquals(Integer.valueOf(3), awaitConfiguration(ROUTE_PID + "~l4").get("priority"));
        Map<String, Long> before = ownedChangeCounts();
        assertEquals(2, before.size());

        // A value of the wrong type, on line 5.
        write(yaml, """
                org.openkcm.keystore.memory:
                  default: {keystore.name: changed, keystore.tiers: [L4]}
                org.openkcm.keystore.route:
                  l4:
                    tiers: {first: L4}
                    target: changed
                """);
        String wrongType = awaitError(yaml + ":5: " + ROUTE_PID + "/l4/tiers: ");
        assertTrue(wrongType, wrongType.contains("not a mapping"));

        // YAML that does not parse, on line 3.
        write(yaml, "org.openkcm.keystore.memory:\n  default: {keystore.name: changed\norg.openkcm.keystore.route: x\n");
        String syntax = awaitError(": not valid YAML");
        assertTrue(syntax, syntax.matches(".*" + java.util.regex.Pattern.quote(yaml.toString()) + ":[0-9]+: not valid YAML.*"));

        // A secret written in clear.
        write(yaml, "org.openkcm.keystore.openbao:\n  main:\n    token: s.Cle4rT3xtToken\n");
        String secret = awaitError(yaml + ":3: org.openkcm.keystore.openbao/main/token: ");
        assertFalse("the error never shows the value: " + secret, secret.contains("Cle4rT3xt"));

        // A variable that maps to nothing.
        write(yaml, valid);
        write(envFile, "OPENKCM__ROUTE__L4__PRIORITY=3\nOPENKCM__ROUTE__L4__TARGETS=x\n");
        awaitError("environment: OPENKCM__ROUTE__L4__TARGETS: unknown property 'TARGETS'");

        assertEquals("nothing was applied, not even in part", before, ownedChangeCounts());
        assertEquals("kept", find(MEMORY_PID + "~default").getProperties().get(KeystoreProperties.NAME));
        awaitKeystoreReference("kept");
        assertTrue(keystoreReferences("changed").isEmpty());
        assertTrue(wrongType + "\n" + syntax, errors.stream().noneMatch(e -> e.getMessage().contains("s.Cle4rT3xt")));

        // Fixed: applies at once.
        write(envFile, "OPENKCM__ROUTE__L4__PRIORITY=4\n");
        awaitCondition("the fixed input to apply",
                () -> Integer.valueOf(4).equals(properties(find(ROUTE_PID + "~l4")).get("priority")));
    }

    @Test
    public void referencesAreStoredAsWrittenAndResolvedForConsumers() throws Exception {
        String pid = "org.openkcm.itest.consumer";
        AtomicReference<Dictionary<String, ?>> delivered = new AtomicReference<>();
        ServiceRegistration<ManagedService> consumer = bundleContext.registerService(ManagedService.class,
                delivered::set, new java.util.Hashtable<>(Map.of("service.pid", pid)));
        try {
            write(yaml, pid + ":\n  token: \"$[secret:bao-token]\"\n  path: \"$[env:PATH]\"\n  plain: text\n");
            write(envFile, "");
            startReading();

            awaitCondition("the consumer to get its configuration",
                    () -> delivered.get() != null && delivered.get().get("plain") != null);
            assertEquals("$[secret:...] is read from the secrets directory", "s.from-the-secrets-dir",
                    delivered.get().get("token"));
            assertEquals("$[env:...] is read from the environment", System.getenv("PATH"), delivered.get().get("path"));

            Dictionary<String, Object> stored = find(pid).getProperties();
            assertEquals("ConfigAdmin stores the reference, never the secret", "$[secret:bao-token]", stored.get("token"));
            assertEquals("$[env:PATH]", stored.get("path"));
        } finally {
            consumer.unregister();
        }
    }

    @Test
    public void configYamlShadowsACfgFileWholeAndHandsItBack() throws Exception {
        Path cfgDir = Path.of(bundleContext.getProperty("felix.fileinstall.dir"));
        Path cfg = cfgDir.resolve(MEMORY_PID + "-shadow.cfg");
        String cfgText = "keystore.name = from-cfg\nkeystore.tiers = L2\nmaxEntries = 7\n";
        write(cfg, cfgText);
        awaitKeystoreReference("from-cfg");
        assertNotNull(find(MEMORY_PID + "~shadow").getProperties().get(FILENAME));

        write(yaml, """
                org.openkcm.keystore.memory:
                  shadow: {keystore.name: from-yaml, keystore.tiers: [L4]}
                """);
        write(envFile, "OPENKCM__MEMORY__SHADOW__KEYSTORE_TIERS=[L3]\n");
        startReading();

        awaitKeystoreReference("from-yaml");
        awaitNoKeystore("from-cfg");
        Map<String, Object> shadowing = properties(find(MEMORY_PID + "~shadow"));
        assertArrayEquals("environment over config.yaml", new String[] {"L3"},
                (String[]) shadowing.get(KeystoreProperties.TIERS));
        assertNull("over the .cfg file by whole configuration: none of its properties", shadowing.get("maxEntries"));
        assertNull("FileInstall's mark is gone, so it writes nothing back", shadowing.get(FILENAME));
        assertEquals("the shadowed file is recorded", cfg, Path.of(java.net.URI.create((String) shadowing.get(SHADOWS))));
        String cfgNow = Files.readString(cfg);
        assertTrue("nothing of config.yaml is written into the .cfg file: " + cfgNow,
                cfgNow.contains("from-cfg") && !cfgNow.contains("from-yaml") && !cfgNow.contains("L3"));

        // config.yaml and the environment let go of it: FileInstall takes it back from the file.
        write(envFile, "");
        write(yaml, "");
        awaitKeystoreReference("from-cfg");
        awaitCondition("FileInstall to own it again",
                () -> properties(find(MEMORY_PID + "~shadow")).get(FILENAME) != null);
        Map<String, Object> back = properties(find(MEMORY_PID + "~shadow"));
        assertEquals("7", String.valueOf(back.get("maxEntries")));
        assertNull(back.get(SOURCE));
        assertTrue("the .cfg file is still there", Files.isRegularFile(cfg));
        assertTrue("no error: " + errors, errors.isEmpty());
    }

    @Test
    public void anEditInAFolderFileInstallDoesNotWatchArrivesThroughTheWatcherTheBundleAsksFor() throws Exception {
        Path cfgDir = Path.of(bundleContext.getProperty("felix.fileinstall.dir"));
        Path otherDir = Files.createTempDirectory("openkcm-config-env");
        Path otherEnv = otherDir.resolve("kms.env");
        write(yaml, "org.openkcm.keystore.memory:\n  default: {keystore.name: first, keystore.tiers: [L4]}\n");
        write(otherEnv, "OPENKCM__MEMORY__DEFAULT__KEYSTORE_TIERS=[L3]\n");
        startReading(yaml, otherEnv, 100L);
        awaitKeystoreReference("first");

        // One watcher per folder, each for its file only; neither is FileInstall's own folder.
        awaitCondition("the watcher configurations", () -> find(YAML_WATCHER) != null && find(ENV_WATCHER) != null);
        Map<String, Object> yamlWatcher = properties(find(YAML_WATCHER));
        assertEquals(dir.toAbsolutePath().normalize().toString(), yamlWatcher.get("felix.fileinstall.dir"));
        assertTrue(java.util.regex.Pattern.matches((String) yamlWatcher.get("felix.fileinstall.filter"), "config.yaml"));
        assertFalse(java.util.regex.Pattern.matches((String) yamlWatcher.get("felix.fileinstall.filter"), "x.cfg"));
        assertEquals("100", yamlWatcher.get("felix.fileinstall.poll"));
        Map<String, Object> envWatcher = properties(find(ENV_WATCHER));
        assertEquals(otherDir.toAbsolutePath().normalize().toString(), envWatcher.get("felix.fileinstall.dir"));
        assertTrue(java.util.regex.Pattern.matches((String) envWatcher.get("felix.fileinstall.filter"), "kms.env"));
        assertFalse(dir.equals(cfgDir) || otherDir.equals(cfgDir));

        write(yaml, "org.openkcm.keystore.memory:\n  default: {keystore.name: second, keystore.tiers: [L4]}\n");
        awaitKeystoreReference("second");
        write(otherEnv, "OPENKCM__MEMORY__DEFAULT__KEYSTORE_TIERS=[L2]\n");
        awaitCondition("the edit of the environment file", () -> java.util.Arrays.equals(new String[] {"L2"},
                (String[]) properties(find(MEMORY_PID + "~default")).get(KeystoreProperties.TIERS)));

        // The bundle polls nothing itself: with FileInstall stopped an edit waits, and arrives when it starts.
        Bundle fileInstall = installedBundle(FILEINSTALL_BSN);
        fileInstall.stop();
        write(yaml, "org.openkcm.keystore.memory:\n  default: {keystore.name: third, keystore.tiers: [L4]}\n");
        Thread.sleep(1500);
        assertTrue("no FileInstall, no edit", keystoreReferences("third").isEmpty());
        fileInstall.start();
        awaitKeystoreReference("third");
        assertTrue("no error: " + errors, errors.isEmpty());
    }

    @Test
    public void aConfigurationChangedInConfigAdminIsPutBackAtOnce() throws Exception {
        write(yaml, "org.openkcm.keystore.memory:\n  default: {keystore.name: kept, keystore.tiers: [L4]}\n");
        write(envFile, "");
        // FileInstall looks at the files every 10 minutes: only the listener can put a configuration back in time.
        startReading(yaml, envFile, 600_000L);
        awaitKeystoreReference("kept");
        // Let the activation's pass and FileInstall's first report of the file go by: after them, only
        // the listener can put a configuration back within the test's timeout.
        Thread.sleep(1000);

        find(MEMORY_PID + "~default").delete();
        awaitCondition("the deleted configuration to be put back",
                () -> "kept".equals(properties(find(MEMORY_PID + "~default")).get(KeystoreProperties.NAME)));
        assertEquals("yaml", properties(find(MEMORY_PID + "~default")).get(SOURCE));

        Map<String, Object> changed = new TreeMap<>(properties(find(MEMORY_PID + "~default")));
        changed.keySet().removeAll(List.of("service.pid", "service.factoryPid"));
        changed.put(KeystoreProperties.NAME, "changed-in-the-shell");
        find(MEMORY_PID + "~default").update(dictionary(changed));
        awaitCondition("the changed configuration to be put back",
                () -> "kept".equals(properties(find(MEMORY_PID + "~default")).get(KeystoreProperties.NAME)));
        awaitKeystoreReference("kept");

        // Its own writes cause one more pass, which writes nothing: no loop.
        Thread.sleep(500);
        long settled = find(MEMORY_PID + "~default").getChangeCount();
        Thread.sleep(1000);
        assertEquals("the bundle does not keep writing", settled, find(MEMORY_PID + "~default").getChangeCount());
        assertTrue("no error: " + errors, errors.isEmpty());
    }

    @Test
    public void theWatcherGoesWithTheBundleAndCfgFilesOfASharedFolderAreHandledOnce() throws Exception {
        Path cfgDir = Path.of(bundleContext.getProperty("felix.fileinstall.dir"));
        // Counts how often any FileInstall watcher installs probe.cfg (it outranks FileInstall's own installer).
        java.util.concurrent.atomic.AtomicInteger probeInstalls = new java.util.concurrent.atomic.AtomicInteger();
        ServiceRegistration<ArtifactInstaller> probe = bundleContext.registerService(ArtifactInstaller.class,
                new ArtifactInstaller() {
                    @Override
                    public boolean canHandle(java.io.File artifact) {
                        return artifact.getName().equals("probe.cfg");
                    }

                    @Override
                    public void install(java.io.File artifact) {
                        probeInstalls.incrementAndGet();
                    }

                    @Override
                    public void update(java.io.File artifact) {
                    }

                    @Override
                    public void uninstall(java.io.File artifact) {
                    }
                }, new java.util.Hashtable<>(Map.of(org.osgi.framework.Constants.SERVICE_RANKING, Integer.MAX_VALUE)));
        try {
            Path shared = cfgDir.resolve(MEMORY_PID + "-shared.cfg");
            write(shared, "keystore.name = from-shared-cfg\nkeystore.tiers = L2\n");
            awaitKeystoreReference("from-shared-cfg");

            // config.yaml and the environment file in FileInstall's own folder: a second watcher there, for them only.
            Path sharedYaml = cfgDir.resolve("config.yaml");
            Path sharedEnv = cfgDir.resolve("environment.properties");
            write(sharedYaml, "org.openkcm.keystore.memory:\n  default: {keystore.name: from-yaml, keystore.tiers: [L4]}\n");
            write(sharedEnv, "");
            startReading(sharedYaml, sharedEnv, 100L);
            awaitKeystoreReference("from-yaml");
            awaitCondition("the watcher configuration", () -> find(YAML_WATCHER) != null);
            assertEquals(cfgDir.toAbsolutePath().normalize().toString(), properties(find(YAML_WATCHER)).get("felix.fileinstall.dir"));
            assertNull("one watcher for both files of the folder", find(ENV_WATCHER));
            write(sharedYaml, "org.openkcm.keystore.memory:\n  default: {keystore.name: edited, keystore.tiers: [L4]}\n");
            awaitKeystoreReference("edited"); // the second watcher is running

            write(cfgDir.resolve("probe.cfg"), "x = 1\n");
            awaitCondition("probe.cfg to be installed", () -> probeInstalls.get() > 0);
            Thread.sleep(1000); // ten polls of both watchers
            assertEquals("probe.cfg is installed by one watcher only", 1, probeInstalls.get());
            write(shared, "keystore.name = edited-shared-cfg\nkeystore.tiers = L2\n");
            awaitKeystoreReference("edited-shared-cfg");
            Configuration[] fromFiles = configurationAdmin.listConfigurations("(" + FILENAME + "=*)");
            assertEquals("one configuration for the .cfg file", 1, java.util.Arrays.stream(fromFiles)
                    .filter(c -> shared.equals(Path.of(java.net.URI.create((String) c.getProperties().get(FILENAME)))))
                    .count());

            // The bundle stopped, its watcher goes; what it configured stays in force.
            installedBundle(CONFIG_BSN).stop();
            assertNull("no watcher configuration left", configurationAdmin.listConfigurations(
                    "(service.factoryPid=" + WATCHER_PID + ")"));
            assertEquals("edited", properties(find(MEMORY_PID + "~default")).get(KeystoreProperties.NAME));
            assertTrue("no error: " + errors, errors.isEmpty());
        } finally {
            probe.unregister();
        }
    }

    @Test
    public void noPollIntervalReadsOnceAndAsksForNoWatcher() throws Exception {
        write(yaml, "org.openkcm.keystore.memory:\n  default: {keystore.name: once, keystore.tiers: [L4]}\n");
        write(envFile, "");
        startReading(yaml, envFile, 0L);
        awaitKeystoreReference("once");
        assertNull(configurationAdmin.listConfigurations("(service.factoryPid=" + WATCHER_PID + ")"));
        write(yaml, "org.openkcm.keystore.memory:\n  default: {keystore.name: twice, keystore.tiers: [L4]}\n");
        Thread.sleep(1000);
        assertTrue("not read again", keystoreReferences("twice").isEmpty());
        awaitKeystoreReference("once");
    }

    // ---- helpers ----

    private static void write(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private Configuration find(String servicePid) {
        try {
            Configuration[] found = configurationAdmin.listConfigurations("(service.pid=" + servicePid + ")");
            return found == null ? null : found[0];
        } catch (IOException | InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Map<String, Object> properties(Configuration c) {
        Map<String, Object> m = new TreeMap<>();
        if (c != null && c.getProperties() != null) {
            Dictionary<String, Object> d = c.getProperties();
            for (Enumeration<String> keys = d.keys(); keys.hasMoreElements();) {
                String k = keys.nextElement();
                m.put(k, d.get(k));
            }
        }
        return m;
    }

    private Map<String, Object> awaitConfiguration(String servicePid) throws InterruptedException {
        awaitCondition("configuration " + servicePid, () -> find(servicePid) != null);
        return properties(find(servicePid));
    }

    /** The change count of every configuration the config bundle wrote. */
    private Map<String, Long> ownedChangeCounts() throws IOException, InvalidSyntaxException {
        Map<String, Long> counts = new HashMap<>();
        Configuration[] owned = configurationAdmin.listConfigurations("(" + SOURCE + "=*)");
        if (owned != null) {
            for (Configuration c : owned) {
                counts.put(c.getPid(), c.getChangeCount());
            }
        }
        return counts;
    }

    /** Waits for an error the config bundle logs that contains {@code text}, and returns its message. */
    private String awaitError(String text) throws InterruptedException {
        awaitCondition("an error containing \"" + text + "\"; errors so far: " + errors,
                () -> errors.stream().anyMatch(e -> e.getMessage().contains(text)));
        return errors.stream().filter(e -> e.getMessage().contains(text)).findFirst().orElseThrow().getMessage();
    }
}
