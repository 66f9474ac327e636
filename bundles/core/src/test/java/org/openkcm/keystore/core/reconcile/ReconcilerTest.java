package org.openkcm.keystore.core.reconcile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.journal.IntentJournal;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore.Operation;
import org.openkcm.keystore.sdk.SampleKeys;

class ReconcilerTest {
    final FaultyKeystore backend = new FaultyKeystore(new MemoryKeystore());
    final Clock clock = Clock.fixed(SampleKeys.T0.plus(Duration.ofHours(1)), ZoneOffset.UTC);
    final Reconciler reconciler = new Reconciler(null, clock);

    KeyId store(String name, Instant created) {
        KeyId id = KeyId.of(name, 1);
        backend.storeKey(id, SampleKeys.sealed(name.hashCode()), SampleKeys.minimal(id).createdAt(created).build());
        return id;
    }

    @Test
    void reportsOrphansMissingKeysAndKeysInDoubtThenRemovesOnlyOldOrphansOnRequest() {
        KeyId known = store("known", SampleKeys.T0);
        KeyId orphan = store("orphan", SampleKeys.T0);
        KeyId young = store("young", clock.instant().minusSeconds(10));
        KeyId doubtful = store("doubtful", SampleKeys.T0);
        KeyId lost = KeyId.of("lost", 1);
        IntentJournal journal = IntentJournal.inMemory();
        journal.begin("rotate", List.of(doubtful), Map.of(), List.of("x"));

        ReconcileReport dry = reconciler.reconcile("memory", backend, List.of(known, lost), Set.of(known, lost)::contains,
                journal.unfinished(), Duration.ofMinutes(5), false);
        assertEquals(4, dry.held());
        assertEquals(2, dry.known());
        assertEquals(List.of(orphan), dry.orphans());
        assertEquals(List.of(young), dry.recent());
        assertEquals(List.of(doubtful), dry.inDoubt());
        assertEquals(List.of(lost), dry.missing());
        assertTrue(dry.removed().isEmpty());
        assertEquals(4, backend.delegate().listKeys(org.openkcm.keystore.api.KeyFilter.all()).keys().size(),
                "a report changes nothing");

        ReconcileReport wet = reconciler.reconcile("memory", backend, List.of(known, lost), Set.of(known, lost)::contains,
                journal.unfinished(), Duration.ofMinutes(5), true);
        assertEquals(List.of(orphan), wet.removed());
        assertEquals(Set.of(known, young, doubtful), Set.copyOf(backend.delegate().listKeys(
                org.openkcm.keystore.api.KeyFilter.all()).keys().stream().map(m -> m.id()).toList()));
    }

    @Test
    void anOrphanThatBecameKnownMeanwhileIsNotRemoved() {
        KeyId id = store("racing", SampleKeys.T0);
        ReconcileReport r = reconciler.reconcile("memory", backend, List.of(), k -> true, List.of(), Duration.ZERO, true);
        assertEquals(List.of(id), r.orphans());
        assertTrue(r.removed().isEmpty());
    }

    @Test
    void aRemovalThatFailsIsReportedAndTheRestGoOn() {
        store("o1", SampleKeys.T0);
        store("o2", SampleKeys.T0);
        backend.failBefore(Operation.DELETE, 1, () -> new UnavailableException("injected"));
        ReconcileReport r = reconciler.reconcile("memory", backend, List.of(), k -> false, List.of(), Duration.ZERO, true);
        assertEquals(1, r.failures().size());
        assertEquals(1, r.removed().size());
        assertTrue(!r.consistent());
    }

    @Test
    void everyPageIsRead() {
        for (int i = 0; i < 2_500; i++) {
            store("k" + i, SampleKeys.T0);
        }
        ReconcileReport r = reconciler.reconcile("memory", backend, List.of(), k -> false, List.of(), Duration.ZERO, false);
        assertEquals(2_500, r.held());
        assertEquals(2_500, r.orphans().size());
    }
}
