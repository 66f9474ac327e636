package org.openkcm.keystore.shell;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.BackendStatus;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.MigrationReport;
import org.openkcm.keystore.api.RewrapReport;
import org.openkcm.keystore.api.RouteDescription;

class AdminCommandsTest {

    private final KeystoreAdministration admin = new KeystoreAdministration() {
        @Override
        public List<BackendStatus> backends() {
            return List.of(BackendStatus.builder().name("openbao").state(BackendStatus.State.DOWN).serviceId(42)
                    .ranking(5).bundle("org.openkcm.keystore.keystore-openbao", "0.1.0")
                    .tiers(List.of("L2", "L3")).properties(Map.of("keystore.name", "openbao"))
                    .health(3, "connection refused", Instant.EPOCH, Duration.ofMillis(3)).build());
        }

        @Override
        public List<RouteDescription> routes() {
            return List.of(new RouteDescription("l2-l3-to-openbao", List.of("L2", "L3"), null, null, null, null, 10, 1,
                    "openbao", true, null), new RouteDescription("clash", List.of("L4"), null, null, null, null, 0, 1,
                    "memory", false, "ambiguous routing policy: routes a and clash"));
        }

        @Override
        public MigrationReport migrate(KeyFilter filter, Consumer<MigrationReport> progress) {
            assertTrue(filter.ownerId().orElseThrow().equals("acme"));
            return new MigrationReport(3, 2, 0, Map.of(KeyId.of("k", 1), "step copy: unavailable"), true);
        }

        @Override
        public RewrapReport rewrapAll() {
            return new RewrapReport("local", 2, 5, 4, 1, 0, Map.of());
        }

        @Override
        public List<org.openkcm.keystore.api.CacheStatistics> cacheStatistics() {
            return List.of();
        }

        @Override
        public List<org.openkcm.keystore.api.ReconciliationReport> reconcile(boolean remove) {
            return List.of();
        }
    };

    private final AdminCommands commands = new AdminCommands(admin);

    @Test
    void backendsAreATable() {
        String out = commands.backends();
        assertTrue(out.startsWith("NAME"), out);
        assertTrue(out.contains("openbao") && out.contains("DOWN") && out.contains("connection refused")
                && out.contains("L2,L3") && out.endsWith("1 backend"), out);
    }

    @Test
    void routesShowTheRefusedOnesWithTheirError() {
        String out = commands.routes();
        assertTrue(out.contains("in force") && out.contains("refused: ambiguous routing policy"), out);
    }

    @Test
    void migrateAndRewrapReportCounts() {
        String out = commands.migrate(null, "tenant/acme", "\u0000absent", "\u0000absent", "\u0000absent");
        assertTrue(out.contains("2 moved") && out.contains("k:1") && out.contains("step copy"), out);
        String rewrap = commands.rewrap();
        assertTrue(rewrap.contains("local v2") && rewrap.contains("4 re-wrapped"), rewrap);
        assertFalse(rewrap.contains("{"), rewrap);
    }
}
