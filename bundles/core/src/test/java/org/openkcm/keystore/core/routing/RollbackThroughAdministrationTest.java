package org.openkcm.keystore.core.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.MigrationReport;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.RewrapReport;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.core.admin.Administration;
import org.openkcm.keystore.core.envelope.Envelope;
import org.openkcm.keystore.core.envelope.KekRef;
import org.openkcm.keystore.core.operations.DefaultKeystoreOperations;
import org.openkcm.keystore.core.testing.TestKeks;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore;

/**
 * KEK re-wrap and migration read through the rollback check of get: a record rolled back to an
 * older, authentic revision (written straight to the backend) is refused by both as an integrity
 * failure for that key, nothing is written, and get still detects the rollback afterwards. Without
 * the check, the re-wrap would store the old record again at a new revision (a current-looking
 * record) and the migration would copy it to its new home and delete the evidence at the source.
 */
class RollbackThroughAdministrationTest {
    final FaultyKeystore memory = new FaultyKeystore(new MemoryKeystore());
    final FaultyKeystore vault = new FaultyKeystore(new MemoryKeystore());
    final RoutingTable router = new RoutingTable(new RoutingTable.Settings("memory", Duration.ZERO, Duration.ofMinutes(1), 3),
            LocationIndex.inMemory(), Runnable::run, RoutingTableTest.QUIET);
    final TestKeks.Fixed kek = TestKeks.fixed("test", 1);
    final DefaultKeystoreOperations ops;
    final KeyId rolledBack;
    final KeyId untouched;
    final StoredKey older;

    RollbackThroughAdministrationTest() {
        router.put(RoutingTableTest.reg(1, "memory", 0, memory));
        router.put(RoutingTableTest.reg(2, "vault", 0, vault));
        ops = DefaultKeystoreOperations.of(router, List.<KekProvider>of(kek));
        rolledBack = ops.generate(MigratorTest.spec("retired", "acme")).id();
        untouched = ops.generate(MigratorTest.spec("fine", "acme")).id();
        older = memory.delegate().retrieveKey(rolledBack); // revision 1, ACTIVE
        ops.changeStatus(rolledBack, KeyStatus.RETIRED, 1); // revision 2, seen by this runtime
        // the attack: the older, authentic record written straight to the backend
        memory.delegate().deleteKey(rolledBack);
        memory.delegate().storeKey(rolledBack, older.sealed(), older.metadata());
        assertThrows(IntegrityException.class, () -> ops.metadata(rolledBack), "get detects the rollback");
    }

    @Test
    void aRewrapRefusesARolledBackRecordAndWritesNothing() {
        kek.replace("test", Map.of(1, TestKeks.kek(1), 2, TestKeks.kek(2))); // v2 is current: every key needs a re-wrap
        RewrapReport report = Administration.of(ops).rewrapAll();

        assertEquals(1, report.failed().size(), report.toString());
        String why = report.failed().get(rolledBack);
        assertTrue(why != null && why.startsWith("integrity check failed (key " + rolledBack + ")")
                && why.contains("rolled back"), report.toString());
        assertEquals(older, memory.delegate().retrieveKey(rolledBack), "nothing was written for the rolled-back key");
        assertEquals(new KekRef("test", 2), Envelope.recordKek(memory.delegate().retrieveKey(untouched).sealed(), untouched),
                "the other key was re-wrapped");
        IntegrityException still = assertThrows(IntegrityException.class, () -> ops.get(rolledBack).close());
        assertTrue(still.getMessage().contains("rolled back"), still.getMessage());
    }

    @Test
    void aMigrationRefusesARolledBackRecordAndCopiesNothing() {
        router.putRoute("acme", Route.of("acme", new String[0], "TENANT", "acme", null, null, 0, "vault"), null);
        MigrationReport report = Administration.of(ops).migrate(KeyFilter.builder().owner(Owner.tenant("acme")).build(), null);

        assertEquals(1, report.moved(), report.toString());
        String why = report.failed().get(rolledBack);
        assertTrue(why != null && why.startsWith("integrity check failed (key " + rolledBack + ")")
                && why.contains("rolled back"), report.toString());
        assertEquals(older, memory.delegate().retrieveKey(rolledBack), "the source is as it was");
        assertEquals(0, MigratorTest.copies(vault, rolledBack), "nothing was copied to the target");
        assertEquals("memory", router.index().get(rolledBack), "the key still lives where it was");
        assertEquals(1, MigratorTest.copies(vault, untouched), "the other key moved");
        IntegrityException still = assertThrows(IntegrityException.class, () -> ops.get(rolledBack).close());
        assertTrue(still.getMessage().contains("rolled back"), still.getMessage());
    }

    @Test
    void aReWrappedKeyRolledBackToItsRecordBeforeTheReWrapIsDetected() {
        kek.replace("test", Map.of(1, TestKeks.kek(1), 2, TestKeks.kek(2)));
        StoredKey beforeRewrap = memory.delegate().retrieveKey(untouched);
        assertEquals(1, Administration.of(ops).rewrapAll().rewrapped(), "the untouched key is re-wrapped");
        // the re-wrap's own write advanced the mark: the record from before it is a rollback now
        memory.delegate().deleteKey(untouched);
        memory.delegate().storeKey(untouched, beforeRewrap.sealed(), beforeRewrap.metadata());
        assertThrows(IntegrityException.class, () -> ops.metadata(untouched));
    }
}
