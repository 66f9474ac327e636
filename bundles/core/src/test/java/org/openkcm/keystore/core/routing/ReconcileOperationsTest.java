package org.openkcm.keystore.core.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.ReconciliationReport;
import org.openkcm.keystore.core.admin.Administration;
import org.openkcm.keystore.core.journal.IntentJournal;
import org.openkcm.keystore.core.operations.DefaultKeystoreOperations;
import org.openkcm.keystore.core.testing.TestKeks;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openkcm.keystore.sdk.SampleKeys;

/** KeystoreAdministration.reconcile over the router: the location index and the journal against a backend. */
class ReconcileOperationsTest {

    @Test
    void keysUnknownHereMissingKeysAndKeysInDoubtAreReportedAndAKeyWithoutEvidenceIsNeverRemoved() {
        RoutingTable router = RoutingTableTest.router(Duration.ZERO);
        MemoryKeystore memory = new MemoryKeystore();
        router.put(RoutingTableTest.reg(1, "memory", 0, memory));
        IntentJournal journal = IntentJournal.inMemory();
        DefaultKeystoreOperations ops = DefaultKeystoreOperations.of(router, List.<KekProvider>of(TestKeks.fixed("t", 1)))
                .journal(journal);
        Administration admin = Administration.of(ops);
        for (String name : List.of("a", "b", "c")) {
            ops.generate(KeySpec.builder().name(name).type(KeyType.L4).algorithm("AES").keySize(256)
                    .owner(Owner.service("svc")).build());
        }
        // stored on the backend, unknown to this keystore's index: another runtime's, or left behind; no evidence which
        KeyId unknown = KeyId.of("unknown", 1);
        memory.storeKey(unknown, SampleKeys.sealed(1), SampleKeys.minimal(unknown).build());
        // an operation still open touches this one: recovery, not reconciliation, decides
        KeyId doubtful = KeyId.of("doubtful", 1);
        memory.storeKey(doubtful, SampleKeys.sealed(2), SampleKeys.minimal(doubtful).build());
        journal.begin("rotate", List.of(doubtful), Map.of(), List.of("store-next", "deprecate-previous"));
        // lost: known to the keystore, gone from the backend
        memory.deleteKey(KeyId.of("c", 1));

        ReconciliationReport report = single(admin.reconcile(false));
        assertEquals("memory", report.backend());
        assertEquals(4, report.held());
        assertEquals(3, report.known());
        assertTrue(report.orphans().isEmpty(), report.toString());
        assertEquals(List.of(unknown), report.unknown());
        assertEquals(List.of(doubtful), report.inDoubt());
        assertEquals(List.of(KeyId.of("c", 1)), report.missing());
        assertEquals(Map.of(KeyId.of("c", 1), "missing/memory/c:1"), report.ids());
        assertTrue(report.removed().isEmpty());

        ReconciliationReport removed = single(admin.reconcile(true));
        assertTrue(removed.removed().isEmpty(), "a key absent from the index is not removed for that alone");
        assertEquals(List.of(KeyId.of("c", 1)), removed.forgotten());
        assertEquals(4, memory.listKeys(org.openkcm.keystore.api.KeyFilter.all()).keys().size());
        assertEquals(List.of(unknown), single(admin.reconcile(false)).unknown());
    }

    @Test
    void keysAVolatileBackendLostWhenItRestartedAreForgottenOnRequestAndNothingElseIs() {
        RoutingTable router = RoutingTableTest.router(Duration.ZERO);
        router.put(RoutingTableTest.reg(1, "memory", 0, new MemoryKeystore()));
        DefaultKeystoreOperations ops = DefaultKeystoreOperations.of(router, List.<KekProvider>of(TestKeks.fixed("t", 1)));
        Administration admin = Administration.of(ops);
        for (String name : List.of("a", "b")) {
            ops.generate(KeySpec.builder().name(name).type(KeyType.L4).algorithm("AES").keySize(256)
                    .owner(Owner.service("svc")).build());
        }
        assertEquals(java.util.Optional.of("memory"), admin.locationOf(KeyId.of("a", 1)));
        // the memory backend restarts: a new, empty instance under the same name; the index remembers both keys
        MemoryKeystore restarted = new MemoryKeystore();
        router.remove(1);
        router.put(RoutingTableTest.reg(2, "memory", 0, restarted));
        ops.generate(KeySpec.builder().name("c").type(KeyType.L4).algorithm("AES").keySize(256)
                .owner(Owner.service("svc")).build());

        ReconciliationReport report = single(admin.reconcile(false));
        assertEquals(List.of(KeyId.of("a", 1), KeyId.of("b", 1)), report.missing());
        assertTrue(report.forgotten().isEmpty(), "a report without --remove changes nothing");
        assertEquals(java.util.Optional.of("memory"), admin.locationOf(KeyId.of("a", 1)));

        ReconciliationReport one = single(admin.reconcile(List.of("missing/memory/a:1")));
        assertEquals(List.of(KeyId.of("a", 1)), one.forgotten(), "only the finding named");
        assertEquals(java.util.Optional.of("memory"), admin.locationOf(KeyId.of("b", 1)));

        ReconciliationReport removed = single(admin.reconcile(true));
        assertEquals(List.of(KeyId.of("b", 1)), removed.forgotten());
        assertEquals(java.util.Optional.empty(), admin.locationOf(KeyId.of("a", 1)));
        assertEquals(java.util.Optional.of("memory"), admin.locationOf(KeyId.of("c", 1)), "a key still held stays");
        ReconciliationReport after = single(admin.reconcile(false));
        assertTrue(after.missing().isEmpty(), after.toString());
        assertEquals(1, after.known());
        assertEquals(1, after.held());
    }

    private static ReconciliationReport single(List<ReconciliationReport> reports) {
        assertEquals(1, reports.size(), reports.toString());
        return reports.get(0);
    }
}
