package org.openkcm.keystore.runtime;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.launch.FrameworkFactory;
import org.osgi.framework.startlevel.BundleStartLevel;

/**
 * The framework of {@code bin/keystore} in client mode (the interactive shell, {@code -c} and
 * scripts): the keystore shell commands of
 * {@code bundle/}, unchanged, over the {@code KeystoreOperations} and
 * {@code KeystoreAdministration} of a running daemon, which the grpc bundle's remote component
 * serves over gRPC (mutual TLS with the admin certificate). So the commands print the same tables
 * and fail with the same messages and exit statuses as in the daemon's own shell, by construction.
 * <p>
 * It holds only what that needs: Declarative Services, ConfigAdmin (which configures the remote
 * component), the log service, Gogo with the console of the {@link Mode} (the JLine console of
 * the daemon's own shell for the interactive one, started only once the daemon answers), the
 * api, the shell and grpc bundles and what they import.
 * No keystore, backend, KEK provider, FileInstall or configuration bundle runs, and nothing is
 * written in the home: the framework cache is a temporary folder, removed at the end, and the
 * framework property {@code openkcm.home} is not set. The interactive console reads the home's
 * {@code etc/gosh_profile} and keeps its history in that temporary folder.
 */
final class ClientRuntime implements AutoCloseable {

    /** The bundles of {@code bundle/} every client needs, by symbolic name; besides, the mode's {@link #console}. */
    static final Set<String> BUNDLES = Set.of("org.apache.felix.log", "org.osgi.util.function",
            "org.osgi.util.promise", "org.osgi.service.component", "org.apache.felix.configadmin",
            "org.apache.felix.scr", "org.apache.felix.gogo.runtime", "org.apache.felix.gogo.command",
            "org.openkcm.keystore.api", "org.openkcm.keystore.audit",
            "com.fasterxml.jackson.core.jackson-core", "org.openkcm.keystore.shell", "org.openkcm.keystore.grpc",
            "bcprov", "bcutil", "bcpkix");
    /** The terminal library of the interactive console. */
    static final String JLINE = "org.jline";
    /**
     * Installed for the package it exports (the shell commands import the audit contract), never
     * started: its file log would write in the home. The daemon audits the calls.
     */
    static final String AUDIT = "org.openkcm.keystore.audit";
    /** The grpc bundle's component that reaches a daemon, and its service property. */
    static final String REMOTE_PID = "org.openkcm.keystore.grpc.remote";
    /**
     * What is registered once the commands can run: the remote services, and one command of each of
     * the shell's command components (which register theirs once those services are there).
     */
    static final List<String> READY = List.of(
            "(&(objectClass=org.openkcm.keystore.api.KeystoreOperations)(openkcm.keystore.remote=*))",
            "(&(objectClass=org.openkcm.keystore.api.KeystoreAdministration)(openkcm.keystore.remote=*))",
            "(&(osgi.command.scope=keystore)(osgi.command.function=list))",
            "(&(osgi.command.scope=keystore)(osgi.command.function=backends))",
            "(&(osgi.command.scope=keystore)(osgi.command.function=cache))");

    private static final String CM = "org.osgi.service.cm.";
    private static final String UNAVAILABLE = "unavailable: ";
    private static final long POLL_MS = 50;

    /** The daemon could not be reached; the message is one line. */
    static final class NotConnectedException extends Exception {
        private static final long serialVersionUID = 1L;

        NotConnectedException(String message) {
            super(message);
        }
    }

    private final Home home;
    private final DaemonEndpoint endpoint;
    private final Mode mode;
    private final PrintStream err;
    private final CountDownLatch started = new CountDownLatch(1);
    private volatile Path storage;
    private volatile Framework framework;
    private volatile ExitCommand exitCommand;
    /** The console bundle, installed, started by {@link #openConsole} (interactive mode only). */
    private volatile Bundle console;

    ClientRuntime(Home home, DaemonEndpoint endpoint, Mode mode, PrintStream err) {
        this.home = home;
        this.endpoint = endpoint;
        this.mode = mode;
        this.err = err;
    }

    /** Whether the client needs the bundle, in its mode. */
    boolean needs(String symbolicName) {
        return BUNDLES.contains(symbolicName) || StartLevels.console(mode).equals(symbolicName)
                || (mode == Mode.INTERACTIVE && JLINE.equals(symbolicName));
    }

    /**
     * Starts the framework, configures the remote component and waits (bounded) until it serves.
     *
     * @return the Gogo {@code CommandProcessor} to run the commands with
     * @throws NotConnectedException if the daemon does not answer, or refuses the certificate
     */
    ServiceReference<?> start(Duration timeout) throws IOException, BundleException, InterruptedException,
            NotConnectedException, ReflectiveOperationException {
        home.checkDistribution();
        long deadline = System.nanoTime() + timeout.toNanos();
        storage = Files.createTempDirectory("openkcm-keystore-client-");
        Map<String, Object> p = new LinkedHashMap<>();
        p.put(Constants.FRAMEWORK_STORAGE, storage.toString());
        p.put(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
        p.put(Constants.FRAMEWORK_BEGINNING_STARTLEVEL, Integer.toString(StartLevels.FINAL));
        if (mode == Mode.INTERACTIVE) {
            // the daemon's console, with its profile, but its history outside the home
            p.put("gosh.home", home.root().toString());
            p.put("gosh.args", "--nohistory");
            p.put(KeystoreRuntime.SHELL_HISTORY, storage.resolve("shell.history").toString());
        } else {
            p.put("gosh.args", "--nointeractive --quiet");
        }
        p.put(FrameworkLog.PROPERTY, new FrameworkLog(err));
        FrameworkFactory factory = ServiceLoader.load(FrameworkFactory.class, ClientRuntime.class.getClassLoader())
                .findFirst().orElseThrow(() -> new BundleException("no OSGi framework on the class path (lib/)"));
        @SuppressWarnings({"unchecked", "rawtypes"}) // Felix takes the logger object among the strings
        Framework fw = factory.newFramework((Map) p);
        fw.init();
        framework = fw;
        BundleContext context = fw.getBundleContext();
        context.addFrameworkListener(event -> {
            if (event.getType() == FrameworkEvent.STARTED) {
                started.countDown();
            }
        });
        for (Path jar : KeystoreRuntime.bundlesInStartOrder(home.bundles())) {
            String name = KeystoreRuntime.symbolicName(jar);
            if (!needs(name)) {
                continue;
            }
            Bundle bundle = context.installBundle(jar.toUri().toString());
            bundle.adapt(BundleStartLevel.class).setStartLevel(StartLevels.of(name));
            if (mode == Mode.INTERACTIVE && StartLevels.isConsole(name)) {
                console = bundle; // no prompt before the daemon answers
            } else if (!AUDIT.equals(name) && bundle.getHeaders().get(Constants.FRAGMENT_HOST) == null) {
                bundle.start(Bundle.START_ACTIVATION_POLICY);
            }
        }
        exitCommand = ExitCommand.register(context);
        fw.start();
        if (!started.await(remainingMillis(deadline), TimeUnit.MILLISECONDS)) {
            throw new BundleException("the client framework did not start within " + timeout.toSeconds() + " s");
        }
        configureRemote(context, deadline);
        return awaitRemote(context, deadline);
    }

    /** Gives the remote component its configuration: the daemon's address and TLS folder. */
    private void configureRemote(BundleContext context, long deadline) throws InterruptedException,
            ReflectiveOperationException, BundleException {
        ServiceReference<?> reference = await(context, "(objectClass=" + CM + "ConfigurationAdmin)", deadline);
        if (reference == null) {
            throw new BundleException("no ConfigurationAdmin service in the client framework");
        }
        Object admin = context.getService(reference);
        try {
            // Through the interfaces of the bundle that registered it: the launcher has no ConfigAdmin API.
            Bundle cm = reference.getBundle();
            Object configuration = cm.loadClass(CM + "ConfigurationAdmin")
                    .getMethod("getConfiguration", String.class, String.class).invoke(admin, REMOTE_PID, "?");
            Dictionary<String, Object> properties = new Hashtable<>();
            properties.put("target", endpoint.target());
            properties.put("tls.directory", endpoint.tls().toString());
            cm.loadClass(CM + "Configuration").getMethod("update", Dictionary.class).invoke(configuration, properties);
        } catch (InvocationTargetException e) {
            throw e.getCause() instanceof BundleException b ? b : new BundleException(Messages.oneLine(e.getCause()));
        } finally {
            context.ungetService(reference);
        }
    }

    /** Waits until the remote services are registered, or their component failed (the daemon did not answer). */
    private ServiceReference<?> awaitRemote(BundleContext context, long deadline) throws InterruptedException,
            NotConnectedException, BundleException {
        while (true) {
            ServiceReference<?> processor = context.getServiceReference(Readiness.COMMAND_PROCESSOR);
            if (processor != null && READY.stream().noneMatch(filter -> references(context, filter).isEmpty())) {
                return processor;
            }
            for (Readiness.FailedComponent failed : Readiness.failedComponents(context)) {
                if (failed.name().equals(REMOTE_PID)) {
                    String reason = failed.reason();
                    // the api's UnavailableException says "unavailable: " first; here the line says it already
                    throw new NotConnectedException(reason.startsWith(UNAVAILABLE) ? reason.substring(UNAVAILABLE.length())
                            : reason);
                }
            }
            if (System.nanoTime() >= deadline) {
                throw new NotConnectedException("no answer from the keystore daemon at " + endpoint.target()
                        + (processor == null ? " (and no Gogo shell started)" : ""));
            }
            Thread.sleep(POLL_MS);
        }
    }

    private static ServiceReference<?> await(BundleContext context, String filter, long deadline)
            throws InterruptedException {
        while (true) {
            List<ServiceReference<?>> found = references(context, filter);
            if (!found.isEmpty()) {
                return found.get(0);
            }
            if (System.nanoTime() >= deadline) {
                return null;
            }
            Thread.sleep(POLL_MS);
        }
    }

    private static List<ServiceReference<?>> references(BundleContext context, String filter) {
        try {
            ServiceReference<?>[] found = context.getAllServiceReferences(null, filter);
            return found == null ? List.of() : List.of(found);
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException(filter, e);
        }
    }

    /**
     * Interactive mode: starts the console on the process's terminal, once {@link #start} has
     * returned; it stops the client framework when it ends (Ctrl-D, {@code exit}).
     */
    void openConsole() throws BundleException {
        Bundle bundle = console;
        if (bundle == null) {
            throw new BundleException("no interactive console (org.apache.felix.gogo.jline) in bundle/");
        }
        bundle.start();
    }

    /** The status the {@code exit} command asked for, or 0 if nobody asked. */
    int requestedExitStatus() {
        ExitCommand command = exitCommand;
        return command == null ? 0 : command.requestedStatus();
    }

    Framework framework() {
        Framework fw = framework;
        if (fw == null) {
            throw new IllegalStateException("the client framework is stopped");
        }
        return fw;
    }

    /** Stops the framework (bounded) and removes its temporary cache; once (the shutdown hook may call it too). */
    @Override
    public synchronized void close() {
        Framework fw = framework;
        framework = null;
        if (fw != null) {
            try {
                fw.stop();
                fw.waitForStop(KeystoreRuntime.stopTimeout().toMillis());
            } catch (BundleException e) {
                err.println("warning: the client framework did not stop cleanly: " + Messages.oneLine(e));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Path cache = storage;
        storage = null;
        if (cache != null) {
            try {
                deleteTree(cache);
            } catch (IOException e) {
                err.println("warning: " + cache + " not removed: " + Messages.oneLine(e));
            }
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (java.util.stream.Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }

    private static long remainingMillis(long deadline) {
        return Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
    }
}
