package org.openkcm.keystore.core.saga;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeystoreException;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.journal.IntentJournal;
import org.openkcm.keystore.core.journal.JournalSettings;
import org.openkcm.keystore.core.reconcile.ReconcileReport;
import org.openkcm.keystore.core.reconcile.Reconciler;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore.Operation;
import org.openkcm.keystore.sdk.SampleKeys;

/**
 * The keystore's own saga definitions, over a fault-injecting memory backend: a fault at each step
 * (before the backend works, after it as a lost acknowledgement, once or for good) and a kill at
 * each point of each step; then recovery, then reconciliation. Printed as a table.
 */
class KeystoreSagasTest {
    static final List<String> ROWS = new ArrayList<>();
    static int orphans;
    static int lost;

    @TempDir
    Path dir;

    /**
     * The keystore the sagas are given: a fault-injecting memory backend (in the runtime, the
     * sealing layer over the routing layer), and a re-wrap that counts its runs.
     */
    static final class TestPort {
        final FaultyKeystore backend = new FaultyKeystore(new MemoryKeystore());
        final AtomicInteger rewraps = new AtomicInteger();

        KeystoreSagas sagas() {
            return new KeystoreSagas(backend, target -> rewraps.incrementAndGet(), Instant::now, () -> null);
        }

        KeyId put(String name, int version) {
            KeyId id = KeyId.of(name, version);
            backend.delegate().storeKey(id, SampleKeys.sealed(64, name.hashCode() + version),
                    SampleKeys.minimal(id).build());
            return id;
        }

        boolean has(KeyId id) {
            try {
                backend.delegate().retrieveKey(id);
                return true;
            } catch (KeystoreException e) {
                return false;
            }
        }

        List<StoredKey> records(List<KeyId> ids) {
            return ids.stream().map(id -> backend.delegate().retrieveKey(id)).toList();
        }

        Set<KeyId> held() {
            Set<KeyId> out = new java.util.HashSet<>();
            backend.delegate().listKeys(KeyFilter.all()).keys().forEach(m -> out.add(m.id()));
            return out;
        }
    }

    static StoredKey record(KeyId id, KeyId parent, long seed) {
        return StoredKey.of(SampleKeys.sealed(64, seed), SampleKeys.minimal(id).parent(parent).build());
    }

    /** One operation as a test case: its setup, its run, the keys it acknowledges. */
    interface Case {
        String kind();

        List<String> steps();

        /** Where a fault at each step is injected. */
        Operation faultAt(int step);

        /** Runs the operation; returns the keys the backend must hold afterwards if it took effect, and if not. */
        SagaResult run(TestPort port, SagaRunner runner);

        Set<KeyId> expectedIfTookEffect(TestPort port);

        Set<KeyId> expectedIfNot(TestPort port);
    }

    static final class Rotate implements Case {
        final KeyId previous = KeyId.of("r", 1);
        final KeyId next = previous.nextVersion();
        final StoredKey record = record(next, null, 99);

        public String kind() {
            return KeystoreSagas.ROTATE;
        }

        public List<String> steps() {
            return List.of("store-next", "deprecate-previous");
        }

        public Operation faultAt(int step) {
            return step == 0 ? Operation.STORE : Operation.UPDATE;
        }

        public SagaResult run(TestPort port, SagaRunner runner) {
            port.put("r", 1);
            return runner.run(port.sagas().rotate(), List.of(previous, next),
                    KeystoreSagas.rotateParams(port.backend.delegate().retrieveKey(previous).metadata(), record), Map.of(KeystoreSagas.RECORD, record));
        }

        public Set<KeyId> expectedIfTookEffect(TestPort port) {
            assertEquals(KeyStatus.DEPRECATED, port.backend.delegate().retrieveKey(previous).metadata().status());
            return Set.of(previous, next);
        }

        public Set<KeyId> expectedIfNot(TestPort port) {
            assertEquals(KeyStatus.ACTIVE, port.backend.delegate().retrieveKey(previous).metadata().status());
            return Set.of(previous);
        }
    }

    static final class Generate implements Case {
        final KeyId parent = KeyId.of("parent", 1);
        final KeyId child = KeyId.of("child", 1);
        final StoredKey record = record(child, parent, 7);

        public String kind() {
            return KeystoreSagas.GENERATE;
        }

        public List<String> steps() {
            return List.of("store", "check-parent");
        }

        public Operation faultAt(int step) {
            return step == 0 ? Operation.STORE : Operation.RETRIEVE;
        }

        public SagaResult run(TestPort port, SagaRunner runner) {
            port.put("parent", 1);
            return runner.run(port.sagas().generate(), List.of(child),
                    KeystoreSagas.generateParams(parent, record), Map.of(KeystoreSagas.RECORD, record));
        }

        public Set<KeyId> expectedIfTookEffect(TestPort port) {
            return Set.of(parent, child);
        }

        public Set<KeyId> expectedIfNot(TestPort port) {
            return Set.of(parent);
        }
    }

    static final class DeleteAll implements Case {
        public String kind() {
            return KeystoreSagas.DELETE_ALL;
        }

        public List<String> steps() {
            return List.of("delete-versions");
        }

        public Operation faultAt(int step) {
            return Operation.DELETE;
        }

        public SagaResult run(TestPort port, SagaRunner runner) {
            List<KeyId> versions = List.of(port.put("d", 1), port.put("d", 2), port.put("d", 3));
            port.put("other", 1);
            return runner.run(port.sagas().deleteAllVersions(), versions,
                    KeystoreSagas.deleteAllParams("d", port.records(versions)));
        }

        public Set<KeyId> expectedIfTookEffect(TestPort port) {
            return Set.of(KeyId.of("other", 1));
        }

        public Set<KeyId> expectedIfNot(TestPort port) {
            return Set.of(KeyId.of("other", 1)); // it always goes forward once begun
        }
    }

    @Test
    void aFaultAtEveryStepLeavesTheBackendExactlyAsAcknowledged() {
        for (Case c : List.of(new Rotate(), new Generate(), new DeleteAll())) {
            for (int step = 0; step < c.steps().size(); step++) {
                for (String fault : List.of("before once", "before always", "after once")) {
                    TestPort port = new TestPort();
                    SagaRunner runner = new SagaRunner(journal(c.kind() + step + fault), null).retries(3, Duration.ZERO);
                    Operation op = c.faultAt(step);
                    java.util.function.Supplier<UnavailableException> failure = () -> new UnavailableException("injected");
                    // the fault arms after the setup's own writes
                    Case armed = new Armed(c, () -> {
                        switch (fault) {
                            case "before once" -> port.backend.failBefore(op, 1, failure);
                            case "before always" -> port.backend.failBefore(op, 1_000, failure);
                            default -> port.backend.failAfter(op, 1, failure);
                        }
                    });
                    SagaResult r = armed.run(port, runner);
                    port.backend.reset();
                    RecoveryReport rec = runner.recover(port.sagas().definitions());
                    check(c, step, fault, r, rec, port, runner.journal());
                }
            }
        }
        assertEquals(0, orphans, String.join("\n", ROWS));
        assertEquals(0, lost, String.join("\n", ROWS));
    }

    @Test
    void aKillAtEveryPointOfEveryStepIsRepairedAtTheNextStart() {
        for (Case c : List.of(new Rotate(), new Generate(), new DeleteAll())) {
            for (int step = 0; step < c.steps().size(); step++) {
                for (StepWatcher.When when : List.of(StepWatcher.When.BEFORE, StepWatcher.When.AFTER,
                        StepWatcher.When.RECORDED)) {
                    TestPort port = new TestPort();
                    Path file = dir.resolve(c.kind() + "-" + step + "-" + when + ".log");
                    IntentJournal dying = IntentJournal.open(JournalSettings.of(file), null);
                    SagaRunner runner = new SagaRunner(dying, null).watcher(CrashPoint.parse(
                            c.kind() + ":" + step + ":" + when, w -> {
                                throw new SagaFaultMatrixTest.Crash(w);
                            }));
                    assertThrows(SagaFaultMatrixTest.Crash.class, () -> c.run(port, runner));
                    try (IntentJournal next = IntentJournal.open(JournalSettings.of(file), null)) {
                        SagaRunner restarted = new SagaRunner(next, null);
                        RecoveryReport rec = restarted.recover(port.sagas().definitions());
                        SagaResult.State end = rec.entries().get(0).state();
                        check(c, step, "kill -9 " + when.name().toLowerCase(),
                                new SagaResult(null, end, -1, null), rec, port, next);
                    } finally {
                        dying.close();
                    }
                }
            }
        }
        assertEquals(0, orphans, String.join("\n", ROWS));
        assertEquals(0, lost, String.join("\n", ROWS));
    }

    @Test
    void aKekRewrapInterruptedByAKillIsRunAgainAtTheNextStart() {
        TestPort port = new TestPort();
        Path file = dir.resolve("rewrap.log");
        IntentJournal dying = IntentJournal.open(JournalSettings.of(file), null);
        SagaRunner runner = new SagaRunner(dying, null).watcher(CrashPoint.parse("kek-rewrap:0:after", w -> {
            throw new SagaFaultMatrixTest.Crash(w);
        }));
        assertThrows(SagaFaultMatrixTest.Crash.class,
                () -> runner.run(port.sagas().kekRewrap(), List.of(), Map.of()));
        try (IntentJournal next = IntentJournal.open(JournalSettings.of(file), null)) {
            new SagaRunner(next, null).recover(port.sagas().definitions());
            assertEquals(2, port.rewraps.get());
            assertTrue(next.unfinished().isEmpty());
        } finally {
            dying.close();
        }
    }

    @Test
    void aCompensationNeverRemovesARecordThatIsNotItsOwn() {
        // a concurrent caller stored r:2 with another record: our store is refused, and undoing it must not delete theirs
        TestPort port = new TestPort();
        KeyId previous = port.put("r", 1);
        KeyId next = port.put("r", 2);
        StoredKey ours = record(next, null, 12345);
        SagaResult r = new SagaRunner(IntentJournal.inMemory(), null).run(port.sagas().rotate(),
                List.of(previous, next), KeystoreSagas.rotateParams(port.backend.delegate().retrieveKey(previous).metadata(), ours),
                Map.of(KeystoreSagas.RECORD, ours));
        assertEquals(SagaResult.State.COMPENSATED, r.state());
        assertTrue(port.has(next), "their r:2 is still there");
        assertEquals(KeyStatus.ACTIVE, port.backend.delegate().retrieveKey(previous).metadata().status());
    }

    @Test
    void aChildOfARetiredParentIsRemovedAndRefused() {
        TestPort port = new TestPort();
        KeyId parent = port.put("parent", 1);
        KeyMetadata m = port.backend.retrieveKey(parent).metadata();
        port.backend.updateKeyMetadata(parent, m.toBuilder().status(KeyStatus.RETIRED).revision(2).build());
        KeyId child = KeyId.of("child", 1);
        StoredKey record = record(child, parent, 3);
        SagaResult r = new SagaRunner(IntentJournal.inMemory(), null).run(port.sagas().generate(),
                List.of(child), KeystoreSagas.generateParams(parent, record),
                Map.of(KeystoreSagas.RECORD, record));
        assertEquals(SagaResult.State.COMPENSATED, r.state());
        assertTrue(r.failure() instanceof org.openkcm.keystore.api.PolicyRefusedException);
        assertTrue(!port.has(child));
    }

    /** A case whose fault is armed after its setup. */
    private record Armed(Case c, Runnable arm) implements Case {
        public String kind() {
            return c.kind();
        }

        public List<String> steps() {
            return c.steps();
        }

        public Operation faultAt(int step) {
            return c.faultAt(step);
        }

        public SagaResult run(TestPort port, SagaRunner runner) {
            arm.run(); // the setup's writes go to the delegate (put): only the saga's calls meet the fault
            return c.run(port, runner);
        }

        public Set<KeyId> expectedIfTookEffect(TestPort port) {
            return c.expectedIfTookEffect(port);
        }

        public Set<KeyId> expectedIfNot(TestPort port) {
            return c.expectedIfNot(port);
        }
    }

    private IntentJournal journal(String name) {
        return IntentJournal.open(JournalSettings.of(dir.resolve(name.replace(' ', '-') + ".log")), null);
    }

    private static void check(Case c, int step, String fault, SagaResult r, RecoveryReport rec, TestPort port,
            IntentJournal journal) {
        List<String> problems = new ArrayList<>();
        if (!journal.unfinished().isEmpty()) {
            problems.add("still open: " + journal.unfinished());
        }
        boolean tookEffect = r.tookEffect()
                || rec.entries().stream().anyMatch(e -> e.state() == SagaResult.State.COMMITTED);
        Set<KeyId> expected = tookEffect ? c.expectedIfTookEffect(port) : c.expectedIfNot(port);
        Set<KeyId> held = port.held();
        ReconcileReport report = new Reconciler(null, Clock.systemUTC()).reconcile("memory", port.backend.delegate(),
                expected, expected::contains, journal::unfinished, Duration.ZERO,
                org.openkcm.keystore.core.reconcile.AbandonedRecords.inMemory(), finding -> false);
        orphans += report.unaccounted().size();
        lost += report.missing().size();
        if (!held.equals(expected)) {
            problems.add("held " + held + ", expected " + expected);
        }
        ROWS.add(String.format("| %-19s | %-18s | %-16s | %-20s | %-9s | %7d | %4d | %s |", c.kind(),
                c.steps().get(step), fault, r.state(), tookEffect ? "yes" : "no", report.unaccounted().size(),
                report.missing().size(), problems.isEmpty() ? "ok" : problems));
        assertTrue(problems.isEmpty(), ROWS.get(ROWS.size() - 1));
    }

    @AfterAll
    static void print() {
        StringBuilder out = new StringBuilder("\nKeystore sagas: fault and kill matrix (" + ROWS.size() + " cases)\n");
        out.append(String.format("| %-19s | %-18s | %-16s | %-20s | %-9s | %7s | %4s | %s |%n", "operation", "step",
                "fault", "outcome", "effect", "orphans", "lost", "check"));
        ROWS.forEach(r -> out.append(r).append('\n'));
        out.append("orphans: ").append(orphans).append(", lost acknowledged keys: ").append(lost).append('\n');
        System.out.println(out);
    }
}
