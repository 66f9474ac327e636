package org.openkcm.keystore.runtime;

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.stream.Stream;

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
 * <li>every {@code .cfg} of {@code config/} that names a component (its PID, or its factory PID
 * before the first {@code -}) has been handed to that component: ConfigAdmin delivers on a thread
 * of its own, so without this wait a component configured there, such as a KEK provider that
 * {@code seal.kek.id} names, could arrive after the operations chose their KEKs;</li>
 * <li>if an active bundle declares that it provides the {@value #KEYSTORE_OPERATIONS} service (the
 * core bundle's {@code Provide-Capability: osgi.service}), that service is registered. A
 * distribution without such a bundle is ready without it.</li>
 * </ol>
 * Backends configured from {@code config/} are registered by then: their bundles start after
 * FileInstall, and Declarative Services activates a configured component while its bundle starts.
 * <p>
 * The wait ends at once, not at the timeout, when the start has failed: a component that
 * Declarative Services could not activate (its configuration refused, a KEK file refused), or a
 * configuration error a keystore bundle reported ({@code config.yaml}, an {@code OPENKCM__}
 * variable). Those are the report's {@code failures}: the launcher does not run commands and a
 * daemon exits with status 3.
 */
final class Readiness {

    /** Seconds to wait for readiness; system property. */
    static final String TIMEOUT = "openkcm.ready.timeout";
    static final String COMMAND_PROCESSOR = "org.apache.felix.service.command.CommandProcessor";
    static final String KEYSTORE_OPERATIONS = "org.openkcm.keystore.api.KeystoreOperations";
    static final String SCR_RUNTIME = "org.osgi.service.component.runtime.ServiceComponentRuntime";
    /** ComponentConfigurationDTO.FAILED_ACTIVATION (DS 1.4). */
    static final int FAILED_ACTIVATION = 16;
    static final String FILEINSTALL_FILENAME = "felix.fileinstall.filename";

    private static final String SERVICE_NAMESPACE = "osgi.service";
    private static final String OBJECTCLASS_ATTRIBUTE = "objectClass";

    /**
     * What the wait found.
     *
     * @param commandProcessor the Gogo command processor, or null if it did not appear in time
     * @param missing what was still missing when the wait ended; null when ready
     * @param failures what failed at start, one line each: components that failed to activate,
     *        configuration errors; empty when the start succeeded
     * @param printed whether the failures were printed on the console already (by the console log)
     */
    record Report(ServiceReference<?> commandProcessor, String missing, Duration waited, List<String> failures,
            boolean printed) {
        Report(ServiceReference<?> commandProcessor, String missing, Duration waited) {
            this(commandProcessor, missing, waited, List.of(), true);
        }

        boolean ready() {
            return missing == null && failures.isEmpty();
        }

        boolean failed() {
            return !failures.isEmpty();
        }
    }

    private static final long POLL_MS = 100;

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
        boolean needsOperations = declaredByActiveBundle(context, KEYSTORE_OPERATIONS);
        while (true) {
            Report failed = failures(runtime, context, processor, start);
            if (failed != null) {
                return failed;
            }
            if (!needsOperations) {
                return new Report(processor, null, since(start));
            }
            List<String> undelivered = undelivered(context, runtime.configFolder());
            if (!undelivered.isEmpty()) {
                if (System.nanoTime() >= deadline) {
                    return new Report(processor, "the configurations " + undelivered + " of config/ did not reach "
                            + "their components", since(start));
                }
                Thread.sleep(POLL_MS);
                continue;
            }
            ServiceReference<?> operations = context.getServiceReference(KEYSTORE_OPERATIONS);
            if (operations != null && activated(context, operations)) {
                // a delayed component activates at its first use: what it needed may have failed just now
                Report late = failures(runtime, context, processor, start);
                return late != null ? late : new Report(processor, null, since(start));
            }
            if (System.nanoTime() >= deadline) {
                return new Report(processor, "no " + KEYSTORE_OPERATIONS + " service (see scr:list and config/)",
                        since(start));
            }
            Thread.sleep(POLL_MS);
        }
    }

    /**
     * Gets the service object, which makes Declarative Services activate a delayed component
     * (and what it references, such as the KEK provider) now rather than at the first command.
     */
    private static boolean activated(BundleContext context, ServiceReference<?> reference) {
        try {
            Object service = context.getService(reference);
            // Kept, not released: releasing it would make SCR dispose of the delayed component at once,
            // to activate it again at the first command. The framework releases it when it stops.
            return service != null;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** A failed report if a component failed to activate or a configuration error was printed; null if none. */
    private static Report failures(KeystoreRuntime runtime, BundleContext context, ServiceReference<?> processor,
            long start) {
        List<String> printed = runtime.configurationErrors();
        if (!printed.isEmpty()) {
            return new Report(processor, "the starting configuration is invalid", since(start), printed, true);
        }
        List<String> failed = new ArrayList<>();
        failedComponents(context).forEach(f -> failed.add(f.line()));
        if (!failed.isEmpty()) {
            return new Report(processor, "the starting configuration is invalid", since(start), failed, false);
        }
        return null;
    }

    /**
     * The component configurations Declarative Services reports as FAILED_ACTIVATION, one line each
     * ({@code component <name> failed to activate: <cause>}), read from its
     * {@code ServiceComponentRuntime} by reflection: the launcher has no SCR API on its class path.
     */
    /** One component configuration that failed to activate. */
    record FailedComponent(String name, String implementation, String file, String reason) {
        String line() {
            return "component " + name + (file == null ? "" : " (" + file + ")") + " failed to activate: " + reason;
        }
    }

    static List<FailedComponent> failedComponents(BundleContext context) {
        List<FailedComponent> out = new ArrayList<>();
        // an SCR without DTOs (DS before 1.3): failures are found by the timeout instead
        components(context, (description, configurations) -> {
            for (Object c : configurations) {
                if (!(field(c, "state") instanceof Integer state) || state != FAILED_ACTIVATION) {
                    continue;
                }
                Object failure = field(c, "failure");
                String file = field(c, "properties") instanceof Map<?, ?> p && p.get(FILEINSTALL_FILENAME) != null
                        ? String.valueOf(p.get(FILEINSTALL_FILENAME)) : null;
                out.add(new FailedComponent(String.valueOf(field(description, "name")),
                        String.valueOf(field(description, "implementationClass")), file,
                        failureReason(failure == null ? null : failure.toString())));
            }
        });
        return out;
    }

    /**
     * The {@code .cfg} files of {@code folder} that name a component Declarative Services declares
     * (by its configuration PID) but that no configuration of that component carries yet, sorted.
     * A file for which no component is declared (another consumer's) is not waited for.
     */
    static List<String> undelivered(BundleContext context, Path folder) {
        List<String> files = new ArrayList<>();
        try (Stream<Path> listed = Files.list(folder)) {
            listed.filter(f -> f.getFileName().toString().endsWith(".cfg") && Files.isRegularFile(f))
                    .forEach(f -> files.add(f.getFileName().toString()));
        } catch (IOException e) {
            return List.of(); // no config/ to read: nothing to wait for
        }
        if (files.isEmpty()) {
            return List.of();
        }
        Set<String> declared = new HashSet<>();
        Set<String> delivered = new HashSet<>();
        if (!components(context, (description, configurations) -> {
            if (!"ignore".equals(String.valueOf(field(description, "configurationPolicy")))
                    && field(description, "configurationPid") instanceof String[] pids) {
                declared.addAll(List.of(pids));
            }
            for (Object c : configurations) {
                if (field(c, "properties") instanceof Map<?, ?> p && p.get(FILEINSTALL_FILENAME) != null) {
                    String file = String.valueOf(p.get(FILEINSTALL_FILENAME));
                    delivered.add(file.substring(file.lastIndexOf('/') + 1));
                }
            }
        })) {
            return List.of(); // no DTOs to read: the operations' own checks and the timeout apply
        }
        List<String> waiting = new ArrayList<>();
        for (String file : files) {
            String base = file.substring(0, file.length() - ".cfg".length());
            String pid = base.contains("-") ? base.substring(0, base.indexOf('-')) : base;
            if (declared.contains(pid) && !delivered.contains(file)) {
                waiting.add(file);
            }
        }
        waiting.sort(null);
        return waiting;
    }

    /**
     * Calls {@code visitor} with each component description DTO and its configuration DTOs, read
     * by reflection (the launcher has no SCR API on its class path); false if they cannot be read.
     */
    private static boolean components(BundleContext context, BiConsumer<Object, Collection<?>> visitor) {
        ServiceReference<?> reference = context.getServiceReference(SCR_RUNTIME);
        if (reference == null) {
            return false;
        }
        Object scr = context.getService(reference);
        if (scr == null) {
            return false;
        }
        try {
            Class<?> api = reference.getBundle().loadClass(SCR_RUNTIME);
            Object descriptions = api.getMethod("getComponentDescriptionDTOs", Bundle[].class)
                    .invoke(scr, (Object) new Bundle[0]);
            Method configurations = null;
            for (Object description : (Collection<?>) descriptions) {
                if (configurations == null) {
                    configurations = api.getMethod("getComponentConfigurationDTOs", description.getClass());
                }
                visitor.accept(description, (Collection<?>) configurations.invoke(scr, description));
            }
            return true;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return false; // an SCR without DTOs (DS before 1.3)
        } finally {
            try {
                context.ungetService(reference);
            } catch (RuntimeException ignored) {
                // the framework is stopping
            }
        }
    }

    private static Object field(Object dto, String name) {
        try {
            return dto.getClass().getField(name).get(dto);
        } catch (ReflectiveOperationException e) {
            return null;
        }
    }

    /** The cause in DS's failure text (a stack trace): the last "Caused by:" message, or the first line. */
    static String failureReason(String failure) {
        if (failure == null || failure.isBlank()) {
            return "no reason given";
        }
        String reason = null;
        for (String line : failure.split("\\R")) {
            String text = line.strip();
            if (reason == null && !text.isEmpty() && !text.startsWith("at ")) {
                reason = text;
            }
            if (text.startsWith("Caused by: ")) {
                reason = text.substring("Caused by: ".length());
            }
        }
        if (reason == null) {
            return "no reason given";
        }
        int colon = reason.indexOf(": ");
        String type = colon < 0 ? reason : reason.substring(0, colon);
        if (type.matches("[\\w.$]+(Exception|Error)")) {
            return colon < 0 ? type.substring(type.lastIndexOf('.') + 1) : reason.substring(colon + 2);
        }
        return reason;
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
