package org.openkcm.keystore.itest;

import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.composite;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;
import static org.ops4j.pax.exam.CoreOptions.junitBundles;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import javax.inject.Inject;

import org.junit.After;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreProperties;
import org.ops4j.pax.exam.Option;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Filter;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.util.tracker.ServiceTracker;
import org.osgi.util.tracker.ServiceTrackerCustomizer;

/**
 * What every in-framework test shares: the framework's bundles, the services a test talks to, and
 * bounded waits for the asynchronous work of Declarative Services and Configuration Admin.
 * <p>
 * The bundles are the files Maven resolved for this build (the failsafe configuration passes
 * their paths as {@code itest.bundle.*} properties), so a test always runs against the api and
 * backend jars of the same build. Pax Exam's own bundles are found by pax-url-aether in the
 * local repository, or else on Maven Central.
 */
public abstract class KeystoreTestSupport {

    protected static final String API_BSN = "org.openkcm.keystore.api";
    protected static final String MEMORY_BSN = "org.openkcm.keystore.keystore-memory";
    protected static final String MEMORY_PID = "org.openkcm.keystore.memory";
    protected static final String MEMORY_COMPONENT = "org.openkcm.keystore.memory.MemoryKeystore";
    protected static final String OPENBAO_BSN = "org.openkcm.keystore.keystore-openbao";
    /** The OpenBao backend's factory PID, which is also its component's name. */
    protected static final String OPENBAO_PID = "org.openkcm.keystore.openbao";

    /** The longest any wait for the framework may take; a healthy run needs milliseconds. */
    protected static final long TIMEOUT_MS = TimeUnit.SECONDS.toMillis(10);
    private static final long POLL_MS = 10;

    private static final String CENTRAL = "https://repo1.maven.org/maven2@id=central";

    @Inject
    protected BundleContext bundleContext;

    @Inject
    protected ConfigurationAdmin configurationAdmin;

    @Inject
    protected ServiceComponentRuntime serviceComponentRuntime;

    private final List<Configuration> configurations = new ArrayList<>();
    private final List<ServiceTracker<?, ?>> trackers = new ArrayList<>();

    /** The framework every test starts from: SCR, ConfigAdmin, the api and the in-memory backend. */
    protected static Option baseConfiguration() {
        return composite(
                // Pax Exam's own bundles (link: URLs resolve to mvn: URLs): local repository, then Central only.
                systemProperty("org.ops4j.pax.url.mvn.localRepository").value(System.getProperty(
                        "org.ops4j.pax.url.mvn.localRepository",
                        Path.of(System.getProperty("user.home"), ".m2", "repository").toString())),
                systemProperty("org.ops4j.pax.url.mvn.repositories").value(
                        System.getProperty("org.ops4j.pax.url.mvn.repositories", CENTRAL)),
                systemProperty("org.ops4j.pax.url.mvn.useFallbackRepositories").value("false"),
                // pax-logging-api, which Pax Exam adds, logs at DEBUG unless told otherwise
                frameworkProperty("org.ops4j.pax.logging.DefaultServiceLog.level").value("WARN"),
                junitBundles(),
                // Declarative Services 1.5 and the API bundles Felix SCR 2.2 needs beside it
                buildBundle("function"),
                buildBundle("promise"),
                buildBundle("component"),
                buildBundle("scr"),
                buildBundle("configadmin"),
                // under test
                buildBundle("api"),
                buildBundle("keystore-memory"));
    }

    /**
     * A new owner-only folder under {@code target/homes/} for a framework's {@code openkcm.home}:
     * the core keeps its KEK file and known-KEK record there (never in its bundle data area), as
     * it does in the runtime's home.
     */
    protected static Path freshHome(String prefix) {
        try {
            return Files.createTempDirectory(Files.createDirectories(Path.of("target", "homes").toAbsolutePath()),
                    prefix + "-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The framework property {@code openkcm.home}, as the runtime sets it. */
    protected static Option homeProperty(Path home) {
        return frameworkProperty("openkcm.home").value(home.toString());
    }

    /** Bouncy Castle's three bundles, which the OpenBao backend (its TLS files) and the gRPC bundle import. */
    protected static Option bouncyCastle() {
        return composite(buildBundle("bcprov"), buildBundle("bcutil"), buildBundle("bcpkix"));
    }

    /** A bundle file Maven resolved for this build, by its key in the failsafe configuration. */
    protected static Option buildBundle(String key) {
        return bundle(buildBundleFile(key).toURI().toString());
    }

    protected static File buildBundleFile(String key) {
        String property = "itest.bundle." + key;
        String path = System.getProperty(property);
        if (path == null || path.isBlank()) {
            throw new IllegalStateException("system property " + property + " is not set: run the tests through "
                    + "Maven (mvn verify), whose failsafe configuration names every bundle file");
        }
        File file = new File(path);
        if (!file.isFile()) {
            throw new IllegalStateException(property + " names " + path + ", which is not a bundle file: "
                    + "package the module first (mvn verify or install, not just test)");
        }
        return file;
    }

    @After
    public final void releaseFixtures() throws IOException {
        trackers.forEach(ServiceTracker::close);
        for (Configuration configuration : configurations) {
            try {
                configuration.delete();
            } catch (IllegalStateException alreadyDeleted) {
                // the test deleted it itself
            }
        }
    }

    // ---- configurations ----

    /**
     * Creates (or replaces) the factory configuration {@code name} of the in-memory backend. The
     * configuration may bind to any bundle ("?"), so the backend gets it whoever created it.
     */
    protected Configuration configureMemoryKeystore(String name, Map<String, Object> properties) throws IOException {
        Configuration configuration = configurationAdmin.getFactoryConfiguration(MEMORY_PID, name, "?");
        configuration.update(dictionary(properties));
        configurations.add(configuration);
        return configuration;
    }

    protected static Dictionary<String, Object> dictionary(Map<String, Object> properties) {
        return new Hashtable<>(properties);
    }

    // ---- services ----

    /**
     * Waits for a registration of {@code type} that matches the filter, and returns it. The
     * tracker follows registrations, not service objects: Felix SCR may answer a getService that
     * races a component's (re)activation with null, and a ServiceTracker that got null does not
     * ask again until the registration changes.
     */
    protected <S> ServiceReference<S> awaitRegistration(Class<S> type, String filter) throws InterruptedException {
        ServiceTracker<S, ServiceReference<S>> tracker = new ServiceTracker<>(bundleContext,
                filter("(&(objectClass=" + type.getName() + ")" + filter + ")"),
                new ServiceTrackerCustomizer<S, ServiceReference<S>>() {
                    @Override
                    public ServiceReference<S> addingService(ServiceReference<S> reference) {
                        return reference;
                    }

                    @Override
                    public void modifiedService(ServiceReference<S> reference, ServiceReference<S> tracked) {
                    }

                    @Override
                    public void removedService(ServiceReference<S> reference, ServiceReference<S> tracked) {
                    }
                });
        tracker.open();
        trackers.add(tracker);
        ServiceReference<S> reference = tracker.waitForService(TIMEOUT_MS);
        assertNotNull("no " + type.getSimpleName() + " matching " + filter + " within " + TIMEOUT_MS + " ms", reference);
        return reference;
    }

    /** Waits until the service of a registration can be got, and returns it. */
    protected <S> S awaitService(ServiceReference<S> reference) throws InterruptedException {
        List<S> got = new ArrayList<>(1);
        awaitCondition("the service " + reference + " to be usable", () -> {
            S service = bundleContext.getService(reference);
            if (service != null) {
                got.add(service);
            }
            return service != null;
        });
        return got.get(0);
    }

    /** Waits for the Keystore named {@code name} and returns its registration. */
    protected ServiceReference<Keystore> awaitKeystoreReference(String name) throws InterruptedException {
        return awaitRegistration(Keystore.class, "(" + KeystoreProperties.NAME + "=" + name + ")");
    }

    /** Waits for the Keystore named {@code name} and returns it. */
    protected Keystore awaitKeystore(String name) throws InterruptedException {
        return awaitService(awaitKeystoreReference(name));
    }

    /** The registrations of Keystore services named {@code name}, usable or not. */
    protected List<ServiceReference<Keystore>> keystoreReferences(String name) {
        try {
            return new ArrayList<>(bundleContext.getServiceReferences(Keystore.class,
                    "(" + KeystoreProperties.NAME + "=" + name + ")"));
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** Waits until no Keystore named {@code name} is registered. */
    protected void awaitNoKeystore(String name) throws InterruptedException {
        awaitCondition("the Keystore named " + name + " to be unregistered", () -> keystoreReferences(name).isEmpty());
    }

    // ---- bundles and components ----

    protected Bundle installedBundle(String symbolicName) {
        for (Bundle bundle : bundleContext.getBundles()) {
            if (symbolicName.equals(bundle.getSymbolicName())) {
                return bundle;
            }
        }
        fail("no bundle " + symbolicName + " is installed");
        return null;
    }

    protected ComponentDescriptionDTO memoryComponent() {
        return component(MEMORY_BSN, MEMORY_COMPONENT);
    }

    /** SCR's view of the component instance made for a configuration, or null if there is none (yet). */
    protected ComponentConfigurationDTO memoryComponentConfiguration(Configuration configuration) {
        return componentConfiguration(memoryComponent(), configuration);
    }

    protected ComponentDescriptionDTO openBaoComponent() {
        return component(OPENBAO_BSN, OPENBAO_PID);
    }

    /** SCR's view of the OpenBao component instance made for a configuration, or null if there is none (yet). */
    protected ComponentConfigurationDTO openBaoComponentConfiguration(Configuration configuration) {
        return componentConfiguration(openBaoComponent(), configuration);
    }

    private ComponentDescriptionDTO component(String bundleSymbolicName, String componentName) {
        ComponentDescriptionDTO description = serviceComponentRuntime.getComponentDescriptionDTO(
                installedBundle(bundleSymbolicName), componentName);
        assertNotNull("SCR does not know " + componentName, description);
        return description;
    }

    private ComponentConfigurationDTO componentConfiguration(ComponentDescriptionDTO component,
            Configuration configuration) {
        for (ComponentConfigurationDTO dto : serviceComponentRuntime.getComponentConfigurationDTOs(component)) {
            if (configuration.getPid().equals(dto.properties.get("service.pid"))) {
                return dto;
            }
        }
        return null;
    }

    /**
     * A backend configuration that Declarative Services refused: its component configuration is
     * FAILED_ACTIVATION with {@code expectedError} in SCR's failure report, and no caller can get a
     * Keystore from any registration named {@code name} (SCR keeps the registration of a declared
     * service whose activation failed). Returns the failure report.
     */
    protected String assertRefusedBackend(Supplier<ComponentConfigurationDTO> configuration, String name,
            String expectedError) throws InterruptedException {
        awaitCondition("SCR to report the failed activation of " + name, () -> {
            ComponentConfigurationDTO dto = configuration.get();
            return dto != null && dto.state == ComponentConfigurationDTO.FAILED_ACTIVATION;
        });
        String failure = configuration.get().failure;
        assertNotNull(failure);
        assertTrue(failure, failure.contains(expectedError));
        for (ServiceReference<Keystore> reference : keystoreReferences(name)) {
            assertNull("no Keystore may be obtained from a refused configuration", bundleContext.getService(reference));
        }
        return failure;
    }

    /**
     * Waits until SCR has activated the component configuration with {@code property} at
     * {@code value}, that is until it has applied an update of the configuration (a refused one's
     * registration stays, so waiting for a registration of the name could return before SCR has
     * reactivated the component), and returns the Keystore named {@code name}.
     */
    protected Keystore awaitActivated(Supplier<ComponentConfigurationDTO> configuration, String property, Object value,
            String name) throws InterruptedException {
        awaitCondition("SCR to activate the configuration with " + property + " = " + value, () -> {
            ComponentConfigurationDTO dto = configuration.get();
            return dto != null && dto.state == ComponentConfigurationDTO.ACTIVE
                    && value.equals(dto.properties.get(property));
        });
        return awaitKeystore(name);
    }

    // ---- waiting ----

    /** Waits, at most {@link #TIMEOUT_MS}, until the condition holds; fails the test otherwise. */
    protected static void awaitCondition(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                fail("timed out after " + TIMEOUT_MS + " ms waiting for " + what);
            }
            Thread.sleep(POLL_MS);
        }
    }

    /** True if {@code needle} occurs in {@code haystack}: for tests that look for material where none may be. */
    protected static boolean containsBytes(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    protected static Filter filter(String filter) {
        try {
            return FrameworkUtil.createFilter(filter);
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException(filter, e);
        }
    }
}
