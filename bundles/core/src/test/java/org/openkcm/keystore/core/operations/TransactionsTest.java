package org.openkcm.keystore.core.operations;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.ConflictException;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeystoreException;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.cache.CacheSettings;
import org.openkcm.keystore.core.cache.KeyCache;
import org.openkcm.keystore.core.journal.IntentJournal;
import org.openkcm.keystore.core.journal.JournalSettings;
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
 * The multi-step operations of KeystoreOperations under faults, kills and concurrency, checked by
 * reconciliation against what was acknowledged. The fault and kill matrices are printed.
 */
class TransactionsTest {
    static final List<String> ROWS = new ArrayList<>();
    static int orphans;
    static int lost;

    @TempDir
    Path dir;

    final TestKeks.Fixed kek = TestKeks.fixed("test", 1);

    static final class Crash extends Error {
        Crash(String where) {
            super("simulated kill -9 at " + where);
        }
    }

    /** One multi-step operation: its setup, its call, the keys expected after it took effect or not. */
    enum Op {
        ROTATE("rotate", List.of("store-next", "deprecate-previous"), List.of(Operation.STORE, Operation.UPDATE)),
        GENERATE("generate", List.of("store", "check-parent"), List.of(Operation.STORE, Operation.RETRIEVE)),
        DELETE_ALL("delete-all-versions", List.of("delete-versions"), List.of(Operation.DELETE));

        final String kind;
        final List<String> steps;
        final List<Operation> faults;

        Op(String kind, List<String> steps, List<Operation> faults) {
            this.kind = kind;
            this.steps = steps;
            this.faults = faults;
        }

        Set<KeyId> setUp(DefaultKeystoreOperations ops) {
            Set<KeyId> keys = new TreeSet<>();
            keys.add(ops.generate(Fixture.spec("other").build()).id());
            switch (this) {
                case ROTATE -> keys.add(ops.generate(Fixture.spec("r").build()).id());
                case GENERATE -> keys.add(ops.generate(Fixture.spec("parent").type(org.openkcm.keystore.api.KeyType.L3)
                        .build()).id());
                case DELETE_ALL -> {
                    keys.add(ops.generate(Fixture.spec("d").build()).id());
                    keys.add(ops.rotate("d").id());
                    keys.add(ops.rotate("d").id());
                }
            }
            return keys;
        }

        void call(DefaultKeystoreOperations ops) {
            switch (this) {
                case ROTATE -> ops.rotate("r");
                case GENERATE -> ops.generate(Fixture.spec("child").parent(KeyId.of("parent", 1)).build());
                case DELETE_ALL -> ops.deleteAllVersions("d");
            }
        }

        Set<KeyId> after(Set<KeyId> before) {
            Set<KeyId> keys = new TreeSet<>(before);
            switch (this) {
                case ROTATE -> keys.add(KeyId.of("r", 2));
                case GENERATE -> keys.add(KeyId.of("child", 1));
                case DELETE_ALL -> keys.removeIf(id -> id.name().equals("d"));
            }
            return keys;
        }

        /** Extra checks on the state reached. */
        void check(FaultyKeystore backend, boolean tookEffect, List<String> problems) {
            if (this == ROTATE) {
                KeyStatus previous = backend.delegate().retrieveKey(KeyId.of("r", 1)).metadata().status();
                KeyStatus expected = tookEffect ? KeyStatus.DEPRECATED : KeyStatus.ACTIVE;
                if (previous != expected) {
                    problems.add("r:1 is " + previous + ", expected " + expected);
                }
            }
        }
    }

    DefaultKeystoreOperations ops(FaultyKeystore backend) {
        return DefaultKeystoreOperations.of(backend, List.<KekProvider>of(kek));
    }

    @Test
    void aFaultAtEveryStepOfEveryOperationLeavesNoOrphanAndLosesNoAcknowledgedKey() {
        for (Op op : Op.values()) {
            for (int step = 0; step < op.steps.size(); step++) {
                for (String fault : List.of("before once", "before always", "after once")) {
                    FaultyKeystore backend = new FaultyKeystore(new MemoryKeystore());
                    KeyCache cache = new KeyCache(CacheSettings.defaults());
                    IntentJournal journal = IntentJournal.open(JournalSettings.of(dir.resolve(op + "-" + step + "-"
                            + fault.replace(' ', '-') + ".log")), null);
                    DefaultKeystoreOperations ops = ops(backend).cache(cache)
                            .runner(new SagaRunner(journal, null).retries(3, Duration.ZERO));
                    Set<KeyId> before = op.setUp(ops);
                    Operation target = op.faults.get(step);
                    Supplier<UnavailableException> failure = () -> new UnavailableException("injected");
                    switch (fault) {
                        case "before once" -> backend.failBefore(target, 1, failure);
                        case "before always" -> backend.failBefore(target, 1_000, failure);
                        default -> backend.failAfter(target, 1, failure);
                    }
                    String outcome;
                    boolean acknowledged;
                    try {
                        op.call(ops);
                        outcome = "acknowledged";
                        acknowledged = true;
                    } catch (KeystoreException e) {
                        outcome = "refused: " + e.getClass().getSimpleName();
                        acknowledged = false;
                    }
                    backend.reset();
                    RecoveryReport recovery = ops.recover();
                    boolean tookEffect = acknowledged || recovery.count(SagaResult.State.COMMITTED) > 0;
                    row(op, step, fault, outcome, recovery, backend, journal, tookEffect ? op.after(before) : before,
                            tookEffect, acknowledged ? op.after(before) : before);
                    cache.close();
                    journal.close();
                }
            }
        }
        assertEquals(0, orphans, String.join("\n", ROWS));
        assertEquals(0, lost, String.join("\n", ROWS));
    }

    @Test
    void aKillAtEveryPointOfEveryOperationIsRepairedAtTheNextStart() {
        for (Op op : Op.values()) {
            for (int step = 0; step < op.steps.size(); step++) {
                for (StepWatcher.When when : List.of(StepWatcher.When.BEFORE, StepWatcher.When.AFTER,
                        StepWatcher.When.RECORDED)) {
                    FaultyKeystore backend = new FaultyKeystore(new MemoryKeystore()); // survives the "process"
                    Path file = dir.resolve(op + "-" + step + "-" + when + ".log");
                    IntentJournal dying = IntentJournal.open(JournalSettings.of(file), null);
                    DefaultKeystoreOperations first = ops(backend).runner(new SagaRunner(dying, null)
                            .watcher(CrashPoint.parse(op.kind + ":" + step + ":" + when, w -> {
                                throw new Crash(w);
                            })));
                    Set<KeyId> before = op.setUp(first);
                    boolean crashed = false;
                    try {
                        op.call(first);
                    } catch (Crash expected) {
                        crashed = true;
                    }
                    assertTrue(crashed, op + " " + step + " " + when);
                    // the next process: the same backend, the journal file as the dead one left it
                    try (IntentJournal next = IntentJournal.open(JournalSettings.of(file), null)) {
                        DefaultKeystoreOperations restarted = ops(backend).journal(next);
                        RecoveryReport recovery = restarted.recover();
                        boolean tookEffect = recovery.count(SagaResult.State.COMMITTED) > 0;
                        row(op, step, "kill -9 " + when.name().toLowerCase(), "-", recovery, backend, next,
                                tookEffect ? op.after(before) : before, tookEffect, before);
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
    void manyThreadsRotatingUpdatingAndReadingLoseNothingAndNeverReadStale() throws Exception {
        FaultyKeystore backend = new FaultyKeystore(new MemoryKeystore());
        KeyCache cache = new KeyCache(CacheSettings.defaults());
        DefaultKeystoreOperations ops = ops(backend).cache(cache);
        ops.generate(Fixture.spec("hot").build());
        Map<KeyId, Long> acknowledged = new ConcurrentHashMap<>();
        Map<KeyId, AtomicInteger> tagUpdates = new ConcurrentHashMap<>();
        AtomicInteger rotates = new AtomicInteger();
        List<String> violations = java.util.Collections.synchronizedList(new ArrayList<>());
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService pool = Executors.newFixedThreadPool(10);
        List<Future<?>> running = new ArrayList<>();
        try {
            for (int t = 0; t < 2; t++) {
                running.add(pool.submit(() -> {
                    while (!stop.get()) {
                        try {
                            KeyMetadata created = ops.rotate("hot");
                            rotates.incrementAndGet();
                            acknowledged.merge(created.id(), created.revision(), Math::max);
                            Thread.sleep(5);
                        } catch (ConflictException | org.openkcm.keystore.api.KeyExistsException contended) {
                            // gave up after its attempts: not acknowledged
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                }));
            }
            for (int t = 0; t < 4; t++) {
                int thread = t;
                running.add(pool.submit(() -> {
                    int n = 0;
                    while (!stop.get()) {
                        KeyId newest = newest(backend);
                        try {
                            KeyMetadata current = ops.metadata(newest);
                            KeyMetadata saved = ops.changeTags(newest, Map.of("by", thread + "-" + n++),
                                    current.revision());
                            tagUpdates.computeIfAbsent(newest, k -> new AtomicInteger()).incrementAndGet();
                            acknowledged.merge(newest, saved.revision(), Math::max);
                        } catch (ConflictException raced) {
                            // another writer came first: not acknowledged
                        } catch (org.openkcm.keystore.api.KeyNotFoundException gone) {
                            unacknowledgedOrLost(newest, acknowledged, violations);
                        }
                    }
                }));
            }
            for (int t = 0; t < 4; t++) {
                running.add(pool.submit(() -> {
                    while (!stop.get()) {
                        KeyId newest = newest(backend);
                        Long floor = acknowledged.get(newest);
                        try {
                            KeyMetadata seen = ops.metadata(newest);
                            if (floor != null && seen.revision() < floor) {
                                violations.add(newest + ": read revision " + seen.revision() + " after " + floor
                                        + " was acknowledged");
                            }
                            ops.get(newest).close();
                        } catch (org.openkcm.keystore.api.KeyNotFoundException gone) {
                            unacknowledgedOrLost(newest, acknowledged, violations);
                        }
                    }
                }));
            }
            Thread.sleep(2_000);
            stop.set(true);
            for (Future<?> f : running) {
                f.get(30, TimeUnit.SECONDS);
            }
        } finally {
            stop.set(true);
            pool.shutdownNow();
            cache.close();
        }
        assertTrue(violations.isEmpty(), violations.size() + " stale reads, e.g. "
                + violations.subList(0, Math.min(3, violations.size())));
        List<KeyMetadata> versions = all(backend);
        int n = versions.size();
        assertEquals(rotates.get() + 1, n, "every acknowledged rotate made exactly one version");
        for (int v = 1; v <= n; v++) {
            KeyMetadata m = versions.get(v - 1);
            assertEquals(KeyId.of("hot", v), m.id(), "versions are contiguous");
            assertEquals(v == n ? KeyStatus.ACTIVE : KeyStatus.DEPRECATED, m.status(), m.id() + " status");
            int updates = tagUpdates.getOrDefault(m.id(), new AtomicInteger()).get();
            assertEquals(1 + updates + (v == n ? 0 : 1), m.revision(),
                    m.id() + ": every acknowledged update (and the deprecation) is one revision: none lost");
        }
        assertTrue(rotates.get() > 3 && tagUpdates.values().stream().mapToInt(AtomicInteger::get).sum() > 10,
                rotates + " rotates, " + tagUpdates);
    }

    /** A version a rotate under way stored may vanish (its rotate is undone); an acknowledged one must not. */
    private static void unacknowledgedOrLost(KeyId id, Map<KeyId, Long> acknowledged, List<String> violations) {
        if (acknowledged.containsKey(id) || id.version() == 1) {
            violations.add(id + " was acknowledged and is gone");
        }
    }

    private static KeyId newest(FaultyKeystore backend) {
        List<KeyMetadata> keys = all(backend);
        return keys.get(keys.size() - 1).id();
    }

    private static List<KeyMetadata> all(FaultyKeystore backend) {
        List<KeyMetadata> keys = new ArrayList<>();
        KeyFilter filter = KeyFilter.builder().pageSize(org.openkcm.keystore.api.Validation.MAX_PAGE_SIZE).build();
        String cursor = null;
        do {
            org.openkcm.keystore.api.KeyPage page = backend.delegate().listKeys(cursor == null ? filter
                    : filter.withCursor(cursor));
            keys.addAll(page.keys());
            cursor = page.nextCursor().orElse(null);
        } while (cursor != null);
        return keys;
    }

    private static void row(Op op, int step, String fault, String outcome, RecoveryReport recovery,
            FaultyKeystore backend, IntentJournal journal, Set<KeyId> expected, boolean tookEffect,
            Set<KeyId> acknowledged) {
        List<String> problems = new ArrayList<>();
        if (!journal.unfinished().isEmpty()) {
            problems.add("still open: " + journal.unfinished());
        }
        Set<KeyId> held = new HashSet<>();
        backend.delegate().listKeys(KeyFilter.all()).keys().forEach(m -> held.add(m.id()));
        if (!held.equals(expected)) {
            problems.add("held " + new TreeSet<>(held) + ", expected " + expected);
        }
        op.check(backend, tookEffect, problems);
        ReconcileReport r = new Reconciler(null, Clock.systemUTC()).reconcile("memory", backend.delegate(), expected,
                expected::contains, journal::unfinished, Duration.ZERO,
                org.openkcm.keystore.core.reconcile.AbandonedRecords.inMemory(), finding -> false);
        orphans += r.unaccounted().size();
        // lost: a key the caller was told exists (acknowledged) that is gone, other than by a delete it asked for
        long lostHere = acknowledged.stream().filter(id -> !held.contains(id))
                .filter(id -> !(op == Op.DELETE_ALL && id.name().equals("d"))).count();
        lost += (int) lostHere + r.missing().size();
        ROWS.add(String.format("| %-19s | %-18s | %-16s | %-30s | %-14s | %7d | %4d | %s |", op.kind,
                op.steps.get(step), fault, outcome, recovery.entries().isEmpty() ? "-"
                        : recovery.entries().get(0).state().toString(), r.unaccounted().size(), lostHere + r.missing().size(),
                problems.isEmpty() ? "ok" : problems));
        assertTrue(problems.isEmpty(), ROWS.get(ROWS.size() - 1));
    }

    @AfterAll
    static void print() {
        StringBuilder out = new StringBuilder("\nKeystoreOperations: fault and kill matrix (" + ROWS.size() + " cases)\n");
        out.append(String.format("| %-19s | %-18s | %-16s | %-30s | %-14s | %7s | %4s | %s |%n", "operation", "step",
                "fault", "caller saw", "recovery", "orphans", "lost", "check"));
        ROWS.forEach(r -> out.append(r).append('\n'));
        out.append("orphans: ").append(orphans).append(", lost acknowledged keys: ").append(lost).append('\n');
        System.out.println(out);
    }
}
