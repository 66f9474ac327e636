package org.openkcm.keystore.core.reconcile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.journal.IntentJournal;
import org.openkcm.keystore.core.saga.RecordMatch;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore.Operation;
import org.openkcm.keystore.sdk.SampleKeys;

class ReconcilerTest {
    final FaultyKeystore backend = new FaultyKeystore(new MemoryKeystore());
    final Clock clock = Clock.fixed(SampleKeys.T0.plus(Duration.ofHours(1)), ZoneOffset.UTC);
    final Reconciler reconciler = new Reconciler(null, clock);
    final AbandonedRecords abandoned = AbandonedRecords.inMemory();

    KeyId store(String name, Instant created) {
        return store(name, created, name.hashCode());
    }

    KeyId store(String name, Instant created, int seed) {
        KeyId id = KeyId.of(name, 1);
        backend.storeKey(id, SampleKeys.sealed(seed), SampleKeys.minimal(id).createdAt(created).build());
        return id;
    }

    /** What this runtime would have recorded when it gave up on the store of this key. */
    void abandon(KeyId id) {
        abandoned.abandoned("memory", id, backend.delegate().retrieveKey(id));
    }

    ReconcileReport run(List<KeyId> known, java.util.function.Predicate<String> remove) {
        return reconciler.reconcile("memory", backend, known, Set.copyOf(known)::contains, List::of, Duration.ofMinutes(5),
                abandoned, remove);
    }

    int held() {
        return backend.delegate().listKeys(KeyFilter.all()).keys().size();
    }

    @Test
    void aKeyAbsentFromTheIndexWithoutEvidenceIsUnknownAndNeverRemoved() {
        KeyId known = store("known", SampleKeys.T0);
        KeyId foreign = store("foreign", SampleKeys.T0); // another runtime's key on a shared backend
        KeyId young = store("young", clock.instant().minusSeconds(10));
        KeyId doubtful = store("doubtful", SampleKeys.T0);
        KeyId lost = KeyId.of("lost", 1);
        IntentJournal journal = IntentJournal.inMemory();
        journal.begin("rotate", List.of(doubtful), Map.of(), List.of("x"));

        ReconcileReport r = reconciler.reconcile("memory", backend, List.of(known, lost), Set.of(known, lost)::contains,
                journal::unfinished, Duration.ofMinutes(5), abandoned, finding -> true); // remove everything it may
        assertEquals(4, r.held());
        assertEquals(2, r.known());
        assertEquals(List.of(foreign), r.unaccounted());
        assertEquals(List.of(foreign), r.unknown());
        assertTrue(r.orphans().isEmpty(), "no evidence: not an orphan");
        assertEquals(List.of(young), r.recent());
        assertEquals(List.of(doubtful), r.inDoubt());
        assertEquals(Map.of(lost, "missing/memory/lost:1"), r.missing());
        assertTrue(r.removed().isEmpty());
        assertEquals(4, held(), "nothing is deleted without evidence, even when asked to remove all");
    }

    @Test
    void aRecordThisRuntimeAbandonedIsAnOrphanWithAnIdAndIsRemovedOnlyWhenNamed() {
        KeyId ours = store("ours", SampleKeys.T0);
        abandon(ours);
        KeyId foreign = store("foreign", SampleKeys.T0);
        String id = Reconciler.orphanId("memory", ours, RecordMatch.of(backend.delegate().retrieveKey(ours)));

        ReconcileReport report = run(List.of(), finding -> false);
        assertEquals(Map.of(ours, id), report.orphans());
        assertEquals(List.of(foreign), report.unknown());
        assertEquals(2, held(), "a report changes nothing");

        ReconcileReport other = run(List.of(), "orphan/memory/foreign:1/0123456789abcdef"::equals);
        assertTrue(other.removed().isEmpty());
        assertEquals(2, held());

        ReconcileReport removed = run(List.of(), id::equals);
        assertEquals(List.of(ours), removed.removed());
        assertEquals(Set.of(foreign), Set.copyOf(backend.delegate().listKeys(KeyFilter.all()).keys().stream()
                .map(m -> m.id()).toList()));
        assertTrue(abandoned.at("memory", ours).isEmpty(), "the evidence is spent");
    }

    @Test
    void anIdStoredAgainWithAnotherRecordIsNotAnOrphanAndItsStaleEvidenceIsDropped() {
        KeyId id = store("again", SampleKeys.T0, 1);
        abandon(id);
        backend.deleteKey(id);
        store("again", SampleKeys.T0, 2); // another runtime stored its own record under the same id, same created time
        ReconcileReport r = run(List.of(), finding -> true);
        assertTrue(r.orphans().isEmpty(), r.toString());
        assertEquals(List.of(id), r.unknown());
        assertTrue(r.removed().isEmpty());
        assertEquals(1, held());

        backend.deleteKey(id);
        run(List.of(), finding -> false);
        assertTrue(abandoned.at("memory", id).isEmpty(), "an entry whose id is not held can never be evidence again");
    }

    @Test
    void anOrphanThatBecameKnownMeanwhileIsNotRemoved() {
        KeyId id = store("racing", SampleKeys.T0);
        abandon(id);
        ReconcileReport r = reconciler.reconcile("memory", backend, List.of(), k -> true, List::of, Duration.ZERO,
                abandoned, finding -> true);
        assertEquals(List.of(id), List.copyOf(r.orphans().keySet()));
        assertTrue(r.removed().isEmpty());
        assertTrue(r.failures().get(id).contains("recorded it meanwhile"), r.failures().toString());
        assertEquals(1, held());
    }

    @Test
    void aRemovalThatFailsIsReportedAndTheRestGoOn() {
        abandon(store("o1", SampleKeys.T0));
        abandon(store("o2", SampleKeys.T0));
        backend.failBefore(Operation.DELETE, 1, () -> new UnavailableException("injected"));
        ReconcileReport r = run(List.of(), finding -> true);
        assertEquals(1, r.failures().size());
        assertEquals(1, r.removed().size());
        assertFalse(r.consistent());
    }

    @Test
    void everyPageIsRead() {
        for (int i = 0; i < 2_500; i++) {
            store("k" + i, SampleKeys.T0);
        }
        ReconcileReport r = run(List.of(), finding -> false);
        assertEquals(2_500, r.held());
        assertEquals(2_500, r.unaccounted().size());
    }

    @Test
    void findingIdsAreReadBackAndAnythingElseIsRefusedByName() {
        Reconciler.FindingId orphan = Reconciler.parseId("orphan/memory/k:1/0123456789abcdef");
        assertEquals("memory", orphan.backend());
        assertEquals(KeyId.of("k", 1), orphan.key());
        assertTrue(orphan.orphan());
        assertFalse(Reconciler.parseId("missing/vault/k:2").orphan());
        for (String bad : List.of("k:1", "orphan/memory/k:1", "orphan/memory/k:1/xyz", "missing/../k:1",
                "missing/memory/k", "deleted/memory/k:1")) {
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> Reconciler.parseId(bad), bad);
            assertTrue(e.getMessage().contains("id"), e.getMessage());
        }
    }

    @Test
    void theLedgerSurvivesAReopen(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        java.nio.file.Path file = dir.resolve("routing/abandoned.log");
        StoredKey record = StoredKey.of(SampleKeys.sealed(7), SampleKeys.minimal(KeyId.of("a", 1)).createdAt(SampleKeys.T0)
                .build());
        try (AbandonedRecords ledger = AbandonedRecords.open(file)) {
            ledger.abandoned("vault", KeyId.of("a", 1), record);
            ledger.abandoned("vault", KeyId.of("b", 1), record);
            ledger.forget("vault", KeyId.of("b", 1));
        }
        try (AbandonedRecords again = AbandonedRecords.open(file)) {
            assertEquals(java.util.Optional.of(RecordMatch.of(record)), again.at("vault", KeyId.of("a", 1)));
            assertTrue(again.at("vault", KeyId.of("b", 1)).isEmpty());
            assertTrue(again.at("memory", KeyId.of("a", 1)).isEmpty(), "per backend");
        }
    }
}
