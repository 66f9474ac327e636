package org.openkcm.keystore.core.health;

import java.util.HashMap;
import java.util.Hashtable;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

import org.apache.felix.hc.api.HealthCheck;
import org.apache.felix.hc.api.Result;
import org.openkcm.keystore.api.BackendStatus;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/**
 * One Felix Health Check service per backend name ({@code hc.name} "OpenKCM keystore backend
 * NAME", {@code hc.tags} "openkcm", "keystore", "keystore-backend"): OK when it serves, CRITICAL
 * when down, TEMPORARILY_UNAVAILABLE when its service object is not ready, and CRITICAL when its
 * name has no service at all. Each check reads the router's current picture when executed.
 * <p>
 * This class is the only one that uses the (optionally imported) Health Check API; it is loaded
 * only when that package is wired. Its methods are called on the router's event thread, never
 * under a lock.
 */
public final class BackendHealthChecks implements NamesSink {
    public static final String[] TAGS = {"openkcm", "keystore", "keystore-backend"};

    private final BundleContext context;
    private final Function<String, BackendStatus> status;
    private final Map<String, ServiceRegistration<?>> registrations = new HashMap<>();

    private BackendHealthChecks(BundleContext context, Function<String, BackendStatus> status) {
        this.context = context;
        this.status = status;
    }

    /** Call only once {@link HealthCheckSupport#available} said yes: this class links to the Health Check API. */
    public static NamesSink create(BundleContext context, Function<String, BackendStatus> status) {
        return new BackendHealthChecks(context, status);
    }

    @Override
    public synchronized void names(Set<String> names) {
        registrations.entrySet().removeIf(e -> {
            if (!names.contains(e.getKey())) {
                unregister(e.getValue());
                return true;
            }
            return false;
        });
        for (String name : names) {
            if (!registrations.containsKey(name)) {
                Hashtable<String, Object> props = new Hashtable<>();
                props.put(HealthCheck.NAME, "OpenKCM keystore backend " + name);
                props.put(HealthCheck.TAGS, TAGS);
                props.put("keystore.name", name);
                registrations.put(name, context.registerService(HealthCheck.class, () -> check(name), props));
            }
        }
    }

    @Override
    public synchronized void close() {
        registrations.values().forEach(BackendHealthChecks::unregister);
        registrations.clear();
    }

    private Result check(String name) {
        BackendStatus s = status.apply(name);
        if (s == null) {
            return new Result(Result.Status.CRITICAL, "backend " + name + " is not registered");
        }
        String detail = "backend " + name + " (" + s.bundleSymbolicName() + " " + s.bundleVersion() + ") is "
                + s.state() + s.lastReason().map(r -> "; last failure: " + r).orElse("");
        switch (s.state()) {
            case ACTIVE:
                return new Result(Result.Status.OK, detail);
            case UNAVAILABLE:
                return new Result(Result.Status.TEMPORARILY_UNAVAILABLE, detail);
            default:
                return new Result(Result.Status.CRITICAL, detail);
        }
    }

    private static void unregister(ServiceRegistration<?> registration) {
        try {
            registration.unregister();
        } catch (IllegalStateException alreadyGone) {
            // the bundle is stopping
        }
    }
}
