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

    final RecordingAuditLog audit = new RecordingAuditLog();
    private final AdminCommands commands = new AdminCommands(admin, audit);

    @Test
    void backendsAreATable() {
        String out = commands.backends();
        assertTrue(out.startsWith("NAME"), out);
        assertTrue(out.contains("openbao") && out.contains("DOWN") && out.contains("connection refused")
                && out.contains("L2,L3") && out.endsWith("1 backend"), out);
    }

    @Test
    void healthFailsNamingTheTiersThatCannotBeServedAfterPrintingEveryLine() {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        java.io.PrintStream console = new java.io.PrintStream(bytes, true, java.nio.charset.StandardCharsets.UTF_8);
        org.openkcm.keystore.api.UnavailableException e = org.junit.jupiter.api.Assertions.assertThrows(
                org.openkcm.keystore.api.UnavailableException.class, () -> commands.health(console));
        assertTrue(e.getMessage().equals("unavailable: tiers L2, L3, L4 cannot be served"), e.getMessage());
        String out = bytes.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(java.util.regex.Pattern.compile("(?m)^backend\\s+openbao\\s+DOWN\\s+probe 3 ms, 3 failed in a row: connection refused$")
                .matcher(out).find(), out);
        assertTrue(java.util.regex.Pattern.compile("(?m)^tier L2\\s+route l2-l3-to-openbao -> openbao\\s+NOT servable\\s+backend openbao is DOWN: connection refused$")
                .matcher(out).find(), out);
        // no default route here: L4 keys match no route
        assertTrue(java.util.regex.Pattern.compile("(?m)^tier L4\\s+\\(no default target\\)\\s+NOT servable").matcher(out).find(), out);
    }

    @Test
    void healthSucceedsWhenEveryTierCanBeServed() {
        KeystoreAdministration healthy = new Delegate(admin) {
            @Override
            public List<BackendStatus> backends() {
                return List.of(BackendStatus.builder().name("memory").state(BackendStatus.State.ACTIVE).serviceId(1)
                        .health(0, null, Instant.EPOCH, Duration.ofMillis(1)).build());
            }

            @Override
            public List<RouteDescription> routes() {
                return List.of(new RouteDescription("acme", List.of("L3"), "TENANT", "acme", null, null, 0, 4, "memory",
                        true, null), new RouteDescription("(default)", List.of(), null, null, null, null, 0, 0, "memory", true, null));
            }
        };
        String out = new AdminCommands(healthy, audit).health((java.io.PrintStream) null);
        assertTrue(out.endsWith("health: every tier (L2, L3, L4) can be served"), out);
        assertTrue(java.util.regex.Pattern.compile("(?m)^tier L3\\s+route acme -> memory\\s+servable$").matcher(out).find(), out);
        assertTrue(java.util.regex.Pattern.compile("(?m)^tier L3\\s+\\(default\\) -> memory\\s+servable$").matcher(out).find(), out);
        assertTrue(java.util.regex.Pattern.compile("(?m)^backend\\s+memory\\s+ACTIVE\\s+probe 1 ms$").matcher(out).find(), out);
    }

    /** Forwards every call to another administration. */
    private static class Delegate implements KeystoreAdministration {
        private final KeystoreAdministration to;

        Delegate(KeystoreAdministration to) {
            this.to = to;
        }

        public List<BackendStatus> backends() {
            return to.backends();
        }

        public List<RouteDescription> routes() {
            return to.routes();
        }

        public MigrationReport migrate(KeyFilter filter, Consumer<MigrationReport> progress) {
            return to.migrate(filter, progress);
        }

        public RewrapReport rewrapAll() {
            return to.rewrapAll();
        }

        public List<org.openkcm.keystore.api.CacheStatistics> cacheStatistics() {
            return to.cacheStatistics();
        }

        public List<org.openkcm.keystore.api.ReconciliationReport> reconcile(boolean remove) {
            return to.reconcile(remove);
        }

        public List<org.openkcm.keystore.api.ReconciliationReport> reconcile(java.util.Collection<String> remove) {
            return to.reconcile(remove);
        }
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
        String rewrap = commands.rewrap(null);
        assertTrue(rewrap.contains("local v2") && rewrap.contains("4 re-wrapped"), rewrap);
        assertFalse(rewrap.contains("{"), rewrap);
    }
}
