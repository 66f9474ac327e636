package org.openkcm.keystore.core.saga;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
    void theFirstRetryAfterAnAsynchronousStartWaits() throws Exception {
        // an operation that cannot be finished yet; the first retry is an hour away
        Saga saga = new Saga("s", List.of(Step.retriable("needs-backend", c -> {
            throw new UnavailableException("no Keystore backend is present");
        })));
        IntentJournal journal = IntentJournal.inMemory();
        journal.begin("s", List.of(), Map.of(), saga.stepNames());
        List<RecoveryReport> reports = new CopyOnWriteArrayList<>();
        java.util.concurrent.CountDownLatch first = new java.util.concurrent.CountDownLatch(1);
        SagaRunner runner = new SagaRunner(journal, null).retries(1, java.time.Duration.ZERO);
        try (RecoveryScheduler scheduler = new RecoveryScheduler(runner, List.of(saga), null, r -> {
            reports.add(r);
            first.countDown();
        }, java.time.Duration.ofHours(1), java.time.Duration.ofHours(2))) {
            scheduler.startAsync();
            assertTrue(first.await(10, TimeUnit.SECONDS));
            Thread.sleep(300); // a spinning scheduler makes thousands of passes in this time
            assertEquals(1, reports.size(), "one pass, the next an hour later");
            assertEquals(1, reports.get(0).pending());
        }
    }

    @Test
    void delaysStartAtTheFirstRetryAndDoubleUpToTheBound() {
        SagaRunner runner = new SagaRunner(IntentJournal.inMemory(), null);
        java.time.Duration first = java.time.Duration.ofMillis(500);
        try (RecoveryScheduler scheduler = new RecoveryScheduler(runner, List.of(), null, null, first,
                java.time.Duration.ofSeconds(3))) {
            assertEquals(first, scheduler.next(java.time.Duration.ZERO), "after the pass at start");
            assertEquals(java.time.Duration.ofSeconds(1), scheduler.next(first));
            assertEquals(java.time.Duration.ofSeconds(2), scheduler.next(java.time.Duration.ofSeconds(1)));
            assertEquals(java.time.Duration.ofSeconds(3), scheduler.next(java.time.Duration.ofSeconds(2)), "bounded");
            assertEquals(java.time.Duration.ofSeconds(3), scheduler.next(java.time.Duration.ofSeconds(3)));
        }
        assertThrows(IllegalArgumentException.class, () -> new RecoveryScheduler(runner, List.of(), null, null,
                java.time.Duration.ZERO, java.time.Duration.ofSeconds(1)), "a first retry that does not wait");
    }

    @Test
    void anOperationLeftOpenWhileTheRuntimeRunsIsRetriedWithBackoffUntilItIsFinished() throws Exception {
        AtomicInteger attempts = new AtomicInteger();
        Saga saga = new Saga("s", List.of(Step.retriable("flaky", c -> {
            if (attempts.incrementAndGet() <= 3) { // the run and the first two retries fail
                throw new UnavailableException("the backend is down");
            }
        })));
        IntentJournal journal = IntentJournal.inMemory();
        List<Long> passes = new CopyOnWriteArrayList<>();
        SagaRunner runner = new SagaRunner(journal, null).retries(1, java.time.Duration.ZERO);
        java.time.Duration first = java.time.Duration.ofMillis(100);
        try (RecoveryScheduler scheduler = new RecoveryScheduler(runner, List.of(saga), null,
                r -> passes.add(System.nanoTime()), first, java.time.Duration.ofSeconds(5))) {
            assertEquals(0, scheduler.start().entries().size(), "nothing open at start");
            long leftOpen = System.nanoTime();
            assertEquals(SagaResult.State.PENDING_FORWARD, runner.run(saga, List.of(), Map.of()).state());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!journal.unfinished().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(journal.unfinished().isEmpty(), "finished by the scheduler, not at the next start");
            assertEquals(4, attempts.get());
            assertEquals(4, passes.size(), "the start, then three retries: " + passes.size());
            // lower bounds only (a scheduled pass never runs early): 100 ms, then 200 ms, then 400 ms
            assertTrue(passes.get(1) - leftOpen >= first.toNanos());
            assertTrue(passes.get(2) - passes.get(1) >= 2 * first.toNanos());
            assertTrue(passes.get(3) - passes.get(2) >= 4 * first.toNanos());
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
