package org.openkcm.keystore.core.health;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.List;
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
 * under a lock, and it holds its own lock only to update its table, never while registering or
 * unregistering a service.
 */
public final class BackendHealthChecks implements NamesSink {
    public static final String[] TAGS = {"openkcm", "keystore", "keystore-backend"};

    private final BundleContext context;
    private final Function<String, BackendStatus> status;
    private final Map<String, ServiceRegistration<?>> registrations = new HashMap<>();
    private boolean closed;

    private BackendHealthChecks(BundleContext context, Function<String, BackendStatus> status) {
        this.context = context;
        this.status = status;
    }

    /** Call only once {@link HealthCheckSupport#available} said yes: this class links to the Health Check API. */
    public static NamesSink create(BundleContext context, Function<String, BackendStatus> status) {
        return new BackendHealthChecks(context, status);
    }

    /**
     * Works out under the lock which registrations to drop and which names to add, then calls the
     * framework with no lock held (the framework calls service listeners synchronously, and one of
     * them may call back into the router).
     */
    @Override
    public void names(Set<String> names) {
        List<ServiceRegistration<?>> stale = new ArrayList<>();
        List<String> added = new ArrayList<>();
        synchronized (this) {
            if (closed) {
                return;
            }
            registrations.entrySet().removeIf(e -> {
                if (!names.contains(e.getKey())) {
                    stale.add(e.getValue());
                    return true;
                }
                return false;
            });
            for (String name : names) {
                if (!registrations.containsKey(name)) {
                    added.add(name);
                }
            }
        }
        stale.forEach(BackendHealthChecks::unregister);
        for (String name : added) {
            ServiceRegistration<?> registration = register(name);
            boolean keep;
            synchronized (this) {
                keep = !closed && registrations.putIfAbsent(name, registration) == null;
            }
            if (!keep) {
                unregister(registration); // closed meanwhile, or a concurrent call registered it first
            }
        }
    }

    @Override
    public void close() {
        List<ServiceRegistration<?>> all;
        synchronized (this) {
            closed = true;
            all = new ArrayList<>(registrations.values());
            registrations.clear();
        }
        all.forEach(BackendHealthChecks::unregister);
    }

    /** The registrations held now, by backend name: for tests. */
    synchronized Set<String> registeredNames() {
        return Set.copyOf(registrations.keySet());
    }

    private ServiceRegistration<?> register(String name) {
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(HealthCheck.NAME, "OpenKCM keystore backend " + name);
        props.put(HealthCheck.TAGS, TAGS);
        props.put("keystore.name", name);
        return context.registerService(HealthCheck.class, () -> check(name), props);
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
