package org.openkcm.keystore.core.routing;

import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.openkcm.keystore.api.BackendStatus;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreProperties;
import org.openkcm.keystore.core.health.BackendProber;
import org.openkcm.keystore.core.health.HealthCheckSupport;
import org.openkcm.keystore.core.health.NamesSink;
import org.openkcm.keystore.core.log.Logs;
import org.osgi.framework.Bundle;
import org.openkcm.keystore.core.metrics.Meter;
import org.openkcm.keystore.core.reconcile.AbandonedRecords;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.util.tracker.ServiceTracker;
import org.osgi.util.tracker.ServiceTrackerCustomizer;

/**
 * The router and plugin manager in the framework: a {@link ServiceTracker} over every
 * {@link Keystore} service feeds the {@link RoutingTable}, the route components feed its policy, a
 * {@link BackendProber} probes each backend's {@link Keystore#health()} with a bounded timeout
 * and hands the outcomes to the router, and, when the Felix Health Check API is present, each backend name is published as a
 * health check. A backend whose service object cannot be got yet (SCR answers null while a
 * component (re)activates) is recorded as UNAVAILABLE and asked for again.
 * <p>
 * Threads: framework events run the tracker callbacks, which call the framework (getService)
 * before they hand the router immutable registrations; the router's own lock is never held across
 * a framework or backend call. Listener events run on one event thread.
 */
@Component(name = BackendTracker.PID, service = BackendTracker.class, immediate = true)
@Designate(ocd = BackendTracker.Config.class)
public final class BackendTracker implements RoutingTable.Listener {
    public static final String PID = "org.openkcm.keystore.router";
    static final String DEFAULT_TARGET = "memory";
    static final long RETRY_UNAVAILABLE_MS = 50;
    static final long FAILED_CHECK_MS = 250;

    @ObjectClassDefinition(name = "OpenKCM Keystore router",
            description = "Routing of keys to backends, backend health, hot swap and the key location index.")
    public @interface Config {
        @AttributeDefinition(name = "Default target", description = "The keystore.name of the backend that takes "
                + "keys no route matches (with no route at all: every key). Empty: such keys are refused.")
        String default_target() default DEFAULT_TARGET;

        @AttributeDefinition(name = "Hot-swap wait (ms)", description = "How long a request waits for a backend "
                + "that left (a bundle update or restart) or is not ready yet to come back, before it is answered "
                + "unavailable.")
        long hotswap_wait() default 5000;

        @AttributeDefinition(name = "Hot-swap window (ms)", description = "For how long after a backend left "
                + "requests for it wait (hotswap.wait); after that they are answered unavailable at once.")
        long hotswap_window() default 60_000;

        @AttributeDefinition(name = "Health probe interval (ms)", description = "How often each backend's health() is called.")
        long health_interval() default 5000;

        @AttributeDefinition(name = "Health probe timeout (ms)", description = "A probe that takes longer fails.")
        long health_timeout() default 2000;

        @AttributeDefinition(name = "Failures to down", description = "Consecutive failed probes after which a "
                + "backend is DOWN: its routes answer unavailable at once. One passed probe brings it back.")
        int health_failures() default 3;

        @AttributeDefinition(name = "Key location index", description = "The file that records which backend each "
                + "key was stored in. Empty: ${openkcm.home}/data/routing/locations.idx when the framework property "
                + "openkcm.home is set, else the bundle's data area (lost when the framework cache is cleaned).")
        String location_index_path() default "";

        @AttributeDefinition(name = "Shared placement backend", description = "The keystore.name of a backend "
                + "that every runtime sharing the backends can reach, where each key's placement is kept as well "
                + "as in the local index: a runtime that does not know a key, or whose index names a backend the "
                + "key was migrated away from by another runtime, finds it with one read there. Set the same value "
                + "on every runtime. \"default-target\": the default target, while it is registered as persistent "
                + "(not keystore.persistent=false). A key whose tier the placement backend does not take "
                + "(keystore.tiers) has no placement record and is found as with local placement. Empty (the "
                + "default) or \"none\": placement is local, and a key the index does not know is looked for in "
                + "every backend. While placement is shared, every store also writes the placement backend, so "
                + "stores wait for it and fail while it is away.")
        String placement_backend() default "";

        @AttributeDefinition(name = "Remembered absence (ms)", description = "While placement is shared: for how "
                + "long a key that is in no backend (no placement recorded, and looked for in every backend) is "
                + "answered \"not found\" again without asking every backend. A key stored or migrated through "
                + "this runtime is found at once; one stored by another runtime without a placement record (a tier "
                + "the placement backend does not take) after this window at the latest. 0: never remembered.")
        long placement_absent_millis() default 1000;
    }

    @Reference(service = LoggerFactory.class, cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC)
    private volatile Logger logger;

    @Reference(service = ServiceComponentRuntime.class, cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC)
    private volatile ServiceComponentRuntime scr;

    /** The calls to backends are measured while the metrics bundle is there (see MetricsBridge). */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile Meter meter;

    /** What {@link #checkFailedBackends} last reported, to log each failure once. */
    private volatile Map<String, String> reportedFailures = Map.of();

    private final Map<String, RouteComponent> routeComponents = new ConcurrentHashMap<>();
    private final Map<Long, ServiceReference<Keystore>> references = new ConcurrentHashMap<>();
    private final Map<Long, Keystore> services = new ConcurrentHashMap<>();

    private volatile RoutingTable router;
    private volatile Config config;
    private BundleContext context;
    private ServiceTracker<Keystore, Long> tracker;
    private ScheduledExecutorService scheduler;
    private BackendProber prober;
    private ExecutorService events;
    private NamesSink healthChecks;

    @Activate
    void activate(BundleContext context, Config config) {
        this.context = context;
        this.config = config;
        events = Executors.newSingleThreadExecutor(daemons("openkcm-router-events"));
        scheduler = Executors.newSingleThreadScheduledExecutor(daemons("openkcm-router-scheduler"));
        LocationIndex index = LocationIndex.open(indexPath(context, config));
        router = new RoutingTable(settings(config), index, events, this);
        router.abandoned(AbandonedRecords.open(indexPath(context, config).resolveSibling("abandoned.log")));
        router.sharedPlacement(config.placement_backend(), absentFor(config));
        router.meter(() -> meter);
        routeComponents.values().forEach(this::apply);
        healthChecks = HealthCheckSupport.checks(context, this::status);
        tracker = new ServiceTracker<>(context, Keystore.class, new Customizer());
        tracker.open();
        prober = new BackendProber(scheduler, this::probeTargets, router::probed);
        scheduleProbes(config);
        scheduler.scheduleWithFixedDelay(this::retryUnavailable, RETRY_UNAVAILABLE_MS, RETRY_UNAVAILABLE_MS,
                TimeUnit.MILLISECONDS);
        checkFailedBackends();
        scheduler.scheduleWithFixedDelay(this::checkFailedBackends, FAILED_CHECK_MS, FAILED_CHECK_MS,
                TimeUnit.MILLISECONDS);
        Logs.info(logger, "Router active: default target '{}', key location index {} ({} keys), shared placement {}",
                config.default_target(), index.file(), index.size(), router.placementDescription());
    }

    @Modified
    void modified(Config config) {
        this.config = config;
        router.settings(settings(config));
        router.sharedPlacement(config.placement_backend(), absentFor(config));
        scheduleProbes(config);
    }

    @Deactivate
    void deactivate() {
        router.close();
        tracker.close();
        prober.close();
        scheduler.shutdownNow();
        events.shutdown();
        try {
            events.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (healthChecks != null) {
            healthChecks.close();
        }
        router.index().close();
        router.abandoned().close();
    }

    /** Hears what makes cached keys stale: a backend service left (or changed), or the routing policy changed. */
    public interface ChangeListener {
        void backendLeft(String name);

        void policyChanged();
    }

    private final List<ChangeListener> changeListeners = new CopyOnWriteArrayList<>();

    /**
     * Called on the framework thread that reported the change; no lock of ours is held. A backend
     * that left cannot come back before that thread returns (it is inside {@code Bundle.stop()} or
     * {@code update()}), while requests for it wait for it to come back: a listener must never wait
     * for a request under way (such as a cache load of one of its keys), or both wait for the
     * whole hot-swap wait.
     */
    public void addChangeListener(ChangeListener listener) {
        changeListeners.add(listener);
    }

    public void removeChangeListener(ChangeListener listener) {
        changeListeners.remove(listener);
    }

    private void backendLeft(ServiceReference<Keystore> reference) {
        Object name = reference.getProperty(KeystoreProperties.NAME);
        if (name != null) {
            changeListeners.forEach(l -> l.backendLeft(name.toString()));
        }
    }

    private void policyChanged() {
        changeListeners.forEach(ChangeListener::policyChanged);
    }

    /** The router, for the operations layer. */
    public RoutingTable router() {
        return router;
    }

    // ------------------------------------------------------------------ routes

    @Reference(name = "route", service = RouteComponent.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, unbind = "unbindRoute", updated = "updatedRoute")
    void bindRoute(RouteComponent route) {
        routeComponents.put(route.name(), route);
        apply(route);
    }

    void updatedRoute(RouteComponent route) {
        routeComponents.put(route.name(), route);
        apply(route);
    }

    void unbindRoute(RouteComponent route) {
        routeComponents.remove(route.name(), route);
        RoutingTable r = router;
        if (r != null) {
            r.removeRoute(route.name());
        }
        policyChanged();
    }

    private void apply(RouteComponent route) {
        RoutingTable r = router;
        if (r != null) {
            r.putRoute(route.name(), route.route(), route.error(), route.tiers());
            policyChanged();
            if (route.error() != null) {
                Logs.error(logger, "Route {} refused: {}; the routing policy in force stays as it was", route.name(),
                        route.error());
            }
        }
    }

    // ------------------------------------------------------------------ RoutingTable.Listener (event thread)

    @Override
    public void namesChanged(Set<String> names) {
        Logs.info(logger, "Backends serving now: {}; shared placement {}", names, router.placementDescription());
        NamesSink checks = healthChecks;
        if (checks != null) {
            checks.names(names);
        }
    }

    @Override
    public void healthChanged(String name, boolean up, String reason) {
        if (up) {
            Logs.info(logger, "Backend {} is UP again (last failure: {})", name, reason);
        } else {
            Logs.warn(logger, "Backend {} is DOWN: {}; its routes answer unavailable until it recovers", name, reason);
        }
    }

    @Override
    public void policyRefused(String error) {
        Logs.error(logger, "Routing policy refused: {}; the policy in force stays as it was", error);
    }

    private BackendStatus status(String name) {
        for (BackendStatus s : router.statuses()) {
            if (s.name().equals(name) && s.state() != BackendStatus.State.SHADOWED) {
                return s;
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ health probes

    private void scheduleProbes(Config config) {
        prober.schedule(Duration.ofMillis(config.health_interval()), Duration.ofMillis(config.health_timeout()));
    }

    private List<BackendProber.Target> probeTargets() {
        List<BackendProber.Target> out = new ArrayList<>();
        for (Registration reg : router.probeable()) {
            out.add(new BackendProber.Target(reg.serviceId(), reg.service()));
        }
        return out;
    }

    /**
     * Finds the backend configurations that failed to activate (Declarative Services' runtime: a
     * component configuration in FAILED_ACTIVATION whose properties name a {@code keystore.name})
     * and hands them to the router, which refuses their keys at once with the cause.
     */
    private void checkFailedBackends() {
        ServiceComponentRuntime runtime = scr;
        RoutingTable r = router;
        if (runtime == null || r == null) {
            return;
        }
        Map<String, String> failed = new java.util.TreeMap<>();
        try {
            for (ComponentDescriptionDTO description : runtime.getComponentDescriptionDTOs()) {
                for (ComponentConfigurationDTO c : runtime.getComponentConfigurationDTOs(description)) {
                    if (c.state != ComponentConfigurationDTO.FAILED_ACTIVATION || c.properties == null) {
                        continue;
                    }
                    Object name = c.properties.get(KeystoreProperties.NAME);
                    if (name != null && !name.toString().isBlank()) {
                        failed.put(name.toString().trim(), failureReason(c.failure));
                    }
                }
            }
        } catch (RuntimeException e) {
            return; // the runtime went away meanwhile: the next round asks again
        }
        Map<String, String> before = reportedFailures;
        reportedFailures = Map.copyOf(failed);
        failed.forEach((name, why) -> {
            if (!why.equals(before.get(name))) {
                // info: Declarative Services reports the failed activation itself, as an error
                Logs.info(logger, "Backend {} is not available: its configuration failed: {}; keys routed to it "
                        + "are refused", name, why);
            }
        });
        r.failedBackends(failed);
    }

    /**
     * The cause of a failed activation in one line: Declarative Services records the stack trace of
     * what the activate method threw, wrapped ({@code InvocationTargetException}); the last
     * "Caused by" line holds the backend's own message.
     */
    static String failureReason(String failure) {
        if (failure == null || failure.isBlank()) {
            return "the component failed to activate";
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
            return "the component failed to activate";
        }
        // "java.lang.IllegalArgumentException: message" -> "message"
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("^[\\w.$]+(?:Exception|Error)(?:: (.*))?$")
                .matcher(reason);
        if (m.matches()) {
            reason = m.group(1) == null ? reason : m.group(1);
        }
        return reason;
    }

    /** Asks again for the service objects SCR could not give (framework calls, outside any lock of ours). */
    private void retryUnavailable() {
        RoutingTable r = router;
        Map<String, String> failed = reportedFailures;
        for (Long id : r.unavailable()) {
            ServiceReference<Keystore> ref = references.get(id);
            if (ref == null) {
                continue;
            }
            Object name = ref.getProperty(KeystoreProperties.NAME);
            if (name != null && failed.containsKey(name.toString().trim())) {
                continue; // its activation failed: asking again would only fail again (and log it again)
            }
            Keystore service = context.getService(ref);
            if (service != null) {
                if (services.putIfAbsent(id, service) != null) {
                    context.ungetService(ref); // got twice: keep one use
                }
                if (references.containsKey(id)) {
                    r.put(registration(ref, services.get(id)));
                    if (!references.containsKey(id)) {
                        r.remove(id); // removed while we put it back: do not leave a ghost
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------ the tracker

    private final class Customizer implements ServiceTrackerCustomizer<Keystore, Long> {
        @Override
        public Long addingService(ServiceReference<Keystore> reference) {
            long id = (Long) reference.getProperty("service.id");
            Keystore service = context.getService(reference);
            references.put(id, reference);
            if (service != null) {
                services.put(id, service);
            }
            Registration registration = registration(reference, service);
            if (registration.name() == null || registration.name().isEmpty()) {
                Logs.warn(logger, "Keystore service {} of bundle {} has no {}: it is not routed to", id,
                        registration.bundleSymbolicName(), KeystoreProperties.NAME);
            } else if (service == null) {
                Logs.info(logger, "Keystore {} (service {}) is not ready yet: UNAVAILABLE, asked for again",
                        registration.name(), id);
            }
            router.put(registration);
            return id;
        }

        @Override
        public void modifiedService(ServiceReference<Keystore> reference, Long id) {
            router.put(registration(reference, services.get(id)));
            backendLeft(reference); // its properties changed (name, ranking): what was read from it is forgotten
        }

        @Override
        public void removedService(ServiceReference<Keystore> reference, Long id) {
            references.remove(id);
            router.remove(id);
            backendLeft(reference);
            if (services.remove(id) != null) {
                context.ungetService(reference);
            }
        }
    }

    private static Registration registration(ServiceReference<Keystore> reference, Keystore service) {
        Map<String, Object> props = new HashMap<>();
        for (String key : reference.getPropertyKeys()) {
            props.put(key, reference.getProperty(key));
        }
        Bundle bundle = reference.getBundle();
        return Registration.of((Long) reference.getProperty("service.id"), props,
                bundle == null ? "" : bundle.getSymbolicName(), bundle == null ? "" : bundle.getVersion().toString(),
                service);
    }

    // ------------------------------------------------------------------ configuration

    static RoutingTable.Settings settings(Config config) {
        return new RoutingTable.Settings(config.default_target().trim(), Duration.ofMillis(Math.max(0, config.hotswap_wait())),
                Duration.ofMillis(Math.max(0, config.hotswap_window())), Math.max(1, config.health_failures()));
    }

    static Duration absentFor(Config config) {
        return Duration.ofMillis(Math.max(0, config.placement_absent_millis()));
    }

    static Path indexPath(BundleContext context, Config config) {
        if (!config.location_index_path().isBlank()) {
            return Path.of(config.location_index_path().trim());
        }
        String home = context.getProperty("openkcm.home");
        if (home != null && !home.isBlank()) {
            return Path.of(home, "data", "routing", "locations.idx");
        }
        File data = context.getDataFile("locations.idx");
        if (data == null) {
            throw new IllegalStateException("the framework offers no persistent data area: configure "
                    + "location.index.path of " + PID);
        }
        return data.toPath();
    }

    private static ThreadFactory daemons(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
