package org.openkcm.keystore.core.saga;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.journal.IntentJournal;
import org.openkcm.keystore.core.journal.JournalSettings;

class SagaRunnerTest {
    @TempDir
    Path dir;
    final List<String> trace = Collections.synchronizedList(new ArrayList<>());

    Step.Action record(String what) {
        return c -> trace.add(what);
    }

    Step.Action fail(String what) {
        return c -> {
            trace.add(what);
            throw new UnavailableException("injected at " + what);
        };
    }

    IntentJournal journal() {
        return IntentJournal.open(JournalSettings.of(dir.resolve("j.log")), null);
    }

    @Test
    void aFailureCompensatesTheFailedStepThenTheEarlierOnesInReverse() {
        Saga saga = new Saga("s", List.of(
                Step.compensatable("one", record("run 1"), record("undo 1")),
                Step.compensatable("two", record("run 2"), record("undo 2")),
                Step.pivot("three", fail("run 3"), record("undo 3")),
                Step.retriable("four", record("run 4"))));
        try (IntentJournal j = journal()) {
            SagaResult r = new SagaRunner(j, null).run(saga, List.of(), Map.of());
            assertEquals(SagaResult.State.COMPENSATED, r.state());
            assertEquals(2, r.failedStep());
            assertEquals(List.of("run 1", "run 2", "run 3", "undo 3", "undo 2", "undo 1"), trace);
            assertTrue(j.unfinished().isEmpty());
            UnavailableException thrown = assertThrows(UnavailableException.class, r::orThrow);
            assertSame(r.failure(), thrown);
        }
    }

    @Test
    void afterThePivotAFailingStepIsRetriedThenLeftOpenForRecovery() {
        int[] calls = {0};
        Saga saga = new Saga("s", List.of(
                Step.pivot("commit", record("commit"), record("undo")),
                Step.retriable("finish", c -> {
                    if (++calls[0] <= 5) {
                        throw new UnavailableException("down");
                    }
                    trace.add("finish");
                })));
        try (IntentJournal j = journal()) {
            SagaRunner runner = new SagaRunner(j, null).retries(3, Duration.ZERO);
            SagaResult r = runner.run(saga, List.of(), Map.of());
            assertEquals(SagaResult.State.PENDING_FORWARD, r.state());
            assertTrue(r.tookEffect());
            assertEquals(3, calls[0]);
            assertEquals(1, j.unfinished().size());
            RecoveryReport rec = runner.recover(List.of(saga));
            assertEquals(1, rec.count(SagaResult.State.COMMITTED));
            assertEquals(List.of("commit", "finish"), trace, "never undone");
            assertTrue(j.unfinished().isEmpty());
        }
    }

    @Test
    void notesOfFinishedStepsSurviveInTheJournalForRecovery() {
        Saga saga = new Saga("s", List.of(
                Step.pivot("decide", c -> c.note("chosen", "v7"), record("undo")),
                Step.retriable("use", c -> trace.add("use " + c.note("chosen").orElse("?") + " " + c.recovering()))));
        Path file = dir.resolve("notes.log");
        IntentJournal dying = IntentJournal.open(JournalSettings.of(file), null);
        SagaRunner runner = new SagaRunner(dying, null).watcher(CrashPoint.parse("s:use:before", w -> {
            throw new SagaFaultMatrixTest.Crash(w);
        }));
        assertThrows(SagaFaultMatrixTest.Crash.class, () -> runner.run(saga, List.of(), Map.of("p", "1")));
        try (IntentJournal next = IntentJournal.open(JournalSettings.of(file), null)) {
            new SagaRunner(next, null).recover(List.of(saga));
            assertEquals(List.of("use v7 true"), trace);
        } finally {
            dying.close();
        }
    }

    @Test
    void anOperationOfAnUnknownKindOrChangedStepsStaysOpen() {
        Saga v1 = new Saga("s", List.of(Step.compensatable("a", record("a"), record("undo a"))));
        Saga v2 = new Saga("s", List.of(Step.compensatable("renamed", record("a"), record("undo a"))));
        try (IntentJournal j = journal()) {
            j.begin("s", List.of(), Map.of(), v1.stepNames());
            j.begin("other", List.of(), Map.of(), List.of("x"));
            RecoveryReport r = new SagaRunner(j, null).recover(List.of(v2));
            assertEquals(2, r.pending());
            assertEquals(2, j.unfinished().size());
            assertTrue(trace.isEmpty(), "nothing is done to an operation this version does not understand");
        }
    }

    @Test
    void recoveryLeavesOperationsRunningInThisProcessAlone() throws Exception {
        java.util.concurrent.CountDownLatch inside = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        Saga saga = new Saga("s", List.of(Step.compensatable("slow", c -> {
            inside.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, record("undo"))));
        try (IntentJournal j = journal()) {
            SagaRunner runner = new SagaRunner(j, null);
            Thread t = new Thread(() -> runner.run(saga, List.of(), Map.of()));
            t.start();
            inside.await();
            assertEquals(0, runner.recover(List.of(saga)).entries().size());
            release.countDown();
            t.join();
            assertTrue(trace.isEmpty());
            assertTrue(j.unfinished().isEmpty());
        }
    }

    @Test
    void whenTheJournalCannotRecordTheIntentNothingIsDone() {
        Saga saga = new Saga("s", List.of(Step.compensatable("a", record("a"), record("undo a"))));
        IntentJournal j = journal();
        j.close();
        assertThrows(UnavailableException.class, () -> new SagaRunner(j, null).run(saga, List.of(), Map.of()));
        assertTrue(trace.isEmpty());
    }

    @Test
    void theShapeOfASagaIsChecked() {
        Step c = Step.compensatable("c", record("c"), record("uc"));
        Step p = Step.pivot("p", record("p"), record("up"));
        Step r = Step.retriable("r", record("r"));
        assertEquals(1, new Saga("ok", List.of(c, p, r)).commitPoint());
        assertEquals(1, new Saga("ok", List.of(c, c)).commitPoint(), "no pivot: the last step commits");
        assertEquals(-1, new Saga("ok", List.of(r, r)).commitPoint(), "only retriable: always forward");
        assertThrows(IllegalArgumentException.class, () -> new Saga("bad", List.of(r, c)));
        assertThrows(IllegalArgumentException.class, () -> new Saga("bad", List.of(p, c)));
        assertThrows(IllegalArgumentException.class, () -> new Saga("bad", List.of(p, p)));
        assertThrows(IllegalArgumentException.class, () -> new Saga("bad", List.of(c, r)));
        assertThrows(IllegalArgumentException.class, () -> new Saga("a:b", List.of(c)));
        assertThrows(IllegalArgumentException.class, () -> new Saga("empty", List.of()));
    }

    @Test
    void theCoreAloneWatchesNoStepAndCrashPointsParse() {
        assertSame(StepWatcher.NONE, StepWatcher.installed(), "only the crash tests' fragment provides a watcher");
        assertThrows(IllegalArgumentException.class, () -> CrashPoint.parse("rotate", w -> {
        }));
        assertEquals("CrashPoint[rotate:2:AFTER]", CrashPoint.parse("rotate:2", w -> {
        }).toString());
    }
}
