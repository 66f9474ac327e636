package org.openkcm.keystore.runtime;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

import org.openkcm.keystore.secrets.SecretPolicy;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.launch.FrameworkFactory;
import org.osgi.framework.startlevel.BundleStartLevel;

/**
 * One run of the embedded framework: its properties, the bundles of {@code bundle/} installed at
 * their {@link StartLevels start levels}, start, and a bounded stop.
 * <p>
 * The framework cache ({@code data/cache}) is cleaned when the framework is first initialised in
 * this process ({@code org.osgi.framework.storage.clean=onFirstInit}), so every start installs
 * exactly what {@code bundle/} and {@code plugins/} hold and configures exactly what
 * {@code config/} says. What must survive a restart lives in {@code config/} and in {@code data/}
 * outside the cache (the local KEK file); a bundle's own data area does not survive one.
 */
final class KeystoreRuntime {

    /** Seconds to wait for the framework to stop; system property, default 30. */
    static final String STOP_TIMEOUT = "openkcm.stop.timeout";
    /** The file where the interactive console keeps its history (etc/gosh_profile reads it). */
    static final String SHELL_HISTORY = "openkcm.shell.history";

    static final String INTERPOLATION = "org.apache.felix.configadmin.plugin.interpolation";
    /** The SLF4J simple binding's level (the interpolation plugin logs through SLF4J); system property. */
    static final String SLF4J_LEVEL = "org.slf4j.simpleLogger.defaultLogLevel";

    private final Home home;
    private final Mode mode;
    private final PrintStream err;
    private final CountDownLatch started = new CountDownLatch(1);
    private volatile Framework framework;
    private volatile ConsoleLog console;
    private volatile boolean stopTimedOut;
    private volatile ExitCommand exitCommand;

    KeystoreRuntime(Home home, Mode mode, PrintStream err) {
        this.home = home;
        this.mode = mode;
        this.err = err;
    }

    /**
     * The framework properties. Each can be overridden with a system property of the same name
     * ({@code JAVA_OPTS="-Dfelix.fileinstall.poll=500" bin/keystore}); any other system property
     * is visible to bundles too, as Felix falls back to system properties.
     */
    static Map<String, String> frameworkProperties(Home home, Mode mode) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put(Home.PROPERTY, home.root().toString());
        // The secret allow-list, stated rather than left to the bundles' defaults (the same values).
        p.put(SecretPolicy.ENV_PREFIX, SecretPolicy.DEFAULT_ENV_PREFIX);
        p.put(SecretPolicy.DIR, home.secrets().toAbsolutePath().toString());
        p.put(Constants.FRAMEWORK_STORAGE, home.cache().toString());
        p.put(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
        p.put(Constants.FRAMEWORK_BEGINNING_STARTLEVEL, Integer.toString(StartLevels.FINAL));
        // Bundles installed from the shell start with the keystore bundles.
        p.put("felix.startlevel.bundle", Integer.toString(StartLevels.KEYSTORE));

        // FileInstall: one watcher per folder of the comma-separated list, with the same settings.
        // Both are scanned once inside FileInstall's start (config/ first), then polled; jars in
        // either start at FileInstall's own level (see StartLevels.PLUGINS).
        p.put("felix.fileinstall.dir", home.config() + "," + home.plugins());
        p.put("felix.fileinstall.filter", ".*\\.(cfg|config|jar)");
        p.put("felix.fileinstall.subdir.mode", "skip"); // config/examples/ is not loaded
        p.put("felix.fileinstall.noInitialDelay", "true");
        p.put("felix.fileinstall.poll", "1000");
        p.put("felix.fileinstall.start.level", Integer.toString(StartLevels.PLUGINS));
        p.put("felix.fileinstall.bundles.new.start", "true");
        // config/ belongs to the operator (often versioned, or mounted read-only): never written to.
        p.put("felix.fileinstall.enableConfigSave", "false");
        p.put("felix.fileinstall.tmpdir", home.scratch().toString());
        p.put("felix.fileinstall.log.level", "2");

        // $[env:NAME] and $[secret:NAME] in configuration values, resolved for the component only
        // (ConfigAdmin keeps the reference); secrets are files in <home>/secrets.
        p.put("felix.cm.config.plugins", INTERPOLATION);
        p.put(INTERPOLATION + ".secretsdir", home.root().resolve("secrets").toString());

        // Gogo: the JLine console where a person types, which reads etc/gosh_profile of the home
        // (it keeps the command history in data/ instead of ~/.gogo.history); elsewhere the plain
        // shell, for its built-in commands only.
        p.put("gosh.home", home.root().toString());
        p.put("gosh.args", mode == Mode.INTERACTIVE ? "--nohistory" : "--nointeractive --quiet");
        p.put(SHELL_HISTORY, home.data().resolve("shell.history").toString());
        for (Map.Entry<String, String> entry : p.entrySet()) {
            String override = System.getProperty(entry.getKey());
            if (override != null) {
                entry.setValue(override);
            }
        }
        return p;
    }

    /**
     * Initialises the framework, installs {@code bundle/} and starts it. On return the framework
     * is starting or active; {@link #awaitStarted} waits for its final start level.
     *
     * @throws IOException if the distribution is incomplete
     * @throws BundleException if the framework or a bundle cannot be installed
     */
    Framework start() throws IOException, BundleException {
        home.prepare();
        if (System.getProperty(SLF4J_LEVEL) == null) {
            System.setProperty(SLF4J_LEVEL, "warn");
        }
        FrameworkFactory factory = ServiceLoader.load(FrameworkFactory.class, KeystoreRuntime.class.getClassLoader())
                .findFirst()
                .orElseThrow(() -> new BundleException("no OSGi framework on the class path (lib/)"));
        Map<String, Object> configuration = new LinkedHashMap<>(frameworkProperties(home, mode));
        configuration.put(FrameworkLog.PROPERTY, new FrameworkLog(err));
        @SuppressWarnings({"unchecked", "rawtypes"}) // Felix takes the logger object among the strings
        Framework fw = factory.newFramework((Map) configuration);
        fw.init();
        framework = fw;
        BundleContext context = fw.getBundleContext();
        console = ConsoleLog.attach(context, err, ConsoleLog.threshold(mode));
        context.addFrameworkListener(event -> {
            if (event.getType() == FrameworkEvent.STARTED) {
                started.countDown();
            }
        });
        Map<String, Path> builtIns = new LinkedHashMap<>();
        for (Path jar : bundlesInStartOrder(home.bundles())) {
            install(context, jar, mode);
            builtIns.put(symbolicName(jar), jar);
        }
        PluginGuard.register(context, home.plugins(), builtIns, err);
        exitCommand = ExitCommand.register(context);
        fw.start();
        return fw;
    }

    /** The folder FileInstall reads configurations from. */
    Path configFolder() {
        return home.config();
    }

    Framework framework() {
        return framework;
    }

    /** The status the {@code exit} command asked for, or 0 if nobody asked. */
    int requestedExitStatus() {
        ExitCommand command = exitCommand;
        return command == null ? 0 : command.requestedStatus();
    }

    /** The configuration errors printed on the console since the start, one line each. */
    List<String> configurationErrors() {
        ConsoleLog c = console;
        return c == null ? List.of() : c.configurationErrors();
    }

    /** Stops copying the log to the console and returns the configuration errors it printed ({@link ConsoleLog#close}). */
    List<String> closeConsoleLog() {
        ConsoleLog c = console;
        return c == null ? List.of() : c.close();
    }

    /** Waits until the framework reports it has reached its beginning start level. */
    boolean awaitStarted(Duration timeout) throws InterruptedException {
        return started.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Whether the framework is starting, running or stopping. */
    boolean running() {
        Framework fw = framework;
        return fw != null && (fw.getState() & (Bundle.STARTING | Bundle.ACTIVE | Bundle.STOPPING)) != 0;
    }

    /**
     * Stops the framework if it is running and waits at most {@code timeout} for it. Once a stop
     * has timed out, later calls do not wait again (the shutdown hook after a timed-out stop).
     *
     * @return true if the framework is stopped (or was never started)
     */
    boolean stop(Duration timeout) {
        Framework fw = framework;
        if (!running()) {
            return true;
        }
        if (stopTimedOut) {
            return false;
        }
        try {
            fw.stop();
            FrameworkEvent event = fw.waitForStop(timeout.toMillis());
            stopTimedOut = event.getType() == FrameworkEvent.WAIT_TIMEDOUT;
            return !stopTimedOut;
        } catch (BundleException e) {
            err.println("warning: the framework did not stop cleanly: " + Messages.oneLine(e));
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    static Duration stopTimeout() {
        return Duration.ofSeconds(Long.getLong(STOP_TIMEOUT, 30));
    }

    private static void install(BundleContext context, Path jar, Mode mode) throws BundleException {
        Bundle bundle = context.installBundle(jar.toUri().toString());
        bundle.adapt(BundleStartLevel.class).setStartLevel(StartLevels.of(bundle.getSymbolicName()));
        String name = bundle.getSymbolicName();
        boolean otherConsole = StartLevels.isConsole(name) && !StartLevels.console(mode).equals(name);
        if (bundle.getHeaders().get(Constants.FRAGMENT_HOST) == null && !otherConsole) {
            // Persistent start: it starts when the framework reaches its level.
            bundle.start(Bundle.START_ACTIVATION_POLICY);
        }
    }

    /** The jars of {@code folder} by start level, then by their place in {@link StartLevels}, then by file name. */
    static List<Path> bundlesInStartOrder(Path folder) throws IOException {
        record Candidate(Path jar, String symbolicName) {
        }
        List<Candidate> candidates = new ArrayList<>();
        try (DirectoryStream<Path> jars = Files.newDirectoryStream(folder, "*.jar")) {
            for (Path jar : jars) {
                candidates.add(new Candidate(jar, symbolicName(jar)));
            }
        }
        candidates.sort(Comparator.<Candidate>comparingInt(c -> StartLevels.of(c.symbolicName()))
                .thenComparingInt(c -> StartLevels.rank(c.symbolicName()))
                .thenComparing(c -> c.jar().getFileName().toString()));
        List<Path> ordered = new ArrayList<>(candidates.size());
        for (Candidate candidate : candidates) {
            ordered.add(candidate.jar());
        }
        return ordered;
    }

    /** The Bundle-SymbolicName of a jar without its directives, or "" if it has none (the framework refuses it later). */
    static String symbolicName(Path jar) throws IOException {
        try (JarFile file = new JarFile(jar.toFile())) {
            Manifest manifest = file.getManifest();
            String value = manifest == null ? null : manifest.getMainAttributes().getValue(new Attributes.Name(Constants.BUNDLE_SYMBOLICNAME));
            if (value == null) {
                return "";
            }
            int directives = value.indexOf(';');
            return (directives < 0 ? value : value.substring(0, directives)).trim();
        }
    }
}
