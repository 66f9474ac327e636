package org.openkcm.keystore.core.operations;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Supplier;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.KeystoreException;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.admin.Administration;
import org.openkcm.keystore.core.journal.IntentJournal;
import org.openkcm.keystore.core.journal.JournalSettings;
import org.openkcm.keystore.core.saga.CrashPoint;
import org.openkcm.keystore.core.saga.RecoveryReport;
import org.openkcm.keystore.core.saga.SagaRunner;
import org.openkcm.keystore.core.testing.TestKeks;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore.Operation;

/**
 * Every step of every saga of KeystoreOperations (rotate, generate with a parent, delete all
 * versions, KEK re-wrap), failed for good, failed after the backend did the work, or killed before,
 * after or once recorded; then the runtime keeps serving before recovery runs: it stores new
 * versions under the very names (and ids) the unfinished operation touched, and they are
 * acknowledged. Then recovery. Afterwards every acknowledged key is held with the material it was
 * acknowledged with (none lost), no key is held that nobody acknowledged other than the one the
 * unfinished operation itself stored and recovery rolled forward (no orphan), and the journal holds
 * nothing open. Printed as a table.
 */
class RecoveryMatrixTest {
    static final List<String> ROWS = new ArrayList<>();
    static int orphans;
    static int lost;

    @TempDir
    Path dir;

    enum Op {
        ROTATE("rotate", List.of(Operation.STORE, Operation.UPDATE), KeyId.of("r", 2)),
        GENERATE("generate", List.of(Operation.STORE, Operation.RETRIEVE), KeyId.of("child", 1)),
        DELETE_ALL("delete-all-versions", List.of(Operation.DELETE), null),
        KEK_REWRAP("kek-rewrap", List.of(Operation.REWRAP), null);

        final String kind;
        final List<Operation> faults;
        /** The key the operation itself stores, if any. */
        final KeyId planned;

        Op(String kind, List<Operation> faults, KeyId planned) {
            this.kind = kind;
            this.faults = faults;
            this.planned = planned;
        }
    }

    static final List<String> MODES = List.of("fails always", "fails after once", "kill before", "kill after",
            "kill recorded");

    final TestKeks.Fixed kek = TestKeks.fixed("test", 1);

    @Test
    void everyStepOfEverySagaFailedOrKilledThenNewKeysAcknowledgedThenRecoveryLosesNothingAndLeavesNoOrphan() {
        int cases = 0;
        for (Op op : Op.values()) {
            for (int step = 0; step < op.faults.size(); step++) {
                for (String mode : MODES) {
                    for (boolean otherWriter : List.of(false, true)) {
                        runCase(op, step, mode, otherWriter);
                        cases++;
                    }
                }
            }
        }
        assertEquals(6 * MODES.size() * 2, cases); // six steps in all
        assertEquals(0, orphans, String.join("\n", ROWS));
        assertEquals(0, lost, String.join("\n", ROWS));
    }

    /**
     * @param otherWriter whether the new keys come from a writer whose journal does not know the
     *            unfinished operation (another runtime on the same backend), rather than from this runtime
     */
    private void runCase(Op op, int step, String mode, boolean otherWriter) {
        FaultyKeystore backend = new FaultyKeystore(new MemoryKeystore()); // outlives a killed "process"
        Path file = dir.resolve(op + "-" + step + "-" + mode.replace(' ', '-') + ".log");
        IntentJournal first = IntentJournal.open(JournalSettings.of(file), null);
        SagaRunner runner = new SagaRunner(first, null).retries(2, Duration.ZERO);
        boolean kill = mode.startsWith("kill");
        if (kill) {
            runner.watcher(CrashPoint.parse(op.kind + ":" + step + ":" + mode.substring(5), where -> {
                throw new TransactionsTest.Crash(where);
            }));
        }
        kek.replace("test", Map.of(1, TestKeks.kek(1)));
        DefaultKeystoreOperations ops = ops(backend).runner(runner);
        Map<KeyId, byte[]> acknowledged = new TreeMap<>();
        setUp(op, ops, acknowledged);
        // the versions a delete of all versions is asked to delete: gone or held, either is right
        Set<KeyId> asked = new TreeSet<>();
        if (op == Op.DELETE_ALL) {
            acknowledged.keySet().stream().filter(id -> id.name().equals("d")).forEach(asked::add);
        }

        Supplier<UnavailableException> failure = () -> new UnavailableException("injected");
        if (!kill) {
            Operation target = op.faults.get(step);
            if (mode.equals("fails always")) {
                backend.failBefore(target, 1_000, failure);
            } else {
                backend.failAfter(target, 1, failure);
            }
        }
        String outcome;
        try {
            call(op, ops, acknowledged);
            outcome = "acknowledged";
        } catch (TransactionsTest.Crash crash) {
            outcome = "killed";
        } catch (KeystoreException e) {
            outcome = "refused";
        }
        backend.reset();

        // the runtime serving on: after a kill, the next process over the journal as the dead one left it
        IntentJournal journal = first;
        if (kill) {
            first.close();
            journal = IntentJournal.open(JournalSettings.of(file), null);
            ops = ops(backend).journal(journal);
        }
        String meanwhile = meanwhile(op, otherWriter ? ops(backend) : ops, acknowledged);
        RecoveryReport recovery = ops.recover();

        List<String> problems = new ArrayList<>();
        if (!journal.unfinished().isEmpty()) {
            problems.add("still open: " + journal.unfinished());
        }
        Set<KeyId> held = new TreeSet<>();
        backend.delegate().listKeys(KeyFilter.all()).keys().forEach(m -> held.add(m.id()));
        int lostHere = 0;
        for (Map.Entry<KeyId, byte[]> e : acknowledged.entrySet()) {
            if (!held.contains(e.getKey()) || !Arrays.equals(e.getValue(), material(ops, e.getKey()))) {
                lostHere++;
                problems.add("lost " + e.getKey());
            }
        }
        int orphanHere = 0;
        for (KeyId id : held) {
            if (!acknowledged.containsKey(id) && !asked.contains(id)
                    && !(id.equals(op.planned) && rolledForward(op, backend))) {
                orphanHere++;
                problems.add("orphan " + id);
            }
        }
        lost += lostHere;
        orphans += orphanHere;
        ROWS.add(String.format("| %-19s | %d | %-16s | %-12s | %-14s | %-30s | %-26s | %7d | %4d | %s |", op.kind, step,
                mode, outcome, otherWriter ? "another writer" : "this runtime", meanwhile, brief(recovery), orphanHere,
                lostHere, problems.isEmpty() ? "ok" : problems));
        journal.close();
        assertTrue(problems.isEmpty(), ROWS.get(ROWS.size() - 1));
    }

    private static String brief(RecoveryReport r) {
        return r.entries().isEmpty() ? "nothing open" : r.entries().get(0).state() + " " + r.entries().get(0).detail()
                .replaceAll("^(.{0,12}).*", "$1");
    }

    /** The operation's own key, held unacknowledged, is there only if the whole operation took effect. */
    private static boolean rolledForward(Op op, FaultyKeystore backend) {
        if (op == Op.ROTATE) {
            return backend.delegate().retrieveKey(KeyId.of("r", 1)).metadata().status() == KeyStatus.DEPRECATED;
        }
        return true; // generate: the child, its parent checked
    }

    DefaultKeystoreOperations ops(FaultyKeystore backend) {
        return DefaultKeystoreOperations.of(backend, List.<KekProvider>of(kek));
    }

    private void setUp(Op op, DefaultKeystoreOperations ops, Map<KeyId, byte[]> acknowledged) {
        generate(ops, Fixture.spec("other").build(), acknowledged);
        switch (op) {
            case ROTATE -> generate(ops, Fixture.spec("r").build(), acknowledged);
            case GENERATE -> generate(ops, Fixture.spec("parent").type(KeyType.L3).build(), acknowledged);
            case DELETE_ALL -> {
                generate(ops, Fixture.spec("d").build(), acknowledged);
                rotate(ops, "d", acknowledged);
                rotate(ops, "d", acknowledged);
            }
            case KEK_REWRAP -> {
                generate(ops, Fixture.spec("k").build(), acknowledged);
                kek.replace("test", Map.of(1, TestKeks.kek(1), 2, TestKeks.kek(2))); // v2 current: re-wrap to it
            }
        }
    }

    private void call(Op op, DefaultKeystoreOperations ops, Map<KeyId, byte[]> acknowledged) {
        switch (op) {
            case ROTATE -> rotate(ops, "r", acknowledged);
            case GENERATE -> generate(ops, Fixture.spec("child").parent(KeyId.of("parent", 1)).build(), acknowledged);
            case DELETE_ALL -> {
                acknowledged.keySet().removeIf(id -> id.name().equals("d")); // asked: gone or held, both right
                ops.deleteAllVersions("d");
            }
            case KEK_REWRAP -> Administration.of(ops).rewrapAll();
        }
    }

    /** What the runtime acknowledges before recovery runs: new versions under the names just touched. */
    private String meanwhile(Op op, DefaultKeystoreOperations ops, Map<KeyId, byte[]> acknowledged) {
        try {
            KeyId id = switch (op) {
                case ROTATE -> rotate(ops, "r", acknowledged);
                case GENERATE -> generate(ops, Fixture.spec("child").parent(KeyId.of("parent", 1)).build(), acknowledged);
                case DELETE_ALL -> generate(ops, Fixture.spec("d").build(), acknowledged);
                case KEK_REWRAP -> rotate(ops, "k", acknowledged);
            };
            return "acknowledged " + id;
        } catch (KeystoreException e) {
            return "refused: " + e.getClass().getSimpleName();
        }
    }

    private static KeyId generate(DefaultKeystoreOperations ops, org.openkcm.keystore.api.KeySpec spec,
            Map<KeyId, byte[]> acknowledged) {
        KeyMetadata m = ops.generate(spec);
        acknowledged.put(m.id(), material(ops, m.id()));
        return m.id();
    }

    private static KeyId rotate(DefaultKeystoreOperations ops, String name, Map<KeyId, byte[]> acknowledged) {
        KeyMetadata m = ops.rotate(name);
        acknowledged.put(m.id(), material(ops, m.id()));
        return m.id();
    }

    private static byte[] material(DefaultKeystoreOperations ops, KeyId id) {
        try (KeyMaterial m = ops.get(id)) {
            return m.copyBytes();
        } catch (KeystoreException e) {
            return new byte[0];
        }
    }

    /** The table of every case, for a reader of the build: target/recovery-matrix.txt. */
    @AfterAll
    static void report() throws IOException {
        StringBuilder out = new StringBuilder("\nRecovery with the runtime serving meanwhile (" + ROWS.size() + " cases)\n");
        out.append(String.format("| %-19s | %s | %-16s | %-12s | %-14s | %-30s | %-26s | %7s | %4s | %s |%n", "operation",
                "k", "fault", "caller saw", "new keys by", "meanwhile", "recovery", "orphans", "lost", "check"));
        ROWS.forEach(r -> out.append(r).append('\n'));
        out.append("orphans: ").append(orphans).append(", lost acknowledged keys: ").append(lost).append('\n');
        Files.writeString(Path.of("target", "recovery-matrix.txt"), out);
    }
}
