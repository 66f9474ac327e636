package org.openkcm.keystore.core.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.core.migration.Migrator;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.MigrationReport;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.journal.IntentJournal;
import org.openkcm.keystore.core.journal.JournalSettings;
import org.openkcm.keystore.core.operations.DefaultKeystoreOperations;
import org.openkcm.keystore.core.reconcile.ReconcileReport;
import org.openkcm.keystore.core.reconcile.Reconciler;
import org.openkcm.keystore.core.saga.CrashPoint;
import org.openkcm.keystore.core.saga.RecoveryReport;
import org.openkcm.keystore.core.saga.SagaResult;
import org.openkcm.keystore.core.saga.SagaRunner;
import org.openkcm.keystore.core.saga.StepWatcher;
import org.openkcm.keystore.core.testing.TestKeks;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore.Operation;

/**
 * The migrate saga (one key's move: copy-to-target, verify-target, switch-location, delete-source)
 * over two fault-injecting memory backends and the intent journal: a fault at each step (before the
 * backend works, once or for good, and after it as a lost acknowledgement), and a kill at each point
 * of each step followed by recovery from the journal file alone. Afterwards the key is held exactly
 * once, where the location index points, readable, and reconciliation of both backends finds no
 * orphan and no missing key. Printed as a table.
 */
class MigrateSagaTest {
    static final List<String> ROWS = new ArrayList<>();
    static final List<String> STEPS = List.of("copy-to-target", "verify-target", "switch-location", "delete-source");
    static int orphans;
    static int lost;

    @TempDir
    Path dir;

    static final class Crash extends Error {
        private static final long serialVersionUID = 1L;

        Crash(String where) {
            super("simulated kill -9 at " + where);
        }
    }

    /** Two backends, a key at the source, a route that sends it to the target. */
    static final class World {
        final FaultyKeystore src = new FaultyKeystore(new MemoryKeystore());
        final FaultyKeystore dst = new FaultyKeystore(new MemoryKeystore());
        final RoutingTable router;
        final DefaultKeystoreOperations ops;
        final KeyId key;
        final KeyId stays;
        final Set<KeyId> forgotten = ConcurrentHashMap.newKeySet();
        volatile RuntimeException switchFault;
        volatile boolean switchFaultAfter;
        volatile int switchFaults;

        World(Path index) {
            router = new RoutingTable(new RoutingTable.Settings("src", Duration.ZERO, Duration.ofMinutes(1), 3),
                    LocationIndex.open(index), Runnable::run, RoutingTableTest.QUIET);
            router.put(RoutingTableTest.reg(1, "src", 0, src));
            router.put(RoutingTableTest.reg(2, "dst", 0, dst));
            ops = DefaultKeystoreOperations.of(router, List.<KekProvider>of(TestKeks.fixed("test", 1)));
            key = ops.generate(MigratorTest.spec("moving", "acme")).id();
            stays = ops.generate(MigratorTest.spec("staying", "zeta")).id();
            router.putRoute("acme", Route.of("acme", new String[0], "TENANT", "acme", null, null, 0, "dst"), null);
        }

        Migrator migrator(SagaRunner runner) {
            return new Migrator(router, ops.envelope(), null, (id, tier, from, to) -> {
                if (switchFaults > 0) {
                    switchFaults--;
                    if (switchFaultAfter) {
                        router.index().put(id, to);
                    }
                    throw switchFault;
                }
                router.index().put(id, to);
                return to;
            }, runner, forgotten::add);
        }

        MigrationReport migrate(SagaRunner runner) {
            return migrator(runner).run(KeyFilter.builder().owner(Owner.tenant("acme")).build(), null);
        }

        void arm(int step, String fault) {
            Supplier<UnavailableException> failure = () -> new UnavailableException("injected");
            int times = fault.equals("before always") ? 1_000 : 1;
            boolean after = fault.startsWith("after");
            if (step == 2) {
                switchFault = failure.get();
                switchFaultAfter = after;
                switchFaults = times;
                return;
            }
            FaultyKeystore at = step == 3 ? src : dst;
            Operation op = switch (step) {
                case 0 -> Operation.STORE;
                case 1 -> Operation.RETRIEVE;
                default -> Operation.DELETE;
            };
            if (after) {
                at.failAfter(op, times, failure);
            } else {
                at.failBefore(op, times, failure);
            }
        }

        void reset() {
            src.reset();
            dst.reset();
            switchFaults = 0;
        }
    }

    @Test
    void aFaultAtEveryStepLeavesTheKeyExactlyOnceAndNoOrphan() {
        for (int step = 0; step < STEPS.size(); step++) {
            for (String fault : List.of("before once", "before always", "after once")) {
                World w = new World(dir.resolve("index-" + step + fault.replace(' ', '-')));
                SagaRunner runner = new SagaRunner(IntentJournal.open(JournalSettings.of(
                        dir.resolve("fault-" + step + fault.replace(' ', '-') + ".log")), null), null)
                        .retries(3, Duration.ZERO);
                w.arm(step, fault);
                MigrationReport report = w.migrate(runner);
                w.reset();
                RecoveryReport rec = runner.recover(List.of(Migrator.saga(w.router, w.forgotten::add)));
                String outcome = report.moved() == 1 ? "moved" : "failed: " + report.failed().values().iterator().next();
                check(w, step, fault, outcome.length() > 60 ? outcome.substring(0, 60) + "…" : outcome, rec,
                        runner.journal());
                assertEquals(1, report.examined());
                assertTrue(w.forgotten.contains(w.key), "the key's cache entries are forgotten");
            }
        }
        assertEquals(0, orphans, String.join("\n", ROWS));
        assertEquals(0, lost, String.join("\n", ROWS));
    }

    @Test
    void aKillAtEveryPointOfEveryStepIsRepairedAtTheNextStart() {
        for (int step = 0; step < STEPS.size(); step++) {
            for (StepWatcher.When when : List.of(StepWatcher.When.BEFORE, StepWatcher.When.AFTER,
                    StepWatcher.When.RECORDED)) {
                World w = new World(dir.resolve("index-kill-" + step + when));
                Path file = dir.resolve("migrate-" + step + "-" + when + ".log");
                IntentJournal dying = IntentJournal.open(JournalSettings.of(file), null);
                SagaRunner runner = new SagaRunner(dying, null).watcher(
                        CrashPoint.parse(Migrator.MIGRATE + ":" + STEPS.get(step) + ":" + when, where -> {
                            throw new Crash(where);
                        }));
                assertThrows(Crash.class, () -> w.migrate(runner));
                try (IntentJournal next = IntentJournal.open(JournalSettings.of(file), null)) {
                    assertEquals(1, next.unfinished().size(), "the journal holds the interrupted move");
                    RecoveryReport rec = new SagaRunner(next, null)
                            .recover(List.of(Migrator.saga(w.router, w.forgotten::add)));
                    check(w, step, "kill -9 " + when.name().toLowerCase(), rec.entries().get(0).state().toString(),
                            rec, next);
                } finally {
                    dying.close();
                }
            }
        }
        assertEquals(0, orphans, String.join("\n", ROWS));
        assertEquals(0, lost, String.join("\n", ROWS));
    }

    @Test
    void recoveryNeverDeletesARecordStoredAtTheSourceSinceTheCopy() {
        World w = new World(dir.resolve("index-source-again"));
        Path file = dir.resolve("migrate-source-again.log");
        IntentJournal dying = IntentJournal.open(JournalSettings.of(file), null);
        // killed once the switch is recorded, before the source is deleted
        SagaRunner runner = new SagaRunner(dying, null).watcher(CrashPoint.parse(Migrator.MIGRATE
                + ":delete-source:before", where -> {
                    throw new Crash(where);
                }));
        assertThrows(Crash.class, () -> w.migrate(runner));
        dying.close();
        // meanwhile another writer on the source backend stores a record of its own under the same id
        org.openkcm.keystore.api.StoredKey theirs = org.openkcm.keystore.api.StoredKey.of(
                org.openkcm.keystore.sdk.SampleKeys.sealed(64, 77), w.src.delegate().retrieveKey(w.key).metadata());
        w.src.delegate().deleteKey(w.key);
        w.src.delegate().storeKey(w.key, theirs.sealed(), theirs.metadata());
        try (IntentJournal next = IntentJournal.open(JournalSettings.of(file), null)) {
            RecoveryReport rec = new SagaRunner(next, null).recover(List.of(Migrator.saga(w.router, w.forgotten::add)));
            assertEquals(SagaResult.State.COMMITTED, rec.entries().get(0).state(), rec.toString());
        }
        assertEquals(theirs, w.src.delegate().retrieveKey(w.key), "their record at the source is left alone");
        assertEquals("dst", w.router.index().get(w.key), "the moved key lives at the target");
        try (KeyMaterial m = w.ops.get(w.key)) {
            assertEquals(32, m.copyBytes().length);
        }
    }

    @Test
    void theCopyIsNeverRemovedIfItIsNotOurs() {
        World w = new World(dir.resolve("index-theirs"));
        // the target already holds another record under the key's id (another runtime stored it)
        KeyId id = w.key;
        w.dst.delegate().storeKey(id, org.openkcm.keystore.sdk.SampleKeys.sealed(64, 5),
                w.src.delegate().retrieveKey(id).metadata());
        MigrationReport report = w.migrate(new SagaRunner(IntentJournal.inMemory(), null));
        assertEquals(1, report.failed().size());
        assertEquals(1, MigratorTest.copies(w.dst, id), "theirs is left as it is");
        assertEquals(1, MigratorTest.copies(w.src, id), "the key stays where it was");
        assertEquals("src", w.router.index().get(id));
    }

    private static void check(World w, int step, String fault, String outcome, RecoveryReport rec,
            IntentJournal journal) {
        List<String> problems = new ArrayList<>();
        if (!journal.unfinished().isEmpty()) {
            problems.add("still open: " + journal.unfinished());
        }
        int atSrc = MigratorTest.copies(w.src, w.key);
        int atDst = MigratorTest.copies(w.dst, w.key);
        if (atSrc + atDst != 1) {
            problems.add("copies: src " + atSrc + ", dst " + atDst);
        }
        String location = w.router.index().get(w.key);
        if (!(atDst == 1 ? "dst" : "src").equals(location)) {
            problems.add("the index points at " + location);
        }
        try (KeyMaterial m = w.ops.get(w.key)) {
            if (m.copyBytes().length != 32) {
                problems.add("wrong material length");
            }
        } catch (RuntimeException e) {
            problems.add("unreadable: " + e);
        }
        if (MigratorTest.copies(w.src, w.stays) != 1) {
            problems.add("the key the route does not take moved");
        }
        int o = 0;
        int m = 0;
        Reconciler reconciler = new Reconciler(null, Clock.systemUTC());
        for (String name : List.of("src", "dst")) {
            FaultyKeystore backend = name.equals("src") ? w.src : w.dst;
            ReconcileReport r = reconciler.reconcile(name, backend.delegate(), w.router.index().keysIn(name),
                    id -> name.equals(w.router.index().get(id)), journal::unfinished, Duration.ZERO,
                org.openkcm.keystore.core.reconcile.AbandonedRecords.inMemory(), finding -> false);
            o += r.unaccounted().size();
            m += r.missing().size();
        }
        orphans += o;
        lost += m;
        ROWS.add(String.format("| %-16s | %-16s | %-64s | %-10s | %7d | %4d | %s |", STEPS.get(step), fault, outcome,
                atDst == 1 ? "target" : "source", o, m, problems.isEmpty() ? "ok" : problems));
        assertTrue(problems.isEmpty(), ROWS.get(ROWS.size() - 1) + " recovery: " + rec);
    }

    @AfterAll
    static void print() {
        StringBuilder out = new StringBuilder("\nMigrate saga: fault and kill matrix (" + ROWS.size() + " cases)\n");
        out.append(String.format("| %-16s | %-16s | %-64s | %-10s | %7s | %4s | %s |%n", "step", "fault",
                "outcome", "key at", "orphans", "lost", "check"));
        ROWS.forEach(r -> out.append(r).append('\n'));
        out.append("orphans: ").append(orphans).append(", lost acknowledged keys: ").append(lost).append('\n');
        System.out.println(out);
    }
}
