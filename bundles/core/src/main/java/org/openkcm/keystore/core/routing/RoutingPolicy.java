package org.openkcm.keystore.core.routing;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

import org.openkcm.keystore.api.KeyMetadata;

/**
 * An immutable, checked set of routes plus the default target. Routes are kept most specific
 * first, then by priority (highest first), then by name, so the first that matches a key wins.
 */
public final class RoutingPolicy {
    private static final Comparator<Route> ORDER = Comparator.comparingInt(Route::specificity).reversed()
            .thenComparing(Comparator.comparingInt(Route::priority).reversed())
            .thenComparing(Route::name);

    private final List<Route> routes;
    private final Route fallback;

    private RoutingPolicy(List<Route> routes, Route fallback) {
        this.routes = routes;
        this.fallback = fallback;
    }

    /**
     * A policy over the routes, or an {@link IllegalArgumentException} naming the first two routes
     * that make it ambiguous: equal specificity and priority, overlapping criteria, different targets.
     *
     * @param defaultTarget where keys that no route matches go; empty: such keys are refused
     */
    public static RoutingPolicy of(Collection<Route> routes, String defaultTarget) {
        List<Route> sorted = new ArrayList<>(routes);
        sorted.sort(ORDER);
        for (int i = 0; i < sorted.size(); i++) {
            Route a = sorted.get(i);
            for (int j = i + 1; j < sorted.size(); j++) {
                Route b = sorted.get(j);
                if (b.specificity() != a.specificity() || b.priority() != a.priority()) {
                    break;
                }
                if (!a.target().equals(b.target()) && a.overlaps(b)) {
                    throw new IllegalArgumentException("ambiguous routing policy: routes " + a.name() + " (-> "
                            + a.target() + ") and " + b.name() + " (-> " + b.target() + ") have the same specificity ("
                            + a.specificity() + ") and priority (" + a.priority() + ") and can match the same key; "
                            + "give one a higher priority or narrower criteria");
                }
            }
        }
        Route fallback = defaultTarget == null || defaultTarget.isBlank() ? null : Route.fallback(defaultTarget);
        return new RoutingPolicy(List.copyOf(sorted), fallback);
    }

    /** The route for a new key: the first that matches, else the default route, else null (refused). */
    public Route routeFor(KeyMetadata metadata) {
        for (Route route : routes) {
            if (route.matches(metadata)) {
                return route;
            }
        }
        return fallback;
    }

    public List<Route> routes() {
        return routes;
    }

    /** The default route, or null if keys no route matches are refused. */
    public Route fallback() {
        return fallback;
    }
}
