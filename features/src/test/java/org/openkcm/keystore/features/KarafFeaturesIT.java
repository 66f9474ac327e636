package org.openkcm.keystore.features;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer.OrderAnnotation;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestInstance.Lifecycle;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The keystore's Karaf features in a stock Apache Karaf 4.4.x, unpacked from the distribution on
 * Maven Central and run as a separate process: {@code feature:repo-add} and
 * {@code feature:install} bring the keystore up, {@code etc/*.cfg} files configure it, the
 * {@code keystore:} commands work, and {@code feature:uninstall} of a backend leaves the rest
 * running. The methods run in order against one Karaf; a Karaf that cannot start fails them all.
 * <p>
 * Karaf runs a command given to {@code bin/client} through SSH "exec", which does not print
 * the value a Gogo function returns (the interactive console does); the keystore commands are
 * therefore run as {@code echo (keystore:...)}, which prints it.
 */
@TestInstance(Lifecycle.PER_CLASS)
@TestMethodOrder(OrderAnnotation.class)
class KarafFeaturesIT {

    private static final String GROUP = "org.openkcm.keystore";
    private static final String API = GROUP + ".api";
    private static final String CORE = GROUP + ".core";
    private static final String SHELL = GROUP + ".shell";
    private static final String MEMORY = GROUP + ".keystore-memory";
    private static final String OPENBAO = GROUP + ".keystore-openbao";
    private static final String POSTGRES = GROUP + ".keystore-postgres";
    private static final String FILE = GROUP + ".keystore-file";
    private static final Duration READY = Duration.ofSeconds(120);
    private static final Duration SETTLE = Duration.ofSeconds(30);

    private final String version = property("project.version");
    private Karaf karaf;
    private long started;

    @BeforeAll
    void startKaraf() throws Exception {
        started = System.nanoTime();
        Path home = Path.of(property("karaf.home"));
        Path staged = Path.of(property("karaf.repo.dir"));
        Path features = Path.of(property("features.file"));
        Karaf.stageFeatures(features, staged, GROUP, version);
        karaf = Karaf.prepare(home, staged, Path.of(property("maven.local.repository")));
        karaf.start();
        karaf.awaitReady(READY);
        log("Karaf ready");
    }

    @AfterAll
    void stopKaraf() throws Exception {
        if (karaf != null) {
            karaf.close();
        }
        log("Karaf stopped");
    }

    @Test
    @Order(1)
    void featuresInstallAndTheCommandsServeKeys() throws Exception {
        karaf.ok("feature:repo-add mvn:" + GROUP + "/features/" + version + "/xml/features");
        karaf.ok("feature:install openkcm-keystore openkcm-keystore-memory");

        Map<String, Bundle> bundles = bundles();
        for (String name : List.of(API, CORE, SHELL, MEMORY)) {
            assertActive(bundles, name);
        }
        String installed = karaf.ok("feature:list -i");
        for (String feature : List.of("openkcm-keystore", "openkcm-keystore-memory", "scr")) {
            assertTrue(Pattern.compile("(?m)^" + feature + "\\s").matcher(installed).find(), feature + " installed: " + installed);
        }

        // The configuration the features ship lands in etc/, where an administrator edits it.
        Path memoryDefault = karaf.etc().resolve("org.openkcm.keystore.memory-default.cfg");
        assertTrue(Files.isRegularFile(memoryDefault), "the memory feature writes " + memoryDefault);
        assertTrue(Files.readString(memoryDefault, UTF_8).contains("keystore.name = memory"));
        for (String cfg : List.of("org.openkcm.keystore.kek.file.cfg", "org.openkcm.keystore.router.cfg")) {
            assertTrue(Files.isRegularFile(karaf.etc().resolve(cfg)), "the keystore feature writes etc/" + cfg);
        }
        karaf.await("service:list org.openkcm.keystore.api.Keystore", out -> out.contains("keystore.name = memory"),
                SETTLE, "the default memory backend instance");
        // The in-memory backend is volatile: it takes L2/L3 keys only through a route that names it (fail closed).
        Path persistentTiers = karaf.etc().resolve("org.openkcm.keystore.route-l2-l3-memory.cfg");
        Files.writeString(persistentTiers, "tiers = L2,L3\ntarget = memory\n", UTF_8);
        karaf.await("service:list org.openkcm.keystore.core.routing.RouteComponent",
                out -> out.contains("target = memory"), SETTLE, "the route of " + persistentTiers.getFileName());

        String generated = keystore("generate --type L4 --owner tenant/acme k1");
        assertTrue(generated.contains("k1:1") && generated.contains("tenant/acme"), generated);
        String list = keystore("list");
        assertTrue(list.contains("k1:1") && list.contains("L4") && list.contains("1 key"), list);
        String show = keystore("show k1:1");
        assertTrue(show.contains("k1:1") && show.contains("ACTIVE") && show.contains("tenant/acme"), show);

        // A bad input is one clear error line and a failing exit status, for scripts.
        Karaf.Result unknown = karaf.run("echo (keystore:show nosuch:1)");
        assertNotEquals(0, unknown.exitCode(), unknown.toString());
        assertTrue(unknown.output().startsWith("Error executing command: ") && unknown.output().contains("nosuch:1")
                && unknown.output().contains("not found") && !unknown.output().contains("\n"), unknown.toString());

        // A wrong call is the command's usage line and what was wrong, in Karaf's shell too.
        Karaf.Result wrong = karaf.run("echo (keystore:show --x)");
        assertNotEquals(0, wrong.exitCode(), wrong.toString());
        assertTrue(wrong.output().contains("usage: keystore:show NAME:VERSION (unknown option --x)")
                && !wrong.output().contains("Cannot coerce") && !wrong.output().contains("\n"), wrong.toString());

        // The local KEK went where the feature's etc/org.openkcm.keystore.kek.file.cfg says, owner-only.
        Path kek = karaf.home().resolve("data/openkcm/kek/local.kek");
        assertTrue(Files.isRegularFile(kek), "the KEK file at " + kek);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(kek)));
        Path known = karaf.home().resolve("data/openkcm/kek/known-keks");
        assertTrue(Files.readString(known, UTF_8).lines().anyMatch(l -> l.startsWith("local 1 ") && l.endsWith(" used")),
                "the known-KEK record at " + known + " pins the KEK");
        Path index = karaf.home().resolve("data/openkcm/routing/locations.idx");
        assertTrue(Files.isRegularFile(index), "the key location index at " + index);
        log("features installed, commands served");
    }

    @Test
    @Order(2)
    void cfgFilesInEtcAddBackendInstancesAndChangeRoutingLive() throws Exception {
        // A second in-memory instance that holds one key at most: a typed file (every value typed)
        // gives String[] and Integer values.
        Path extra = karaf.etc().resolve("org.openkcm.keystore.memory-extra.cfg");
        Files.writeString(extra, String.join("\n",
                "keystore.name = \"extra\"",
                "keystore.tiers = [ \"L4\" ]",
                "keystore.regions = [ \"eu-west\" ]",
                "service.ranking = I\"-5\"",
                "maxEntries = I\"1\"",
                ""), UTF_8);
        String services = karaf.await("service:list org.openkcm.keystore.api.Keystore",
                out -> out.contains("keystore.name = extra"), SETTLE, "the backend instance of " + extra.getFileName());
        String block = serviceBlock(services, "keystore.name = extra");
        assertTrue(block.contains("keystore.tiers = [L4]") && block.contains("keystore.regions = [eu-west]")
                && block.contains("service.ranking = -5") && block.contains("service.pid = org.openkcm.keystore.memory~extra"),
                block);
        assertTrue(services.contains("keystore.name = memory"), "the default instance stays: " + services);
        String backends = keystore("backends");
        assertTrue(backends.contains("extra") && backends.contains("memory"), backends);

        // A route (a plain file) sends L4 keys to it: the second one finds it full.
        Path route = karaf.etc().resolve("org.openkcm.keystore.route-edge.cfg");
        Files.writeString(route, "tiers = L4\ntarget = extra\n", UTF_8);
        karaf.await("service:list org.openkcm.keystore.core.routing.RouteComponent", out -> out.contains("target = extra"),
                SETTLE, "the route of " + route.getFileName());
        String routes = keystore("routes");
        assertTrue(routes.contains("edge") && routes.contains("extra"), routes);
        assertTrue(keystore("generate --type L4 --owner tenant/acme k3").contains("k3:1"));
        Karaf.Result full = karaf.run("echo (keystore:generate --type L4 --owner tenant/acme k4)");
        assertTrue(!full.ok() && full.output().contains("'extra' is full"), full.toString());
        assertTrue(keystore("generate --type L3 --owner tenant/acme k5").contains("k5:1"), "L3 keys still go to memory");

        // Without the route, L4 keys go to the default backend again; without its file, the instance goes.
        Files.delete(route);
        karaf.await("service:list org.openkcm.keystore.core.routing.RouteComponent", out -> !out.contains("target = extra"),
                SETTLE, "removing the route with its file");
        assertTrue(keystore("generate --type L4 --owner tenant/acme k4").contains("k4:1"));
        Files.delete(extra);
        karaf.await("service:list org.openkcm.keystore.api.Keystore",
                out -> !out.contains("keystore.name = extra") && out.contains("keystore.name = memory"),
                SETTLE, "removing the instance with its file");
        String show = keystore("show k1:1");
        assertTrue(show.contains("k1:1"), show);
        log("etc/*.cfg configures backends and routes");
    }

    @Test
    @Order(3)
    void uninstallingABackendFeatureLeavesTheRestServing() throws Exception {
        Map<String, Bundle> before = bundles();
        karaf.ok("feature:install openkcm-keystore-openbao");
        assertActive(bundles(), OPENBAO);

        karaf.ok("feature:uninstall openkcm-keystore-openbao");
        Map<String, Bundle> after = bundles();
        assertFalse(after.containsKey(OPENBAO), "the OpenBao bundle is uninstalled: " + after.keySet());
        for (String name : List.of(API, CORE, SHELL, MEMORY)) {
            assertSameAndActive(before, after, name);
        }
        String show = keystore("show k1:1");
        assertTrue(show.contains("k1:1"), show);
        log("OpenBao feature installed and uninstalled");

        // The PostgreSQL backend: its bundle, pgjdbc (whose DataSourceFactory service it needs) and the pool.
        karaf.ok("feature:install openkcm-keystore-postgres");
        Map<String, Bundle> withPostgres = bundles();
        for (String name : List.of(POSTGRES, "org.postgresql.jdbc", "com.zaxxer.HikariCP", "org.osgi.service.jdbc")) {
            assertActive(withPostgres, name);
        }
        String factories = karaf.ok("service:list org.osgi.service.jdbc.DataSourceFactory");
        assertTrue(factories.contains("osgi.jdbc.driver.class = org.postgresql.Driver"), factories);
        karaf.ok("feature:uninstall openkcm-keystore-postgres");
        Map<String, Bundle> withoutPostgres = bundles();
        assertFalse(withoutPostgres.containsKey(POSTGRES), "the PostgreSQL bundle is uninstalled");
        for (String name : List.of(API, CORE, SHELL, MEMORY)) {
            assertSameAndActive(before, withoutPostgres, name);
        }
        log("PostgreSQL feature installed and uninstalled");

        // The KEK providers: each resolves in Karaf (Pax Logging's Log API, the embedded AWS SDK) and stays idle.
        for (String kek : List.of("transit", "pkcs11", "awskms")) {
            karaf.ok("feature:install openkcm-keystore-kek-" + kek);
            assertActive(bundles(), GROUP + ".kek-" + kek);
            karaf.ok("feature:uninstall openkcm-keystore-kek-" + kek);
            Map<String, Bundle> withoutKek = bundles();
            assertFalse(withoutKek.containsKey(GROUP + ".kek-" + kek), "the KEK provider bundle is uninstalled");
            for (String name : List.of(API, CORE, SHELL, MEMORY)) {
                assertSameAndActive(before, withoutKek, name);
            }
        }
        log("KEK provider features installed and uninstalled");
    }

    @Test
    @Order(4)
    void theFileFeatureServesKeysThatOutliveItsReinstall() throws Exception {
        Map<String, Bundle> before = bundles();
        karaf.ok("feature:install openkcm-keystore-file");
        assertActive(bundles(), FILE);
        Path fileDefault = karaf.etc().resolve("org.openkcm.keystore.file-default.cfg");
        assertTrue(Files.isRegularFile(fileDefault), "the file feature writes " + fileDefault);
        karaf.await("service:list org.openkcm.keystore.api.Keystore", out -> out.contains("keystore.name = file")
                && out.contains("keystore.persistent = true"), SETTLE, "the default file backend instance");
        // one tenant's keys to the file backend
        Path route = karaf.etc().resolve("org.openkcm.keystore.route-to-file.cfg");
        Files.writeString(route, "tiers = L2\nownerKind = TENANT\nownerId = filed\ntarget = file\n", UTF_8);
        karaf.await("echo (keystore:routes)", out -> out.contains("to-file") && out.contains("in force"), SETTLE,
                "the route to the file backend");
        assertTrue(keystore("generate --type L2 --owner tenant/filed f1").contains("f1:1"));
        Path record = karaf.home().resolve("data/openkcm/keys/tenant/filed/f1/1.rec");
        assertTrue(Files.isRegularFile(record), "the key is a file: " + record);

        karaf.ok("feature:uninstall openkcm-keystore-file");
        assertFalse(bundles().containsKey(FILE), "the file bundle is uninstalled");
        karaf.ok("feature:install openkcm-keystore-file");
        karaf.await("service:list org.openkcm.keystore.api.Keystore", out -> out.contains("keystore.name = file"),
                SETTLE, "the file backend, installed again");
        karaf.await("echo (keystore:show f1:1)", out -> out.contains("f1:1"), SETTLE, "the key, after the reinstall");
        Files.delete(route);
        for (String name : List.of(API, CORE, SHELL, MEMORY)) {
            assertSameAndActive(before, bundles(), name);
        }
        log("file feature installed, reinstalled, keys kept");
    }

    @Test
    @Order(5)
    void uninstallingTheLastBackendLeavesCoreAndShellRunning() throws Exception {
        Map<String, Bundle> before = bundles();
        Karaf.Result uninstall = karaf.run("feature:uninstall openkcm-keystore-memory");
        if (!uninstall.ok() || uninstall.output().startsWith("Error executing command")) {
            fail("feature:uninstall openkcm-keystore-memory failed"
                    + (uninstall.output().contains("objectClass=org.openkcm.keystore.api.Keystore")
                            ? " because Karaf's resolver finds that core requires a Keystore service (a mandatory"
                                    + " Require-Capability osgi.service, from a mandatory @Reference in core): with no"
                                    + " backend left, core would not resolve. Core must tolerate no backend"
                                    + " (optional or multiple Keystore reference)."
                            : ".")
                    + "\n" + uninstall + "\n" + karaf.logTail(20));
        }
        Map<String, Bundle> after = bundles();
        assertFalse(after.containsKey(MEMORY), "the memory bundle is uninstalled: " + after.keySet());
        for (String name : List.of(API, CORE, SHELL)) {
            assertSameAndActive(before, after, name);
        }
        // The commands are still there; with no backend they answer with an error, not "Command not found".
        Karaf.Result list = karaf.run("echo (keystore:list)");
        assertFalse(list.output().contains("Command not found"), list.toString());

        // And a backend installed again serves at once.
        karaf.ok("feature:install openkcm-keystore-memory");
        karaf.await("service:list org.openkcm.keystore.api.Keystore", out -> out.contains("keystore.name = memory"),
                SETTLE, "the memory backend, installed again");
        String generated = keystore("generate --type L3 --owner service/payments k2");
        assertTrue(generated.contains("k2:1"), generated);
        assertSameAndActive(before, bundles(), CORE);
        log("last backend uninstalled and installed again");
    }

    /** Runs {@code keystore:<args>}, which must succeed, and returns what it printed. */
    private String keystore(String args) {
        return karaf.ok("echo (keystore:" + args + ")");
    }

    record Bundle(long id, String state) {
    }

    /** Symbolic name to id and state, from {@code bundle:list -t 0 -s}. */
    /**
     * The bundles once none is in a passing state: right after a feature:install, Karaf lists a bundle
     * whose components SCR is still satisfying as Waiting (or Starting) for a moment, longer on a loaded machine.
     */
    private Map<String, Bundle> bundles() throws InterruptedException {
        long end = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
        Map<String, Bundle> bundles = listBundles();
        while (System.nanoTime() < end && bundles.values().stream()
                .anyMatch(b -> b.state().equals("Waiting") || b.state().equals("Starting"))) {
            Thread.sleep(250);
            bundles = listBundles();
        }
        return bundles;
    }

    private Map<String, Bundle> listBundles() {
        Pattern row = Pattern.compile("^\\s*(\\d+)\\s*│\\s*(\\w+)\\s*│[^│]*│[^│]*│\\s*(\\S+)\\s*$");
        Map<String, Bundle> bundles = new LinkedHashMap<>();
        for (String line : karaf.ok("bundle:list -t 0 -s").split("\n")) {
            Matcher m = row.matcher(line.replace('|', '│'));
            if (m.matches()) {
                bundles.put(m.group(3), new Bundle(Long.parseLong(m.group(1)), m.group(2)));
            }
        }
        assertFalse(bundles.isEmpty(), "cannot read bundle:list output");
        return bundles;
    }

    private void assertActive(Map<String, Bundle> bundles, String name) {
        Bundle bundle = bundles.get(name);
        assertTrue(bundle != null && bundle.state().equals("Active"),
                name + " is Active: " + bundle + "\n" + bundles + "\n" + karaf.logTail(20));
    }

    private void assertSameAndActive(Map<String, Bundle> before, Map<String, Bundle> after, String name) {
        assertActive(after, name);
        assertEquals(before.get(name).id(), after.get(name).id(), name + " was not reinstalled");
    }

    /** The block of {@code service:list} output around the first line containing {@code marker}. */
    private static String serviceBlock(String services, String marker) {
        List<String> blocks = new ArrayList<>(List.of(services.split("\n(?=\\[)")));
        return blocks.stream().filter(b -> b.contains(marker)).findFirst().orElse(services);
    }

    private void log(String step) {
        System.out.printf("[karaf-it] %-45s %5.1f s%n", step, (System.nanoTime() - started) / 1e9);
    }

    private static String property(String name) {
        String value = System.getProperty(name);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("system property " + name + " is not set (failsafe sets it in features/pom.xml)");
        }
        return value;
    }
}
