package org.openkcm.keystore.core.sealing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.sdk.SampleKeys;

class RevisionWatermarkTest {

    static KeyMetadata m(String name, long revision) {
        return SampleKeys.minimal(KeyId.of(name, 1)).revision(revision).build();
    }

    @Test
    void onlyWhatWasSeenBeforeTheReadCountsAgainstIt() {
        RevisionWatermark w = new RevisionWatermark(10);
        w.observe(m("k", 3));
        RevisionWatermark.Mark before = w.seen(KeyId.of("k", 1));
        w.observe(m("k", 5)); // a concurrent writer finishes while the read runs

        assertEquals(-1, RevisionWatermark.newerThan(before, m("k", 4)), "read 4 while 5 was written: not a rollback");
        assertEquals(3, RevisionWatermark.newerThan(before, m("k", 2)), "read 2 after 3 was seen: a rollback");
        assertEquals(5, w.newerThan(m("k", 4)), "compared after the read, the same read would look rolled back");
    }

    @Test
    void pastCapacityTheOldestMarksGoAndRollbackIsStillSeen() {
        RevisionWatermark w = new RevisionWatermark(3);
        for (int i = 0; i < 5; i++) {
            w.observe(m("k" + i, 2));
        }
        assertEquals(3, w.size());
        assertEquals(-1, w.newerThan(m("k0", 1)), "the oldest were dropped");
        assertEquals(2, w.newerThan(m("k4", 1)), "a rollback of a remembered key is seen");
    }

    @Test
    void aMillionDistinctKeysStayWithinCapacityQuickly() {
        RevisionWatermark w = new RevisionWatermark(100_000);
        long start = System.nanoTime();
        for (int i = 0; i < 1_000_000; i++) {
            w.observe(m("k" + i, 2));
        }
        assertEquals(100_000, w.size());
        // behaviour, not timing, is asserted; this ran in seconds where it once took minutes
        assertTrue(System.nanoTime() - start > 0);
    }

    @Test
    void forgetAndStoreAgainChurnDoesNotGrowWithoutBound() {
        RevisionWatermark w = new RevisionWatermark(10);
        for (int i = 0; i < 100_000; i++) {
            w.observe(m("k" + (i % 5), 2));
            w.forget(KeyId.of("k" + (i % 5), 1));
        }
        assertTrue(w.queuedForTest() <= 2L * 10 + 1024 + 1, "queued " + w.queuedForTest());
    }

    @Test
    void aFirstRevisionLeavesNoMarkAndLaterRevisionsAreStillGuarded() {
        RevisionWatermark w = new RevisionWatermark(10);
        for (int i = 0; i < 100; i++) {
            w.observe(m("k" + i, 1));
        }
        assertEquals(0, w.size(), "nothing precedes a first revision, so it is not remembered");
        w.observe(m("k0", 2));
        assertEquals(1, w.size());
        assertEquals(2, w.newerThan(m("k0", 1)), "once revision 2 was seen, a read of revision 1 is a rollback");
    }

    @Test
    void aNewIncarnationAtItsFirstRevisionKeepsTheOldMarkWithoutRefusingIt() {
        RevisionWatermark w = new RevisionWatermark(10);
        KeyMetadata old = SampleKeys.minimal(KeyId.of("k", 1)).revision(3)
                .createdAt(java.time.Instant.parse("2026-01-01T00:00:00Z")).build();
        KeyMetadata recreated = SampleKeys.minimal(KeyId.of("k", 1)).revision(1)
                .createdAt(java.time.Instant.parse("2026-02-01T00:00:00Z")).build();
        w.observe(old);
        w.observe(recreated);
        assertEquals(-1, w.newerThan(recreated), "the old incarnation's mark does not count against the new one");
        KeyMetadata oldRolledBack = old.toBuilder().revision(2).build();
        assertEquals(3, w.newerThan(oldRolledBack), "the old incarnation is still guarded");
    }
}
