package org.openkcm.keystore.core.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.sdk.SampleKeys;

class RoutingPolicyTest {

    static KeyMetadata key(KeyType type, Owner owner, String region) {
        return SampleKeys.minimal(KeyId.of("k", 1)).type(type).owner(owner).region(region).build();
    }

    static Route route(String name, String tiers, String kind, String id, String prefix, String region, int priority,
            String target) {
        return Route.of(name, tiers == null ? new String[0] : new String[] {tiers}, kind, id, prefix, region, priority,
                target);
    }

    @Test
    void noRouteSendsEveryTierToTheDefaultTarget() {
        RoutingPolicy p = RoutingPolicy.of(List.of(), "memory");
        for (KeyType t : KeyType.values()) {
            assertEquals("memory", p.routeFor(key(t, Owner.tenant("a"), null)).target());
        }
        assertNull(RoutingPolicy.of(List.of(), "").routeFor(key(KeyType.L2, Owner.tenant("a"), null)));
    }

    @Test
    void mostSpecificWinsThenPriority() {
        RoutingPolicy p = RoutingPolicy.of(List.of(
                route("l2l3", "L2,L3", null, null, null, null, 10, "openbao"),
                route("l4", "L4", null, null, null, null, 0, "memory"),
                route("acme-eu", "L2,L3", "TENANT", "acme", null, "eu", 0, "openbao-eu"),
                route("ac-prefix", "L2,L3", "TENANT", null, "ac", "eu", 50, "prefix-eu")), "memory");
        assertEquals("openbao", p.routeFor(key(KeyType.L2, Owner.tenant("zeta"), "eu")).target());
        assertEquals("memory", p.routeFor(key(KeyType.L4, Owner.tenant("acme"), "eu")).target());
        // exact owner id (2) beats a prefix (1), whatever the priority
        assertEquals("openbao-eu", p.routeFor(key(KeyType.L3, Owner.tenant("acme"), "eu")).target());
        assertEquals("prefix-eu", p.routeFor(key(KeyType.L3, Owner.tenant("acorn"), "eu")).target());
        // the region must match
        assertEquals("openbao", p.routeFor(key(KeyType.L3, Owner.tenant("acme"), "us")).target());
        assertEquals(5, route("x", "L2", "TENANT", "acme", null, "eu", 0, "t").specificity());
        assertEquals(4, route("x", "L2", "TENANT", null, "ac", "eu", 0, "t").specificity());
    }

    @Test
    void equalSpecificityIsDecidedByPriority() {
        RoutingPolicy p = RoutingPolicy.of(List.of(
                route("a", "L2", null, null, null, null, 1, "one"),
                route("b", null, "TENANT", null, null, null, 2, "two")), "memory");
        assertEquals("two", p.routeFor(key(KeyType.L2, Owner.tenant("x"), null)).target());
    }

    @Test
    void anAmbiguousPolicyIsRefusedNamingBothRoutes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RoutingPolicy.of(List.of(
                route("first", "L2", null, null, null, null, 5, "one"),
                route("second", null, "TENANT", null, null, null, 5, "two")), "memory"));
        assertTrue(e.getMessage().contains("first") && e.getMessage().contains("second"), e.getMessage());
        // the same criteria to the same target is not ambiguous; disjoint criteria are not either
        RoutingPolicy.of(List.of(route("a", "L2", null, null, null, null, 5, "one"),
                route("b", "L2", null, null, null, null, 5, "one")), "memory");
        RoutingPolicy.of(List.of(route("a", "L2", null, null, null, null, 5, "one"),
                route("b", "L3", null, null, null, null, 5, "two")), "memory");
        RoutingPolicy.of(List.of(route("a", null, null, "x", null, null, 5, "one"),
                route("b", null, null, null, "y", "eu", 5, "two")), "memory");
        assertThrows(IllegalArgumentException.class, () -> RoutingPolicy.of(List.of(
                route("a", null, null, "acme", null, null, 5, "one"),
                route("b", null, null, null, "ac", "eu", 5, "two")), "memory"));
    }

    @Test
    void badValuesAreRefusedNamingTheRoute() {
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> route("r", "L5", null, null, null, null, 0, "t")).getMessage().contains("route r: tiers"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> route("r", null, "USER", null, null, null, 0, "t")).getMessage().contains("ownerKind"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> route("r", null, null, "a", "b", null, 0, "t")).getMessage().contains("not both"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> route("r", null, null, null, null, null, 0, " ")).getMessage().contains("target"));
    }
}
