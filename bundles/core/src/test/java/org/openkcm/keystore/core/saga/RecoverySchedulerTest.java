package org.openkcm.keystore.core.saga;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.journal.IntentJournal;

class RecoverySchedulerTest {

    @Test
    void anOperationWhoseBackendIsNotThereYetIsFinishedByALaterPass() throws Exception {
        AtomicInteger attempts = new AtomicInteger();
        Saga saga = new Saga("s", List.of(Step.retriable("needs-backend", c -> {
            if (attempts.incrementAndGet() <= 4) { // the first pass tries 3 times (runner retries), the 2nd succeeds
                throw new UnavailableException("no Keystore backend is present");
            }
        })));
        IntentJournal journal = IntentJournal.inMemory();
        journal.begin("s", List.of(), Map.of(), saga.stepNames());
        List<RecoveryReport> reports = new CopyOnWriteArrayList<>();
        SagaRunner runner = new SagaRunner(journal, null).retries(3, java.time.Duration.ZERO);
        try (RecoveryScheduler scheduler = new RecoveryScheduler(runner, List.of(saga), null, reports::add)) {
            RecoveryReport first = scheduler.start();
            assertEquals(1, first.pending());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!journal.unfinished().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(journal.unfinished().isEmpty());
            assertEquals(1, scheduler.last().count(SagaResult.State.COMMITTED));
            assertEquals(2, reports.size());
        }
    }

    @Test
    void nothingToRecoverSchedulesNothing() {
        SagaRunner runner = new SagaRunner(IntentJournal.inMemory(), null);
        try (RecoveryScheduler scheduler = new RecoveryScheduler(runner, List.of(), null, null)) {
            assertEquals(0, scheduler.start().entries().size());
        }
    }
}
