package org.openkcm.keystore.core.operations;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.RewrapReport;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.admin.Administration;
import org.openkcm.keystore.core.crypto.RandomSource;
import org.openkcm.keystore.core.envelope.Envelope;
import org.openkcm.keystore.core.envelope.KekRef;
import org.openkcm.keystore.core.journal.IntentJournal;
import org.openkcm.keystore.core.journal.JournalSettings;
import org.openkcm.keystore.core.kek.FileKekProvider;
import org.openkcm.keystore.core.kek.KekFile;
import org.openkcm.keystore.core.saga.CrashPoint;
import org.openkcm.keystore.core.saga.RecoveryReport;
import org.openkcm.keystore.core.saga.SagaRunner;
import org.openkcm.keystore.core.testing.RecordingKeystore;

/**
 * A KEK re-wrap is journaled with the KEK version it moves records to, and only that version is
 * ever its target: a run or a recovery pass that finds another version sealing does nothing and
 * ends the intent, so a re-wrap is never run later in the background under a KEK choice nobody
 * asked it for (the cause of the move ITs' resumed runs finding keys already moved: a run refused
 * after its intent was journaled was left open, and recovery ran it once sealing was chosen).
 */
class KekRewrapTargetTest {
    private static final int KEYS = 5;

    @TempDir
    Path dir;

    private final RecordingKeystore backend = new RecordingKeystore();
    private FileKekProvider kek;

    private DefaultKeystoreOperations ops(SagaRunner runner) {
        return DefaultKeystoreOperations.of(backend, List.<KekProvider>of(kek)).runner(runner);
    }

    /** Keys under v1, then v2 added (it seals): a re-wrap would move them to v2. */
    private IntentJournal keysUnderV1ThenV2Seals() {
        kek = FileKekProvider.open(dir.resolve("local.kek"), "local", true);
        IntentJournal journal = IntentJournal.open(JournalSettings.of(dir.resolve("intents.log")), null);
        DefaultKeystoreOperations ops = ops(new SagaRunner(journal, null));
        for (int i = 0; i < KEYS; i++) {
            ops.generate(Fixture.spec("key-" + i).build());
        }
        addVersion(2);
        return journal;
    }

    private void addVersion(int expected) {
        assertEquals(expected, KekFile.addVersion(kek.path(), RandomSource.secure()));
        kek.reload();
    }

    private int under(int version) {
        int n = 0;
        for (int i = 0; i < KEYS; i++) {
            KeyId id = KeyId.of("key-" + i, 1);
            if (Envelope.recordKek(backend.snapshot().get(id).sealed(), id).equals(new KekRef("local", version))) {
                n++;
            }
        }
        return n;
    }

    @Test
    void aRewrapKilledBeforeItRanIsFinishedByRecoveryWhileItsTargetStillSeals() {
        IntentJournal journal = keysUnderV1ThenV2Seals();
        SagaRunner dying = new SagaRunner(journal, null).watcher(CrashPoint.parse("kek-rewrap:0:before", where -> {
            throw new TransactionsTest.Crash(where);
        }));
        assertThrows(TransactionsTest.Crash.class, () -> Administration.of(ops(dying)).rewrapAll());
        assertEquals(1, journal.unfinished().size());
        assertEquals("local v2", journal.unfinished().get(0).params().get("target"));

        RecoveryReport report = ops(new SagaRunner(journal, null)).recover();
        assertEquals(1, report.entries().size(), report.toString());
        assertEquals(KEYS, under(2), "recovery finished the move to v2");
        assertTrue(journal.unfinished().isEmpty());
        journal.close();
    }

    @Test
    void aRewrapKilledBeforeItRanIsEndedByRecoveryWithoutMovingAnythingWhenAnotherVersionSealsNow() {
        IntentJournal journal = keysUnderV1ThenV2Seals();
        SagaRunner dying = new SagaRunner(journal, null).watcher(CrashPoint.parse("kek-rewrap:0:before", where -> {
            throw new TransactionsTest.Crash(where);
        }));
        assertThrows(TransactionsTest.Crash.class, () -> Administration.of(ops(dying)).rewrapAll());
        addVersion(3); // the operator rotated again before the restart

        RecoveryReport report = ops(new SagaRunner(journal, null)).recover();
        assertEquals(1, report.entries().size(), report.toString());
        assertEquals(KEYS, under(1), "nothing was moved: the intent was for v2, and v3 seals now");
        assertTrue(journal.unfinished().isEmpty(), "the intent is ended, not left for a later pass");
        journal.close();
    }

    @Test
    void aRunWhoseKekChangesAfterItsIntentWasJournaledIsRefusedMovesNothingAndLeavesNothingOpen() {
        IntentJournal journal = keysUnderV1ThenV2Seals();
        // between the check of the sealing KEK and the step: another version starts sealing (the race of the ITs)
        SagaRunner racing = new SagaRunner(journal, null).watcher(CrashPoint.parse("kek-rewrap:0:before",
                where -> addVersion(3)));
        UnavailableException refused = assertThrows(UnavailableException.class, () -> Administration.of(ops(racing)).rewrapAll());
        assertEquals("unavailable: KEK refused: the re-wrap to local v2 was not run: local v3 seals now; run the "
                + "re-wrap again to move the records to it", refused.getMessage());
        assertEquals(KEYS, under(1));
        assertTrue(journal.unfinished().isEmpty(), "nothing for recovery to run later");

        RewrapReport again = Administration.of(ops(new SagaRunner(journal, null))).rewrapAll();
        assertEquals(new KekRef("local", 3), new KekRef(again.kekId(), again.kekVersion()));
        assertEquals(KEYS, again.rewrapped());
        assertEquals(KEYS, under(3));
        journal.close();
    }
}
