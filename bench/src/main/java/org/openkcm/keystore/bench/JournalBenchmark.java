package org.openkcm.keystore.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.core.journal.IntentJournal;
import org.openkcm.keystore.core.journal.JournalSettings;
import org.openkcm.keystore.core.operations.DefaultKeystoreOperations;
import org.openkcm.keystore.memory.MemoryKeystore;

/**
 * The cost of the intent journal on a rotate (memory backend, average time per rotate). A rotate is
 * a saga either way; {@code none} journals it in memory (nothing reaches a disk), {@code file} in
 * a journal file under {@code java.io.tmpdir} ({@code -Djava.io.tmpdir} picks the disk): BEGIN
 * forced to disk, a record per step, END forced to disk. The names are rotated round robin on a
 * backend that is new at each iteration.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class JournalBenchmark {
    static final int NAMES = 1_000;

    @Param({"none", "file"})
    public String journal;

    private DefaultKeystoreOperations ops;
    private IntentJournal intents;
    private Path dir;
    private int next;

    @Setup(Level.Iteration)
    public void setUp() throws IOException {
        ops = DefaultKeystoreOperations.of(new MemoryKeystore(50_000_000), List.<KekProvider>of(new BenchKeks()));
        for (int i = 0; i < NAMES; i++) {
            ops.generate(KeySpec.builder().name("k" + i).type(KeyType.L3).algorithm("AES").keySize(256)
                    .owner(Owner.service("bench")).build());
        }
        if (journal.equals("file")) {
            dir = Files.createTempDirectory("openkcm-journal-bench");
            intents = IntentJournal.open(JournalSettings.of(dir.resolve("intents.log")), null);
            ops.journal(intents);
        }
    }

    @TearDown(Level.Iteration)
    public void tearDown() throws IOException {
        if (intents != null) {
            intents.close();
            intents = null;
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Benchmark
    public KeyMetadata rotate() {
        return ops.rotate("k" + (next++ % NAMES));
    }
}
