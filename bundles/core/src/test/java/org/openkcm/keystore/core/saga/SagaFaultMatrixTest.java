package org.openkcm.keystore.core.saga;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeystoreException;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.journal.IntentJournal;
import org.openkcm.keystore.core.journal.JournalSettings;
import org.openkcm.keystore.core.reconcile.ReconcileReport;
import org.openkcm.keystore.core.reconcile.Reconciler;
import org.openkcm.keystore.sdk.FaultyKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore.Operation;

/**
 * The fault matrix: each multi-step operation, a fault injected at each of its steps in turn (before
 * the backend works, after it worked as a lost acknowledgement, once or for good), then the faults
 * removed and recovery run. Afterwards reconciliation must find zero orphans and zero missing keys,
 * no acknowledged key may be lost, and the journal must hold nothing open. Then the crash matrix:
 * the process "dies" (an Error no step catches, the journal abandoned unclosed) before, in and after
 * each step and in a compensation; a new journal and runner replay the file and recover.
 * Both matrices are printed with their counts.
 */
class SagaFaultMatrixTest {
    static final List<String> ROWS = new ArrayList<>();
    static int orphanTotal;
    static int lostTotal;

    @TempDir
    Path dir;

    enum Fault { BEFORE_ONCE, BEFORE_ALWAYS, AFTER_ONCE }

    /** Where a step's fault is injected. */
    record Injection(String step, String backend, Operation op) {
    }

    static final class Crash extends Error {
        Crash(String where) {
            super("simulated kill -9 at " + where);
        }
    }

    static final List<Injection> ROTATE = List.of(
            new Injection("store-next", "a", Operation.STORE),
            new Injection("deprecate-previous", "a", Operation.UPDATE));
    static final List<Injection> MIGRATE = List.of(
            new Injection("copy", "b", Operation.STORE),
            new Injection("verify", "b", Operation.RETRIEVE),
            new Injection("switch", "index", null),
            new Injection("delete-source", "a", Operation.DELETE));

    IntentJournal journal(String name) {
        return IntentJournal.open(JournalSettings.of(dir.resolve(name + ".log")), null);
    }

    @Test
    void faultAtEveryStepOfEveryOperationLeavesNoOrphanAndLosesNoAcknowledgedKey() {
        int runs = 0;
        for (Fault fault : Fault.values()) {
            for (Injection at : ROTATE) {
                runs++;
                Model m = new Model();
                IntentJournal j = journal("rotate-" + fault + "-" + at.step());
                SagaRunner runner = new SagaRunner(j, null).retries(3, Duration.ZERO);
                KeyId prev = m.storeInitial("r");
                inject(m, at, fault);
                SagaResult r = runner.run(m.rotate(), List.of(prev, prev.nextVersion()), Model.rotateParams(prev, 7));
                m.reset();
                RecoveryReport rec = runner.recover(List.of(m.rotate(), m.migrate()));
                boolean acknowledged = r.state() == SagaResult.State.COMMITTED;
                List<String> problems = check(m, j);
                // an acknowledged rotate has its next version ACTIVE and the previous one not ACTIVE
                if (acknowledged) {
                    assertEquals(KeyStatus.ACTIVE, m.a.retrieveKey(prev.nextVersion()).metadata().status());
                }
                if (r.tookEffect()) {
                    assertEquals(KeyStatus.DEPRECATED, m.a.retrieveKey(prev).metadata().status(),
                            "rolled forward: " + fault + " at " + at.step());
                } else {
                    assertEquals(KeyStatus.ACTIVE, m.a.retrieveKey(prev).metadata().status(), "compensated");
                    assertTrue(!m.known.containsKey(prev.nextVersion()));
                }
                row("rotate", at.step(), fault.toString(), r.state().toString(), rec.toString(), problems);
            }
            for (Injection at : MIGRATE) {
                runs++;
                Model m = new Model();
                IntentJournal j = journal("migrate-" + fault + "-" + at.step());
                SagaRunner runner = new SagaRunner(j, null).retries(3, Duration.ZERO);
                KeyId id = m.storeInitial("m");
                inject(m, at, fault);
                SagaResult r = runner.run(m.migrate(), List.of(id), Map.of("key", id.toString()));
                m.reset();
                RecoveryReport rec = runner.recover(List.of(m.rotate(), m.migrate()));
                List<String> problems = check(m, j);
                // exactly one readable copy, where the index says
                int copies = present(m.a, id) + present(m.b, id);
                if (copies != 1) {
                    problems.add(id + " has " + copies + " copies");
                }
                assertEquals(r.tookEffect() ? "b" : "a", m.known.get(id), fault + " at " + at.step());
                row("migrate", at.step(), fault.toString(), r.state().toString(), rec.toString(), problems);
            }
        }
        assertEquals(3 * (ROTATE.size() + MIGRATE.size()), runs);
        assertEquals(0, orphanTotal, String.join("\n", ROWS));
        assertEquals(0, lostTotal, String.join("\n", ROWS));
    }

    @Test
    void aCrashAtEveryPointOfEveryOperationIsRepairedAtTheNextStart() {
        int cases = 0;
        for (StepWatcher.When when : List.of(StepWatcher.When.BEFORE, StepWatcher.When.AFTER, StepWatcher.When.RECORDED)) {
            for (int k = 0; k < ROTATE.size(); k++) {
                cases++;
                Model m = new Model();
                KeyId prev = m.storeInitial("r");
                CrashOutcome c = crashAndRecover(m, m.rotate(), "rotate:" + k + ":" + when,
                        List.of(prev, prev.nextVersion()), Model.rotateParams(prev, 7), null);
                boolean next = present(m.a, prev.nextVersion()) == 1;
                KeyStatus prevStatus = m.a.retrieveKey(prev).metadata().status();
                // either the rotate happened entirely, or not at all
                if (next != (prevStatus == KeyStatus.DEPRECATED)) {
                    c.problems.add("half a rotate: next " + next + ", previous " + prevStatus);
                }
                row("rotate", ROTATE.get(k).step(), "kill -9 " + when.name().toLowerCase(), "-", c.recovery, c.problems);
            }
            for (int k = 0; k < MIGRATE.size(); k++) {
                cases++;
                Model m = new Model();
                KeyId id = m.storeInitial("m");
                CrashOutcome c = crashAndRecover(m, m.migrate(), "migrate:" + k + ":" + when, List.of(id),
                        Map.of("key", id.toString()), null);
                int copies = present(m.a, id) + present(m.b, id);
                if (copies != 1) {
                    c.problems.add(id + " has " + copies + " copies");
                }
                row("migrate", MIGRATE.get(k).step(), "kill -9 " + when.name().toLowerCase(), "-", c.recovery, c.problems);
            }
        }
        // a crash in the middle of compensating: the verify step fails for good, the process dies after
        // undoing it, before undoing the copy
        Model m = new Model();
        KeyId id = m.storeInitial("m");
        CrashOutcome c = crashAndRecover(m, m.migrate(), "migrate:1:compensate", List.of(id),
                Map.of("key", id.toString()), () -> m.b.failBefore(Operation.RETRIEVE, 1_000,
                        () -> new UnavailableException("injected")));
        row("migrate", "verify", "fails, kill -9 compensating", "-", c.recovery, c.problems);
        cases++;
        assertEquals(3 * (ROTATE.size() + MIGRATE.size()) + 1, cases);
        assertEquals(0, orphanTotal, String.join("\n", ROWS));
        assertEquals(0, lostTotal, String.join("\n", ROWS));
    }

    record CrashOutcome(String recovery, List<String> problems) {
    }

    private CrashOutcome crashAndRecover(Model m, Saga saga, String point, List<KeyId> keys, Map<String, String> params,
            Runnable fault) {
        Path file = dir.resolve(point.replace(':', '-') + ".log");
        IntentJournal dying = IntentJournal.open(JournalSettings.of(file), null);
        SagaRunner runner = new SagaRunner(dying, null).retries(1, Duration.ZERO)
                .watcher(CrashPoint.parse(point, where -> {
                    throw new Crash(where);
                }));
        if (fault != null) {
            fault.run();
        }
        boolean crashed = false;
        try {
            runner.run(saga, keys, params);
        } catch (Crash expected) {
            crashed = true;
        } catch (KeystoreException failed) {
            // the injected fault; the crash point may come later, in a compensation
        }
        assertTrue(crashed, "the crash point " + point + " was reached");
        m.reset();
        // the next process: the file as the dead one left it
        try (IntentJournal next = IntentJournal.open(JournalSettings.of(file), null)) {
            assertEquals(1, next.replay().unfinished().size(), point);
            RecoveryReport report = new SagaRunner(next, null).recover(List.of(m.rotate(), m.migrate()));
            List<String> problems = check(m, next);
            return new CrashOutcome(report.toString(), problems);
        } finally {
            dying.close();
        }
    }

    private static void inject(Model m, Injection at, Fault fault) {
        if (at.op() == null) {
            m.indexFailures = fault == Fault.BEFORE_ALWAYS ? 1_000 : 1;
            m.indexFailAfter = fault == Fault.AFTER_ONCE;
            return;
        }
        FaultyKeystore ks = m.backend(at.backend());
        Supplier<UnavailableException> failure = () -> new UnavailableException("injected at " + at.step());
        switch (fault) {
            case BEFORE_ONCE -> ks.failBefore(at.op(), 1, failure);
            case BEFORE_ALWAYS -> ks.failBefore(at.op(), 1_000, failure);
            case AFTER_ONCE -> ks.failAfter(at.op(), 1, failure);
        }
    }

    /** Reconciliation of both backends against the model's index, the journal closed out. */
    private static List<String> check(Model m, IntentJournal j) {
        List<String> problems = new ArrayList<>(m.lostKeys());
        lostTotal += problems.size();
        if (!j.unfinished().isEmpty()) {
            problems.add("open in the journal: " + j.unfinished());
        }
        Reconciler reconciler = new Reconciler(null, Clock.systemUTC());
        for (String name : List.of("a", "b")) {
            List<KeyId> knownThere = m.known.entrySet().stream().filter(e -> e.getValue().equals(name))
                    .map(Map.Entry::getKey).toList();
            ReconcileReport r = reconciler.reconcile(name, m.backend(name).delegate(), knownThere,
                    id -> name.equals(m.known.get(id)), j::unfinished, Duration.ZERO,
                org.openkcm.keystore.core.reconcile.AbandonedRecords.inMemory(), finding -> false);
            orphanTotal += r.unaccounted().size();
            if (!r.unaccounted().isEmpty() || !r.missing().isEmpty()) {
                problems.add(r.toString());
            }
        }
        return problems;
    }

    private static int present(FaultyKeystore ks, KeyId id) {
        try {
            ks.delegate().retrieveKey(id);
            return 1;
        } catch (KeystoreException e) {
            return 0;
        }
    }

    private static void row(String op, String step, String fault, String outcome, String recovery, List<String> problems) {
        ROWS.add(String.format("| %-8s | %-18s | %-28s | %-20s | %-62s | %s |", op, step, fault, outcome, recovery,
                problems.isEmpty() ? "ok" : problems));
    }

    @AfterAll
    static void print() {
        StringBuilder out = new StringBuilder("\nFault and crash matrix (" + ROWS.size() + " cases)\n");
        out.append(String.format("| %-8s | %-18s | %-28s | %-20s | %-62s | %s |%n", "op", "step", "fault", "outcome",
                "recovery", "check"));
        ROWS.forEach(r -> out.append(r).append('\n'));
        out.append("orphans: ").append(orphanTotal).append(", lost acknowledged keys: ").append(lostTotal).append('\n');
        System.out.println(out);
    }
}
