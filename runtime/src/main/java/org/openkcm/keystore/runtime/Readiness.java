package org.openkcm.keystore.runtime;

import java.time.Duration;
import java.util.Collection;
import java.util.List;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.wiring.BundleRevision;
import org.osgi.resource.Capability;
import org.osgi.util.tracker.ServiceTracker;

/**
 * When the runtime is ready to run commands. Ready means, in this order, all within one bounded
 * wait ({@value #TIMEOUT} seconds, default 30):
 * <ol>
 * <li>the framework has reached its final start level: every bundle of {@code bundle/} has been
 * started, and FileInstall, which scans {@code config/} and {@code plugins/} inside its own
 * start, has handed every {@code .cfg} to ConfigAdmin and installed and started every plugin;</li>
 * <li>the Gogo {@code CommandProcessor} service is registered;</li>
 * <li>if an active bundle declares that it provides the {@value #KEYSTORE_OPERATIONS} service (the
 * core bundle's {@code Provide-Capability: osgi.service}), that service is registered. A
 * distribution without such a bundle is ready without it.</li>
 * </ol>
 * Backends configured from {@code config/} are registered by then: their bundles start after
 * FileInstall, and Declarative Services activates a configured component while its bundle starts.
 */
final class Readiness {

    /** Seconds to wait for readiness; system property. */
    static final String TIMEOUT = "openkcm.ready.timeout";
    static final String COMMAND_PROCESSOR = "org.apache.felix.service.command.CommandProcessor";
    static final String KEYSTORE_OPERATIONS = "org.openkcm.keystore.api.KeystoreOperations";

    private static final String SERVICE_NAMESPACE = "osgi.service";
    private static final String OBJECTCLASS_ATTRIBUTE = "objectClass";

    /**
     * What the wait found.
     *
     * @param commandProcessor the Gogo command processor, or null if it did not appear in time
     * @param missing what was still missing when the wait ended; null when ready
     */
    record Report(ServiceReference<?> commandProcessor, String missing, Duration waited) {
        boolean ready() {
            return missing == null;
        }
    }

    private Readiness() {
    }

    static Duration timeout() {
        return Duration.ofSeconds(Long.getLong(TIMEOUT, 30));
    }

    static Report await(KeystoreRuntime runtime, Duration timeout) throws InterruptedException {
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        if (!runtime.awaitStarted(remaining(deadline))) {
            return new Report(null, "the framework did not reach its final start level", since(start));
        }
        BundleContext context = runtime.framework().getBundleContext();
        ServiceReference<?> processor = awaitService(context, COMMAND_PROCESSOR, deadline);
        if (processor == null) {
            return new Report(null, "no Gogo CommandProcessor service", since(start));
        }
        if (declaredByActiveBundle(context, KEYSTORE_OPERATIONS)
                && awaitService(context, KEYSTORE_OPERATIONS, deadline) == null) {
            return new Report(processor, "no " + KEYSTORE_OPERATIONS + " service (see scr:list and config/)",
                    since(start));
        }
        return new Report(processor, null, since(start));
    }

    /** Whether an active bundle declares, in its manifest, a service capability for this interface. */
    static boolean declaredByActiveBundle(BundleContext context, String objectClass) {
        for (Bundle bundle : context.getBundles()) {
            if (bundle.getState() != Bundle.ACTIVE) {
                continue;
            }
            BundleRevision revision = bundle.adapt(BundleRevision.class);
            if (revision == null) {
                continue;
            }
            for (Capability capability : revision.getCapabilities(SERVICE_NAMESPACE)) {
                if (names(capability.getAttributes().get(OBJECTCLASS_ATTRIBUTE)).contains(objectClass)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static ServiceReference<?> awaitService(BundleContext context, String objectClass, long deadline)
            throws InterruptedException {
        ServiceTracker<Object, Object> tracker;
        try {
            tracker = new ServiceTracker<>(context, context.createFilter("(objectClass=" + objectClass + ")"), null);
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException(objectClass, e);
        }
        tracker.open(true);
        try {
            long millis = Math.max(1, remaining(deadline).toMillis());
            return tracker.waitForService(millis) == null ? null : tracker.getServiceReference();
        } finally {
            tracker.close();
        }
    }

    private static Duration remaining(long deadline) {
        return Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
    }

    private static Duration since(long start) {
        return Duration.ofNanos(System.nanoTime() - start);
    }

    /** The class names of an {@code objectClass} capability attribute: a list, or a single string. */
    static List<String> names(Object classes) {
        if (classes instanceof Collection<?> names) {
            return names.stream().map(String::valueOf).toList();
        }
        return classes == null ? List.of() : List.of(String.valueOf(classes));
    }
}
