package org.openkcm.keystore.shell;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.ReconciliationReport;

class TransactionCommandsTest {
    boolean removeAsked;

    final KeystoreAdministration admin = (KeystoreAdministration) Proxy.newProxyInstance(
            KeystoreAdministration.class.getClassLoader(), new Class<?>[] {KeystoreAdministration.class},
            (proxy, method, args) -> switch (method.getName()) {
                case "cacheStatistics" -> List.of(
                        new CacheStatistics(CacheStatistics.Layer.RECORDS, KeyType.L4, 90, 10, 10, 1, 2, 9),
                        new CacheStatistics(CacheStatistics.Layer.MATERIAL, KeyType.L2, 0, 0, 0, 0, 0, 0));
                case "reconcile" -> {
                    removeAsked = (Boolean) args[0];
                    KeyId orphan = KeyId.of("orphan", 1);
                    yield List.of(new ReconciliationReport("openbao", 5, 4, List.of(orphan), List.of(), List.of(),
                            List.of(KeyId.of("lost", 2)), removeAsked ? List.of(orphan) : List.of(), Map.of(),
                            removeAsked ? List.of(KeyId.of("lost", 2)) : List.of()));
                }
                default -> throw new UnsupportedOperationException(method.getName());
            });
    final RecordingAuditLog audit = new RecordingAuditLog();
    final TransactionCommands commands = new TransactionCommands(admin, audit);

    @Test
    void cacheShowsTheCountersPerLayerAndTier() {
        String out = commands.cache();
        assertTrue(out.startsWith("LAYER") && out.contains("RECORDS") && out.contains("L4") && out.contains("90")
                && out.contains("90.0"), out);
    }

    @Test
    void reconcileReportsAndRemovesOnlyWhenAsked() {
        String report = commands.reconcile(null, false);
        assertTrue(!removeAsked && report.contains("orphan  openbao orphan:1") && report.contains("missing openbao lost:2")
                && !report.contains("(removed)"), report);
        String removed = commands.reconcile(null, true);
        assertTrue(removeAsked && removed.contains("orphan:1 (removed)"), removed);
    }

    @Test
    void missingKeysAreExplainedWithHowToClearThemAndMarkedWhenForgotten() {
        String report = commands.reconcile(null, false);
        assertTrue(report.contains(TransactionCommands.MISSING_HINT), report);
        String removed = commands.reconcile(null, true);
        assertTrue(removed.contains("missing openbao lost:2 (forgotten)") && !removed.contains(TransactionCommands.MISSING_HINT),
                removed);
    }

    @Test
    void reconcileIsAuditedAndTheCacheCountersAreNot() {
        commands.cache();
        assertTrue(audit.records.isEmpty(), audit.records::toString);
        commands.reconcile(null, true);
        assertTrue(audit.records.size() == 2 && audit.records.get(0).operation().equals("reconcile-remove")
                && audit.records.get(1).outcome().equals("ok"), audit.records::toString);
    }

    @Test
    void reconcileIsNotRunWhenTheAuditLogCannotWrite() {
        audit.acceptBeforeFailing = 0;
        org.openkcm.keystore.api.UnavailableException e = org.junit.jupiter.api.Assertions.assertThrows(
                org.openkcm.keystore.api.UnavailableException.class, () -> commands.reconcile(null, true));
        assertTrue(e.getMessage().contains("keystore:reconcile-remove was not run, nothing changed"), e.getMessage());
        assertTrue(!removeAsked, "reconcile reached the keystore");
    }
}
