package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class PlacementTest {
    private static final Path HOME = Path.of("/opt/openkcm-nowhere");

    private static Placement.Backend file() {
        return new Placement.Backend("file", "ACTIVE",
                Map.of("keystore.persistent", "true", "keystore.location", "/opt/openkcm-nowhere/data/keys"));
    }

    private static Placement.Backend memory() {
        return new Placement.Backend("memory", "ACTIVE", Map.of("keystore.persistent", "false"));
    }

    @Test
    void theDefaultsGroupTiersByTargetAndSayWhatIsVolatile() {
        List<Placement.Route> routes = List.of(
                new Placement.Route(List.of("L4"), true, "memory", true),
                new Placement.Route(List.of(), true, "file", true));

        assertEquals("L2, L3 -> file (data/keys, persistent); L4 -> memory (volatile: lost at stop)",
                Placement.format(routes, List.of(file(), memory()), HOME));
    }

    @Test
    void routesNotInForceOrNotTierWideDoNotDecideATierAndMissingBackendsAreSaid() {
        List<Placement.Route> routes = List.of(
                new Placement.Route(List.of("L2"), false, "openbao-eu", true),
                new Placement.Route(List.of("L3"), true, "broken", false),
                new Placement.Route(List.of("L2", "L3"), true, "openbao", true),
                new Placement.Route(List.of(), true, "memory", true));
        List<Placement.Backend> backends = List.of(memory(),
                new Placement.Backend("openbao", "DOWN", Map.of()));

        assertEquals("L2, L3 -> openbao (DOWN); L4 -> memory (volatile: lost at stop); "
                + "1 owner or region route(s) more (keystore:routes)", Placement.format(routes, backends, HOME));
        assertEquals("L2, L3, L4 -> gone (no such backend is running: its keys are refused)",
                Placement.format(List.of(new Placement.Route(List.of(), true, "gone", true)), backends, HOME));
        assertEquals("L2, L3, L4 -> refused (no route and no default target)",
                Placement.format(List.of(), backends, HOME));
    }

    @Test
    void aLocationOutsideTheHomeIsShownWhole() {
        Placement.Backend elsewhere = new Placement.Backend("file", "ACTIVE",
                Map.of("keystore.persistent", "true", "keystore.location", "/srv/keys"));
        assertEquals("L2, L3, L4 -> file (/srv/keys, persistent)",
                Placement.format(List.of(new Placement.Route(List.of(), true, "file", true)), List.of(elsewhere), HOME));
    }
}
