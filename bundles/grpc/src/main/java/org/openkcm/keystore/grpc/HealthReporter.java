package org.openkcm.keystore.grpc;

import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

import org.openkcm.keystore.api.BackendStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.RouteDescription;

import io.grpc.health.v1.HealthCheckResponse.ServingStatus;

/**
 * Turns the keystore's view of its backends and routes into gRPC health statuses: one service name
 * per backend ({@value #BACKEND_PREFIX}{@code <name>}), SERVING while it is ACTIVE; and the overall
 * status (the empty service name, and each served API service), SERVING only while every tier has
 * a route in force whose backend is ACTIVE.
 */
final class HealthReporter {
    static final String BACKEND_PREFIX = "openkcm.keystore.backend.";

    private final KeystoreAdministration administration;
    private final List<String> apiServices;
    private final BiConsumer<String, ServingStatus> publish;
    private final Set<String> publishedBackends = new HashSet<>();

    HealthReporter(KeystoreAdministration administration, List<String> apiServices,
            BiConsumer<String, ServingStatus> publish) {
        this.administration = administration;
        this.apiServices = List.copyOf(apiServices);
        this.publish = publish;
    }

    /** Reads the backends and routes once and publishes every status. */
    synchronized void refresh() {
        Map<String, ServingStatus> statuses = statuses(administration.backends(), administration.routes(), apiServices);
        for (String gone : publishedBackends) {
            statuses.putIfAbsent(BACKEND_PREFIX + gone, ServingStatus.NOT_SERVING);
        }
        statuses.keySet().stream().filter(k -> k.startsWith(BACKEND_PREFIX))
                .forEach(k -> publishedBackends.add(k.substring(BACKEND_PREFIX.length())));
        statuses.forEach(publish);
    }

    /** The status of each backend's service name, of the overall name and of each API service. */
    static Map<String, ServingStatus> statuses(List<BackendStatus> backends, List<RouteDescription> routes,
            List<String> apiServices) {
        Map<String, ServingStatus> statuses = new LinkedHashMap<>();
        Set<String> active = new HashSet<>();
        for (BackendStatus backend : backends) {
            if (backend.state() == BackendStatus.State.ACTIVE) {
                active.add(backend.name());
            }
        }
        for (BackendStatus backend : backends) {
            statuses.put(BACKEND_PREFIX + backend.name(),
                    active.contains(backend.name()) ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
        }
        ServingStatus overall = everyTierServed(routes, active) ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
        statuses.put("", overall);
        apiServices.forEach(service -> statuses.put(service, overall));
        return statuses;
    }

    /** Publishes NOT_SERVING for everything (the server is stopping). */
    synchronized void stopping() {
        publish.accept("", ServingStatus.NOT_SERVING);
        apiServices.forEach(service -> publish.accept(service, ServingStatus.NOT_SERVING));
        publishedBackends.forEach(name -> publish.accept(BACKEND_PREFIX + name, ServingStatus.NOT_SERVING));
    }

    static boolean everyTierServed(List<RouteDescription> routes, Set<String> activeBackends) {
        Set<KeyType> served = EnumSet.noneOf(KeyType.class);
        for (RouteDescription route : routes) {
            if (!route.inForce() || !activeBackends.contains(route.target())) {
                continue;
            }
            if (route.tiers().isEmpty()) {
                // A route naming no tier (the default route) covers them all.
                served.addAll(EnumSet.allOf(KeyType.class));
            }
            for (String tier : route.tiers()) {
                served.add(KeyType.valueOf(tier));
            }
        }
        return served.containsAll(EnumSet.allOf(KeyType.class));
    }
}
