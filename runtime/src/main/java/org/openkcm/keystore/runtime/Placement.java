package org.openkcm.keystore.runtime;

import java.lang.reflect.InvocationTargetException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;

/**
 * Where each tier's new keys go, as the running keystore says: the routes in force and the backend
 * services, read from the core's {@code KeystoreAdministration} service, e.g.
 * {@code L2, L3 -> file (data/keys, persistent); L4 -> memory (volatile: lost at stop)}.
 * <p>
 * The launcher is not a bundle and cannot link against the api bundle's classes, so it calls the
 * service's public methods by reflection, through the interface as the core bundle sees it. A
 * backend tells whether it keeps keys across restarts with the service property
 * {@value #PERSISTENT} and where with {@value #LOCATION}; a backend that says nothing is shown by
 * name alone.
 */
final class Placement {
    static final String ADMINISTRATION = "org.openkcm.keystore.api.KeystoreAdministration";
    static final String PERSISTENT = "keystore.persistent";
    static final String LOCATION = "keystore.location";
    static final List<String> TIERS = List.of("L2", "L3", "L4");

    /** A route as {@code KeystoreAdministration.routes()} describes it. */
    record Route(List<String> tiers, boolean tierWide, String target, boolean inForce) {
    }

    /** A backend service as {@code KeystoreAdministration.backends()} describes it. */
    record Backend(String name, String state, Map<String, String> properties) {
    }

    private Placement() {
    }

    /**
     * The placement line of the running keystore.
     *
     * @return empty if there is no administration service (a distribution without the core)
     * @throws ReflectiveOperationException if the service does not have the expected shape
     */
    static Optional<String> describe(BundleContext context, Path home) throws ReflectiveOperationException {
        ServiceReference<?> reference = context.getServiceReference(ADMINISTRATION);
        if (reference == null) {
            return Optional.empty();
        }
        Object administration = context.getService(reference);
        if (administration == null) {
            return Optional.empty();
        }
        try {
            Class<?> type = reference.getBundle().loadClass(ADMINISTRATION);
            List<Route> routes = new ArrayList<>();
            for (Object route : (List<?>) invoke(type, administration, "routes")) {
                boolean tierWide = !((Optional<?>) call(route, "ownerKind")).isPresent()
                        && !((Optional<?>) call(route, "ownerId")).isPresent()
                        && !((Optional<?>) call(route, "ownerIdPrefix")).isPresent()
                        && !((Optional<?>) call(route, "region")).isPresent();
                @SuppressWarnings("unchecked")
                List<String> tiers = (List<String>) call(route, "tiers");
                routes.add(new Route(tiers, tierWide, (String) call(route, "target"), (Boolean) call(route, "inForce")));
            }
            List<Backend> backends = new ArrayList<>();
            for (Object backend : (List<?>) invoke(type, administration, "backends")) {
                @SuppressWarnings("unchecked")
                Map<String, String> properties = (Map<String, String>) call(backend, "properties");
                backends.add(new Backend((String) call(backend, "name"), String.valueOf(call(backend, "state")),
                        properties));
            }
            return Optional.of(format(routes, backends, home));
        } finally {
            context.ungetService(reference);
        }
    }

    /**
     * For each tier, the target of the first tier-wide route in force that takes it (routes come most
     * specific first, the default route last); tiers with the same target are listed together.
     */
    static String format(List<Route> routes, List<Backend> backends, Path home) {
        Map<String, List<String>> byTarget = new LinkedHashMap<>();
        int specific = 0;
        for (Route route : routes) {
            if (route.inForce() && !route.tierWide()) {
                specific++;
            }
        }
        for (String tier : TIERS) {
            String target = null;
            for (Route route : routes) {
                if (route.inForce() && route.tierWide() && (route.tiers().isEmpty() || route.tiers().contains(tier))) {
                    target = route.target();
                    break;
                }
            }
            byTarget.computeIfAbsent(target, t -> new ArrayList<>()).add(tier);
        }
        List<String> parts = new ArrayList<>();
        for (Map.Entry<String, List<String>> entry : byTarget.entrySet()) {
            String tiers = String.join(", ", entry.getValue());
            parts.add(entry.getKey() == null ? tiers + " -> refused (no route and no default target)"
                    : tiers + " -> " + entry.getKey() + describe(entry.getKey(), backends, home));
        }
        String line = String.join("; ", parts);
        if (specific > 0) {
            line += "; " + specific + " owner or region route(s) more (keystore:routes)";
        }
        return line;
    }

    private static String describe(String target, List<Backend> backends, Path home) {
        Backend backend = null;
        for (Backend candidate : backends) {
            if (candidate.name().equals(target) && (backend == null || candidate.state().equals("ACTIVE"))) {
                backend = candidate;
            }
        }
        if (backend == null) {
            return " (no such backend is running: its keys are refused)";
        }
        String persistent = backend.properties().get(PERSISTENT);
        String location = backend.properties().get(LOCATION);
        String state = backend.state().equals("ACTIVE") ? "" : ", " + backend.state();
        if ("false".equalsIgnoreCase(persistent)) {
            return " (volatile: lost at stop" + state + ")";
        }
        if ("true".equalsIgnoreCase(persistent)) {
            return " (" + (location == null ? "" : relative(location, home) + ", ") + "persistent" + state + ")";
        }
        return state.isEmpty() ? "" : " (" + state.substring(2) + ")";
    }

    private static String relative(String location, Path home) {
        try {
            Path path = Path.of(location);
            Path base = home.toAbsolutePath().normalize();
            Path real = base;
            try {
                real = base.toRealPath();
            } catch (java.io.IOException ignored) {
                // not there: compare with the path as given
            }
            for (Path root : List.of(real, base)) {
                if (path.startsWith(root) && !path.equals(root)) {
                    return root.relativize(path).toString();
                }
            }
            return location;
        } catch (RuntimeException e) {
            return location;
        }
    }

    private static Object invoke(Class<?> type, Object target, String method) throws ReflectiveOperationException {
        try {
            return type.getMethod(method).invoke(target);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw e;
        }
    }

    private static Object call(Object target, String method) throws ReflectiveOperationException {
        return invoke(target.getClass(), target, method);
    }
}
