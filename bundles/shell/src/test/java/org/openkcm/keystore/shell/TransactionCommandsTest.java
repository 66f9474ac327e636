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
    static final String ORPHAN_ID = "orphan/openbao/orphan:1/0123456789abcdef";
    static final String LOST_ID = "missing/openbao/lost:2";
    boolean removeAsked;
    List<?> named = List.of();

    final KeystoreAdministration admin = (KeystoreAdministration) Proxy.newProxyInstance(
            KeystoreAdministration.class.getClassLoader(), new Class<?>[] {KeystoreAdministration.class},
            (proxy, method, args) -> switch (method.getName()) {
                case "cacheStatistics" -> List.of(
                        new CacheStatistics(CacheStatistics.Layer.RECORDS, KeyType.L4, 90, 10, 10, 1, 2, 9),
                        new CacheStatistics(CacheStatistics.Layer.MATERIAL, KeyType.L2, 0, 0, 0, 0, 0, 0));
                case "reconcile" -> {
                    named = args[0] instanceof java.util.Collection<?> c ? List.copyOf(c) : List.of();
                    removeAsked = !named.isEmpty();
                    KeyId orphan = KeyId.of("orphan", 1);
                    KeyId lost = KeyId.of("lost", 2);
                    yield List.of(new ReconciliationReport("openbao", 6, 4, List.of(orphan), List.of(), List.of(),
                            List.of(lost), named.contains(ORPHAN_ID) ? List.of(orphan) : List.of(), Map.of(),
                            named.contains(LOST_ID) ? List.of(lost) : List.of(), List.of(KeyId.of("theirs", 1)),
                            Map.of(orphan, ORPHAN_ID, lost, LOST_ID)));
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
    void reconcileReportsEachFindingWithItsIdAndRemovesOnlyTheIdsNamed() {
        String report = commands.reconcile(null, false);
        assertTrue(!removeAsked && report.contains("orphan  openbao orphan:1  id " + ORPHAN_ID)
                && report.contains("missing openbao lost:2  id " + LOST_ID) && report.contains("unknown openbao theirs:1")
                && report.contains(TransactionCommands.UNKNOWN_HINT) && report.contains(TransactionCommands.REMOVE_HINT)
                && !report.contains("(removed)"), report);
        String removed = commands.reconcile(null, true, ORPHAN_ID);
        assertTrue(named.equals(List.of(ORPHAN_ID)) && removed.contains("orphan:1 (removed)")
                && !removed.contains("(forgotten)"), removed);
    }

    @Test
    void removeWithoutIdsAndIdsWithoutRemoveAreUsageErrorsAndNothingRuns() {
        UsageException none = org.junit.jupiter.api.Assertions.assertThrows(UsageException.class,
                () -> commands.reconcile(null, true));
        assertTrue(none.getMessage().startsWith("usage: keystore:reconcile [--remove] [ID]...")
                && none.getMessage().contains("--remove needs the ids of the findings to remove"), none.getMessage());
        UsageException bare = org.junit.jupiter.api.Assertions.assertThrows(UsageException.class,
                () -> commands.reconcile(null, false, ORPHAN_ID));
        assertTrue(bare.getMessage().contains("ids are given only with --remove"), bare.getMessage());
        assertTrue(!removeAsked && audit.records.isEmpty(), "nothing ran");
    }

    @Test
    void missingKeysAreExplainedWithHowToClearThemAndMarkedWhenForgotten() {
        String report = commands.reconcile(null, false);
        assertTrue(report.contains(TransactionCommands.MISSING_HINT), report);
        String removed = commands.reconcile(null, true, LOST_ID);
        assertTrue(removed.contains("missing openbao lost:2 (forgotten)") && !removed.contains(TransactionCommands.MISSING_HINT),
                removed);
    }

    @Test
    void reconcileIsAuditedAndTheCacheCountersAreNot() {
        commands.cache();
        assertTrue(audit.records.isEmpty(), audit.records::toString);
        commands.reconcile(null, true, ORPHAN_ID);
        assertTrue(audit.records.size() == 2 && audit.records.get(0).operation().equals("reconcile-remove")
                && audit.records.get(1).outcome().equals("ok"), audit.records::toString);
    }

    @Test
    void reconcileIsNotRunWhenTheAuditLogCannotWrite() {
        audit.acceptBeforeFailing = 0;
        org.openkcm.keystore.api.UnavailableException e = org.junit.jupiter.api.Assertions.assertThrows(
                org.openkcm.keystore.api.UnavailableException.class, () -> commands.reconcile(null, true, ORPHAN_ID));
        assertTrue(e.getMessage().contains("keystore:reconcile-remove was not run, nothing changed"), e.getMessage());
        assertTrue(!removeAsked, "reconcile reached the keystore");
    }
}
