package org.openkcm.keystore.core.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.core.journal.ReplayReport.Damage;
import org.openkcm.keystore.core.testing.CapturingLogger;

class IntentJournalTest {
    static final List<String> STEPS = List.of("store", "link", "deprecate");

    @TempDir
    Path dir;
    final CapturingLogger log = new CapturingLogger();

    Path file() {
        return dir.resolve("data/journal/intents.log");
    }

    IntentJournal open() {
        return IntentJournal.open(JournalSettings.of(file()), log.logger());
    }

    Intent begin(IntentJournal j, String name) {
        return j.begin("rotate", List.of(KeyId.of(name, 2), KeyId.of(name, 1)), Map.of("name", name, "next", "2"), STEPS);
    }

    @Test
    void unfinishedOperationsAreReplayedWithTheirStepsAndNotes() {
        Intent a;
        try (IntentJournal j = open()) {
            a = begin(j, "a");
            j.stepDone(a.id(), 0, Map.of("sealed.sha256", "abc"));
            Intent b = begin(j, "b");
            j.stepDone(b.id(), 0, Map.of());
            j.end(b.id(), Outcome.COMMITTED);
        }
        try (IntentJournal j = open()) {
            ReplayReport r = j.replay();
            assertEquals(Damage.NONE, r.damage());
            assertEquals(1, r.unfinished().size());
            Intent replayed = r.unfinished().get(0);
            assertEquals(a.id(), replayed.id());
            assertEquals("rotate", replayed.kind());
            assertEquals(List.of(KeyId.of("a", 2), KeyId.of("a", 1)), replayed.keys());
            assertEquals(Map.of("name", "a", "next", "2"), replayed.params());
            assertEquals(STEPS, replayed.steps());
            assertEquals(1, replayed.stepsDone());
            assertEquals("abc", replayed.notes().get("sealed.sha256"));
        }
    }

    @Test
    void aBeginIsInTheFileWhenItReturnsAsAKilledProcessWouldLeaveIt() throws IOException {
        IntentJournal running = open();
        Intent a = begin(running, "a");
        // no close: read the file as the next process would after kill -9
        try (IntentJournal next = IntentJournal.open(JournalSettings.of(file()), null)) {
            assertEquals(List.of(a.id()), next.unfinished().stream().map(Intent::id).toList());
        }
    }

    @Test
    void aJournalWithEverythingFinishedIsCompactedAtOpen() throws IOException {
        try (IntentJournal j = open()) {
            for (int i = 0; i < 10; i++) {
                Intent x = begin(j, "k" + i);
                j.stepDone(x.id(), 0, Map.of());
                j.end(x.id(), Outcome.COMPENSATED);
            }
        }
        assertTrue(Files.size(file()) > 500);
        try (IntentJournal j = open()) {
            assertTrue(j.unfinished().isEmpty());
        }
        assertEquals(IntentJournal.MAGIC.length, Files.size(file()));
        assertTrue(!Files.exists(file().resolveSibling("intents.log.tmp")));
    }

    @Test
    void theJournalIsCompactedWhileRunningWhenNothingIsOpen() {
        try (IntentJournal j = IntentJournal.open(new JournalSettings(file(), false, 2_000), null)) {
            for (int i = 0; i < 200; i++) {
                Intent x = begin(j, "k" + i);
                j.stepDone(x.id(), 0, Map.of());
                j.end(x.id(), Outcome.COMMITTED);
                assertTrue(j.size() < 2_000 + 400, "size " + j.size());
            }
            Intent open = begin(j, "still-open");
            j.close();
            try (IntentJournal again = open()) {
                assertEquals(List.of(open.id()), again.unfinished().stream().map(Intent::id).toList());
            }
        }
    }

    @Test
    void aTornLastRecordIsReportedAndCutOffNeverTrusted() throws IOException {
        Intent a;
        try (IntentJournal j = open()) {
            a = begin(j, "a");
            j.stepDone(a.id(), 0, Map.of());
            begin(j, "b"); // its record will be cut short, as by a crash in the middle of the write
        }
        long full = Files.size(file());
        truncate(full - 5);
        try (IntentJournal j = open()) {
            ReplayReport r = j.replay();
            assertEquals(Damage.TORN_TAIL, r.damage());
            assertTrue(r.detail().contains("cut short"), r.detail());
            assertEquals(List.of(a.id()), r.unfinished().stream().map(Intent::id).toList());
            assertTrue(r.discardedBytes() > 0);
            // the file was truncated to its last good record, and appending goes on from there
            Intent c = begin(j, "c");
            j.end(c.id(), Outcome.COMMITTED);
        }
        try (IntentJournal j = open()) {
            assertEquals(Damage.NONE, j.replay().damage());
            assertEquals(List.of(a.id()), j.unfinished().stream().map(Intent::id).toList());
        }
        assertTrue(log.lines().stream().anyMatch(l -> l.contains("cut off")), log.lines().toString());
    }

    @Test
    void aFlippedByteInTheLastRecordIsATornTailAndItsEndIsNotTrusted() throws IOException {
        Intent a;
        try (IntentJournal j = open()) {
            a = begin(j, "a");
            j.stepDone(a.id(), 0, Map.of());
            j.stepDone(a.id(), 1, Map.of());
            j.end(a.id(), Outcome.COMMITTED);
        }
        flip(Files.size(file()) - 1);
        try (IntentJournal j = open()) {
            ReplayReport r = j.replay();
            assertEquals(Damage.TORN_TAIL, r.damage());
            assertTrue(r.detail().contains("checksum"), r.detail());
            assertEquals(1, r.unfinished().size(), "the END that failed its checksum is not believed");
            assertEquals(2, r.unfinished().get(0).stepsDone());
        }
    }

    @Test
    void aZeroFilledTailIsATornTail() throws IOException {
        try (IntentJournal j = open()) {
            begin(j, "a");
        }
        Files.write(file(), new byte[4096], StandardOpenOption.APPEND);
        try (IntentJournal j = open()) {
            assertEquals(Damage.TORN_TAIL, j.replay().damage());
            assertEquals(1, j.unfinished().size());
            assertEquals(4096, j.replay().discardedBytes());
        }
    }

    @Test
    void corruptionBeforeTheEndStopsReplayThereAndMovesTheFileAside() throws IOException {
        Intent a;
        long secondRecord;
        try (IntentJournal j = open()) {
            a = begin(j, "a");
            secondRecord = j.size();
            Intent b = begin(j, "b");
            j.stepDone(a.id(), 0, Map.of());
            j.end(b.id(), Outcome.COMMITTED);
            begin(j, "c");
        }
        flip(secondRecord + 20); // inside b's BEGIN: more records follow
        try (IntentJournal j = open()) {
            ReplayReport r = j.replay();
            assertEquals(Damage.CORRUPT, r.damage());
            assertTrue(r.detail().contains("offset " + secondRecord), r.detail());
            assertEquals(1, r.records(), "replay stopped at the damage");
            assertEquals(List.of(a.id()), r.unfinished().stream().map(Intent::id).toList());
            assertEquals(0, r.unfinished().get(0).stepsDone(), "a's step record came after the damage");
            assertTrue(r.quarantined().isPresent() && Files.exists(r.quarantined().get()));
        }
        try (IntentJournal j = open()) {
            assertEquals(Damage.NONE, j.replay().damage(), "the new file holds what was read up to the damage");
            assertEquals(List.of(a.id()), j.unfinished().stream().map(Intent::id).toList());
        }
        assertTrue(log.lines().stream().anyMatch(l -> l.startsWith("error") && l.contains("reconciliation")),
                log.lines().toString());
    }

    @Test
    void aFileThatIsNotAJournalIsMovedAsideNeverReplayed() throws IOException {
        Files.createDirectories(file().getParent());
        Files.writeString(file(), "this is not a journal, but it is long enough to look like records");
        try (IntentJournal j = open()) {
            assertEquals(Damage.CORRUPT, j.replay().damage());
            assertTrue(j.unfinished().isEmpty());
        }
    }

    @Test
    void aHeaderCutShortIsATornTail() throws IOException {
        Files.createDirectories(file().getParent());
        Files.write(file(), java.util.Arrays.copyOf(IntentJournal.MAGIC, 3));
        try (IntentJournal j = open()) {
            assertEquals(Damage.TORN_TAIL, j.replay().damage());
            Intent a = begin(j, "a");
            j.close();
            try (IntentJournal again = open()) {
                assertEquals(List.of(a.id()), again.unfinished().stream().map(Intent::id).toList());
            }
        }
    }

    @Test
    void concurrentOperationsAllReplayCorrectly() throws Exception {
        int threads = 8;
        int perThread = 100;
        List<java.util.UUID> leftOpen = java.util.Collections.synchronizedList(new ArrayList<>());
        try (IntentJournal j = open()) {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < perThread; i++) {
                        Intent x = begin(j, "t" + thread + "-" + i);
                        j.stepDone(x.id(), 0, Map.of("i", Integer.toString(i)));
                        if (i % 10 == 0) {
                            leftOpen.add(x.id());
                        } else {
                            j.end(x.id(), Outcome.COMMITTED);
                        }
                    }
                }));
            }
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
            pool.shutdown();
        }
        try (IntentJournal j = open()) {
            assertEquals(Damage.NONE, j.replay().damage());
            assertEquals(Set.copyOf(leftOpen), Set.copyOf(j.unfinished().stream().map(Intent::id).toList()));
            assertTrue(j.unfinished().stream().allMatch(i -> i.stepsDone() == 1));
        }
    }

    @Test
    void concurrentOperationsWithCompactionsUnderWayLoseNothing() throws Exception {
        int threads = 8;
        List<java.util.UUID> leftOpen = java.util.Collections.synchronizedList(new ArrayList<>());
        try (IntentJournal j = IntentJournal.open(new JournalSettings(file(), true, 300), null)) {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < 150; i++) {
                        Intent x = begin(j, "t" + thread + "-" + i);
                        j.stepDone(x.id(), 0, Map.of());
                        if (thread == 0 && i == 149) {
                            leftOpen.add(x.id()); // one stays open, begun after many compactions
                        } else {
                            j.end(x.id(), Outcome.COMMITTED);
                        }
                    }
                }));
            }
            for (Future<?> f : done) {
                f.get(120, TimeUnit.SECONDS);
            }
            pool.shutdown();
        }
        try (IntentJournal j = open()) {
            assertEquals(Damage.NONE, j.replay().damage());
            assertEquals(leftOpen, j.unfinished().stream().map(Intent::id).toList());
        }
    }

    @Test
    void theInMemoryJournalKeepsIntentsWithoutAFile() {
        IntentJournal j = IntentJournal.inMemory();
        Intent a = begin(j, "a");
        assertEquals(1, j.unfinished().size());
        j.end(a.id(), Outcome.COMMITTED);
        assertTrue(j.unfinished().isEmpty());
        assertTrue(j.file().isEmpty());
    }

    @Test
    void thePathComesFromConfigurationThenOpenkcmHomeThenTheDataArea() {
        assertEquals(Path.of("/x/j.log"), JournalSettings.resolve("/x/j.log", "/home", n -> new File("/data/" + n)));
        assertEquals(Path.of("/home/data/journal/intents.log"), JournalSettings.resolve(" ", "/home", n -> null));
        assertEquals(Path.of("/data/journal/intents.log"),
                JournalSettings.resolve("", null, n -> new File("/data/" + n)));
        assertThrows(InvalidInputException.class, () -> JournalSettings.resolve("", "", n -> null));
    }

    private void truncate(long size) throws IOException {
        try (FileChannel ch = FileChannel.open(file(), StandardOpenOption.WRITE)) {
            ch.truncate(size);
        }
    }

    private void flip(long offset) throws IOException {
        byte[] bytes = Files.readAllBytes(file());
        bytes[(int) offset] ^= 0x40;
        Files.write(file(), bytes);
    }
}
