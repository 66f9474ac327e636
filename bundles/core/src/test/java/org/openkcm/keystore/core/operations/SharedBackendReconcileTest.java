package org.openkcm.keystore.core.operations;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.ReconciliationReport;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.admin.Administration;
import org.openkcm.keystore.core.routing.LocationIndex;
import org.openkcm.keystore.core.routing.Registration;
import org.openkcm.keystore.core.routing.RoutingTable;
import org.openkcm.keystore.core.testing.TestKeks;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore.Operation;

/**
 * Two runtimes (each its own router, location index, journal and abandoned-record ledger, sharing
 * the KEK) in front of one backend: reconciliation on either deletes nothing the other stored, and
 * removes a record only on positive evidence, named by the id a report printed.
 */
class SharedBackendReconcileTest {
    static final RoutingTable.Listener QUIET = new RoutingTable.Listener() {
        @Override
        public void namesChanged(Set<String> names) {
        }

        @Override
        public void healthChanged(String name, boolean up, String reason) {
        }

        @Override
        public void policyRefused(String error) {
        }
    };

    final FaultyKeystore shared = new FaultyKeystore(new MemoryKeystore());
    final TestKeks.Fixed kek = TestKeks.fixed("shared", 1);
    final Fixture.MutableClock clock = new Fixture.MutableClock();
    final DefaultKeystoreOperations a = runtime(1);
    final DefaultKeystoreOperations b = runtime(2);
    final Administration adminA = Administration.of(a);
    final Administration adminB = Administration.of(b);

    DefaultKeystoreOperations runtime(long serviceId) {
        RoutingTable router = new RoutingTable(new RoutingTable.Settings("memory", Duration.ZERO, Duration.ofMinutes(1), 2),
                LocationIndex.inMemory(), Runnable::run, QUIET);
        router.put(Registration.of(serviceId, Map.of("keystore.name", "memory", "service.ranking", 0, "keystore.tiers",
                "L2,L3,L4"), "bsn", "1.0.0", shared));
        return DefaultKeystoreOperations.of(router, List.<KekProvider>of(kek)).clock(clock);
    }

    List<KeyId> generate(DefaultKeystoreOperations ops, String... names) {
        List<KeyId> ids = new ArrayList<>();
        for (String name : names) {
            ids.add(ops.generate(Fixture.spec(name).build()).id());
        }
        return ids;
    }

    static ReconciliationReport single(List<ReconciliationReport> reports) {
        assertEquals(1, reports.size(), reports.toString());
        return reports.get(0);
    }

    int held() {
        return shared.delegate().listKeys(KeyFilter.all()).keys().size();
    }

    void readable(DefaultKeystoreOperations ops, List<KeyId> ids) {
        for (KeyId id : ids) {
            try (KeyMaterial m = ops.get(id)) {
                assertEquals(32, m.copyBytes().length, id.toString());
            }
        }
    }

    @Test
    void reconcilingWithRemoveOnEitherRuntimeLosesNothingTheOtherStored() {
        List<KeyId> fromA = generate(a, "a1", "a2", "a3");
        List<KeyId> fromB = generate(b, "b1", "b2");
        clock.advanceMillis(Duration.ofMinutes(10).toMillis()); // past the grace period: judged, not "recent"

        ReconciliationReport onB = single(adminB.reconcile(true));
        assertEquals(fromA, onB.unknown(), "A's keys are unknown to B, not orphans");
        assertTrue(onB.orphans().isEmpty());
        assertTrue(onB.removed().isEmpty());
        ReconciliationReport onA = single(adminA.reconcile(true));
        assertEquals(fromB, onA.unknown());
        assertTrue(onA.removed().isEmpty());

        assertEquals(5, held());
        readable(a, fromA);
        readable(a, fromB);
        readable(b, fromA);
        readable(b, fromB);
    }

    @Test
    void aStoreWhoseAcknowledgementWasLostIsAnOrphanOfThatRuntimeAloneAndGoesOnlyWhenNamed() {
        List<KeyId> fromB = generate(b, "b1");
        shared.failAfter(Operation.STORE, 1, () -> new UnavailableException("injected: the answer was lost"));
        assertThrows(UnavailableException.class, () -> a.generate(Fixture.spec("lost").build()));
        KeyId lost = KeyId.of("lost", 1);
        assertEquals(2, held(), "the record reached the backend");
        clock.advanceMillis(Duration.ofMinutes(10).toMillis());

        ReconciliationReport onB = single(adminB.reconcile(true));
        assertEquals(List.of(lost), onB.unknown(), "B has no evidence: it keeps it");
        assertTrue(onB.removed().isEmpty());
        assertEquals(2, held());

        ReconciliationReport onA = single(adminA.reconcile(false));
        assertEquals(List.of(lost), onA.orphans());
        assertEquals(List.of(fromB.get(0)), onA.unknown());
        String id = onA.ids().get(lost);
        assertTrue(id.startsWith("orphan/memory/lost:1/"), id);
        assertEquals(2, held(), "a report deletes nothing");

        ReconciliationReport removed = single(adminA.reconcile(List.of(id)));
        assertEquals(List.of(lost), removed.removed());
        assertEquals(1, held());
        readable(a, fromB);
        assertTrue(single(adminA.reconcile(false)).orphans().isEmpty());
    }

    @Test
    void aNamedOrphanWhoseEvidenceNoLongerHoldsIsKeptAndSaysWhy() {
        shared.failAfter(Operation.STORE, 1, () -> new UnavailableException("injected"));
        assertThrows(UnavailableException.class, () -> a.generate(Fixture.spec("k").build()));
        clock.advanceMillis(Duration.ofMinutes(10).toMillis());
        KeyId k = KeyId.of("k", 1);
        String id = single(adminA.reconcile(false)).ids().get(k);
        KeyMetadata read = a.metadata(k); // a read finds it and records it: the key is in use now
        assertEquals(k, read.id());

        ReconciliationReport r = single(adminA.reconcile(List.of(id)));
        assertTrue(r.removed().isEmpty());
        assertTrue(r.failures().get(k).contains("not a finding of this run"), r.failures().toString());
        assertEquals(1, held());
    }

    @Test
    void anIdThatIsNotAFindingIdIsRefusedAndNothingIsRemoved() {
        shared.failAfter(Operation.STORE, 1, () -> new UnavailableException("injected"));
        assertThrows(UnavailableException.class, () -> a.generate(Fixture.spec("k").build()));
        clock.advanceMillis(Duration.ofMinutes(10).toMillis());
        String id = single(adminA.reconcile(false)).ids().get(KeyId.of("k", 1));

        InvalidInputException bad = assertThrows(InvalidInputException.class, () -> adminA.reconcile(List.of(id, "k:1")));
        assertTrue(bad.getMessage().contains("'k:1' is not the id of a reconciliation finding"), bad.getMessage());
        InvalidInputException elsewhere = assertThrows(InvalidInputException.class,
                () -> adminA.reconcile(List.of(id, "missing/vault/k:1")));
        assertTrue(elsewhere.getMessage().contains("names backend vault, which is not active here"), elsewhere.getMessage());
        assertEquals(1, held(), "nothing was removed");
    }
}
