package org.openkcm.keystore.core.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.testing.RecordingKeystore;

/** The prober on real threads, against memory backends whose health() answers, fails or hangs. */
class BackendProberTest {
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final BlockingQueue<Outcome> outcomes = new LinkedBlockingQueue<>();
    private final List<BackendProber.Target> targets = new CopyOnWriteArrayList<>();
    private final BackendProber prober = new BackendProber(scheduler, () -> targets,
            (id, health, failure, latency) -> outcomes.add(new Outcome(id, health, failure, latency)));

    private record Outcome(long id, KeystoreHealth health, String failure, Duration latency) {
    }

    @AfterEach
    void stop() {
        prober.close();
        scheduler.shutdownNow();
    }

    @Test
    void handsOverWhatEachBackendAnswersAndWhyACallFailed() throws Exception {
        targets.add(new BackendProber.Target(1, new RecordingKeystore()));
        targets.add(new BackendProber.Target(2, new RecordingKeystore() {
            @Override
            public KeystoreHealth health() {
                throw new UnavailableException("disk gone");
            }
        }));
        prober.schedule(Duration.ofMillis(10), Duration.ofSeconds(10));

        Outcome up = next(1);
        assertTrue(up.health().isUp(), up.toString());
        assertNull(up.failure());
        assertTrue(up.latency() != null && !up.latency().isNegative());
        Outcome failed = next(2);
        assertNull(failed.health());
        assertEquals("health() failed: UnavailableException: unavailable: disk gone", failed.failure());
    }

    /** A hanging backend times out, and is not called again while its call still runs. */
    @Test
    void aHangingBackendTimesOutAndIsNotCalledAgainMeanwhile() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger calls = new AtomicInteger();
        targets.add(new BackendProber.Target(7, new RecordingKeystore() {
            @Override
            public KeystoreHealth health() {
                calls.incrementAndGet();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return KeystoreHealth.up(Duration.ZERO);
            }
        }));
        prober.schedule(Duration.ofMillis(20), Duration.ofMillis(50));

        List<String> failures = new CopyOnWriteArrayList<>();
        while (!failures.contains("health() did not answer within 50 ms")
                || !failures.contains("health() still running after 50 ms")) {
            failures.add(next(7).failure());
        }
        assertEquals(1, calls.get(), "one call at a time: " + failures);

        release.countDown(); // it answers again: the next rounds call it and hear it up
        Outcome outcome;
        do {
            outcome = next(7);
        } while (outcome.health() == null);
        assertTrue(outcome.health().isUp());
        assertTrue(calls.get() >= 2);
    }

    @Test
    void closeInterruptsTheCallUnderWay() throws Exception {
        CountDownLatch called = new CountDownLatch(1);
        CountDownLatch interrupted = new CountDownLatch(1);
        targets.add(new BackendProber.Target(3, new RecordingKeystore() {
            @Override
            public KeystoreHealth health() {
                called.countDown();
                try {
                    Thread.sleep(TimeUnit.MINUTES.toMillis(5));
                } catch (InterruptedException e) {
                    interrupted.countDown();
                }
                return KeystoreHealth.up(Duration.ZERO);
            }
        }));
        prober.schedule(Duration.ofMillis(10), Duration.ofMinutes(10));
        assertTrue(called.await(10, TimeUnit.SECONDS));

        prober.close();
        assertTrue(interrupted.await(10, TimeUnit.SECONDS), "the call under way is interrupted");
    }

    /** After close no round runs: a backend that hangs (deaf to interrupts) hears no more "still running". */
    @Test
    void closeStopsTheRounds() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        targets.add(new BackendProber.Target(4, new RecordingKeystore() {
            @Override
            public KeystoreHealth health() {
                while (true) {
                    try {
                        release.await();
                        return KeystoreHealth.up(Duration.ZERO);
                    } catch (InterruptedException deaf) {
                        // keeps hanging, as a backend stuck in a socket read would
                    }
                }
            }
        }));
        prober.schedule(Duration.ofMillis(10), Duration.ofMinutes(10));
        assertEquals("health() still running after 600000 ms", next(4).failure());

        prober.close();
        scheduler.submit(() -> { }).get(10, TimeUnit.SECONDS); // a round that had started has ended
        outcomes.clear();
        scheduler.schedule(() -> { }, 200, TimeUnit.MILLISECONDS).get(10, TimeUnit.SECONDS); // twenty intervals
        assertEquals(List.of(), List.copyOf(outcomes), "no round after close");
        release.countDown();
    }

    /** A new schedule replaces the old one: with a long interval no round comes soon. */
    @Test
    void aNewScheduleReplacesTheOld() throws Exception {
        targets.add(new BackendProber.Target(1, new RecordingKeystore()));
        prober.schedule(Duration.ofMillis(10), Duration.ofSeconds(10));
        next(1);
        prober.schedule(Duration.ofHours(1), Duration.ofSeconds(10));
        Thread.sleep(200); // let a round of the old schedule that had already started hand in its outcome
        outcomes.clear();
        assertNull(outcomes.poll(300, TimeUnit.MILLISECONDS), "the 10 ms schedule is gone");
    }

    private Outcome next(long id) throws InterruptedException {
        while (true) {
            Outcome o = outcomes.poll(10, TimeUnit.SECONDS);
            if (o == null) {
                throw new AssertionError("no probe outcome for backend " + id + " within 10 s");
            }
            if (o.id() == id) {
                return o;
            }
        }
    }
}
