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
 * The framework of {@code bin/keystore -c} in client mode: the keystore shell commands of
 * {@code bundle/}, unchanged, over the {@code KeystoreOperations} and
 * {@code KeystoreAdministration} of a running daemon, which the grpc bundle's remote component
 * serves over gRPC (mutual TLS with the admin certificate). So the commands print the same tables
 * and fail with the same messages and exit statuses as in the daemon's own shell, by construction.
 * <p>
 * It holds only what that needs: Declarative Services, ConfigAdmin (which configures the remote
 * component), the log service, Gogo, the api, the shell and grpc bundles and what they import.
 * No keystore, backend, KEK provider, FileInstall or configuration bundle runs, and nothing is
 * written in the home: the framework cache is a temporary folder, removed at the end, and the
 * framework property {@code openkcm.home} is not set.
 */
final class ClientRuntime implements AutoCloseable {

    /** The bundles of {@code bundle/} the client needs, by symbolic name. */
    static final Set<String> BUNDLES = Set.of("org.apache.felix.log", "org.osgi.util.function",
            "org.osgi.util.promise", "org.osgi.service.component", "org.apache.felix.configadmin",
            "org.apache.felix.scr", "org.apache.felix.gogo.runtime", "org.apache.felix.gogo.command",
            StartLevels.SCRIPT_CONSOLE, "org.openkcm.keystore.api", "org.openkcm.keystore.audit",
            "com.fasterxml.jackson.core.jackson-core", "org.openkcm.keystore.shell", "org.openkcm.keystore.grpc",
            "bcprov", "bcutil", "bcpkix");
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
    private final PrintStream err;
    private final CountDownLatch started = new CountDownLatch(1);
    private volatile Path storage;
    private volatile Framework framework;

    ClientRuntime(Home home, DaemonEndpoint endpoint, PrintStream err) {
        this.home = home;
        this.endpoint = endpoint;
        this.err = err;
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
        p.put("gosh.args", "--nointeractive --quiet");
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
            if (!BUNDLES.contains(name)) {
                continue;
            }
            Bundle bundle = context.installBundle(jar.toUri().toString());
            bundle.adapt(BundleStartLevel.class).setStartLevel(StartLevels.of(name));
            if (!AUDIT.equals(name) && bundle.getHeaders().get(Constants.FRAGMENT_HOST) == null) {
                bundle.start(Bundle.START_ACTIVATION_POLICY);
            }
        }
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
