package org.openkcm.keystore.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.BackendStatus;
import org.openkcm.keystore.api.RouteDescription;

import io.grpc.health.v1.HealthCheckResponse.ServingStatus;

class HealthReporterTest {
    private static final List<String> API = List.of("openkcm.keystore.v1.KeyService");

    private static BackendStatus backend(String name, BackendStatus.State state) {
        return BackendStatus.builder().name(name).state(state).build();
    }

    private static RouteDescription route(String name, List<String> tiers, String target, boolean inForce) {
        return new RouteDescription(name, tiers, null, null, null, null, 0, 0, target, inForce, null);
    }

    @Test
    void everyTierRoutedToAnActiveBackendIsServing() {
        Map<String, ServingStatus> statuses = HealthReporter.statuses(
                List.of(backend("file", BackendStatus.State.ACTIVE), backend("memory", BackendStatus.State.ACTIVE)),
                List.of(route("l4", List.of("L4"), "memory", true), route("default", List.of("L2", "L3"), "file", true)),
                API);
        assertEquals(Map.of("openkcm.keystore.backend.file", ServingStatus.SERVING,
                "openkcm.keystore.backend.memory", ServingStatus.SERVING, "", ServingStatus.SERVING,
                "openkcm.keystore.v1.KeyService", ServingStatus.SERVING), statuses);
    }

    @Test
    void aBackendDownIsNotServingAndSoIsOverallWhenItsTierHasNoOtherRoute() {
        Map<String, ServingStatus> statuses = HealthReporter.statuses(
                List.of(backend("file", BackendStatus.State.DOWN), backend("memory", BackendStatus.State.ACTIVE)),
                List.of(route("l4", List.of("L4"), "memory", true), route("default", List.of("L2", "L3"), "file", true)),
                API);
        assertEquals(ServingStatus.NOT_SERVING, statuses.get("openkcm.keystore.backend.file"));
        assertEquals(ServingStatus.SERVING, statuses.get("openkcm.keystore.backend.memory"));
        assertEquals(ServingStatus.NOT_SERVING, statuses.get(""));
        assertEquals(ServingStatus.NOT_SERVING, statuses.get("openkcm.keystore.v1.KeyService"));
    }

    @Test
    void aShadowedServiceOfAnActiveNameDoesNotMakeItDown() {
        Map<String, ServingStatus> statuses = HealthReporter.statuses(
                List.of(backend("memory", BackendStatus.State.ACTIVE), backend("memory", BackendStatus.State.SHADOWED)),
                List.of(route("default", List.of(), "memory", true)), API);
        assertEquals(ServingStatus.SERVING, statuses.get("openkcm.keystore.backend.memory"));
        assertEquals(ServingStatus.SERVING, statuses.get(""), "a route naming no tier covers them all");
    }

    @Test
    void aRouteNotInForceServesNothing() {
        Map<String, ServingStatus> statuses = HealthReporter.statuses(
                List.of(backend("memory", BackendStatus.State.ACTIVE)),
                List.of(route("pending", List.of("L2", "L3", "L4"), "memory", false)), API);
        assertEquals(ServingStatus.NOT_SERVING, statuses.get(""));
    }
}
