package org.openkcm.keystore.audit.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.OpenOption;
import java.nio.file.attribute.FileAttribute;
import java.util.Set;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.audit.AuditLog;
import org.openkcm.keystore.audit.AuditRecord;

class AuditFileTest {

    private static final Instant T = Instant.parse("2026-12-02T10:15:30.123456Z");

    @TempDir
    Path tmp;

    private static AuditRecord record(String caller, String operation, String keyId) {
        return new AuditRecord(T, caller, "shell", operation, keyId, AuditRecord.OK, null);
    }

    /** Every field of a line, parsed back by Jackson's parser (null for a JSON null). */
    static Map<String, String> parse(String line) throws IOException {
        Map<String, String> fields = new LinkedHashMap<>();
        try (JsonParser p = new JsonFactory().createParser(line)) {
            assertEquals(JsonToken.START_OBJECT, p.nextToken());
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                fields.put(name, value == JsonToken.VALUE_NULL ? null : p.getText());
            }
            assertEquals(JsonToken.END_OBJECT, p.currentToken());
            assertNull(p.nextToken(), "one object per line");
        }
        return fields;
    }

    @Test
    void writesOneJsonLinePerRecordWithEveryFieldInOrder() throws IOException {
        Path folder = tmp.resolve("audit");
        FileAuditLog log = new FileAuditLog(new AuditFile(folder, 1 << 20, 3, true));
        log.record(new AuditRecord(T, "alice \"the admin\" \u00e9", "shell", "delete", "k1:2", "error",
                "KeyNotFoundException"));
        log.record(record("bob", "reveal", null));

        List<String> lines = Files.readAllLines(folder.resolve("audit.log"), StandardCharsets.UTF_8);
        assertEquals(2, lines.size());
        Map<String, String> first = parse(lines.get(0));
        assertEquals(List.of("time", "caller", "channel", "operation", "keyId", "outcome", "errorClass"),
                List.copyOf(first.keySet()));
        assertEquals("2026-12-02T10:15:30.123456Z", first.get("time"));
        assertEquals("alice \"the admin\" \u00e9", first.get("caller"));
        assertEquals("shell", first.get("channel"));
        assertEquals("delete", first.get("operation"));
        assertEquals("k1:2", first.get("keyId"));
        assertEquals("error", first.get("outcome"));
        assertEquals("KeyNotFoundException", first.get("errorClass"));
        Map<String, String> second = parse(lines.get(1));
        assertNull(second.get("keyId"));
        assertNull(second.get("errorClass"));
        assertEquals("ok", second.get("outcome"));
    }

    @Test
    void filesAreOwnerOnlyAndWiderPermissionsAreNarrowed() throws IOException {
        Path folder = tmp.resolve("audit");
        Files.createDirectories(folder);
        Files.setPosixFilePermissions(folder, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path existing = Files.writeString(folder.resolve("audit.log"), "");
        Files.setPosixFilePermissions(existing, PosixFilePermissions.fromString("rw-r--r--"));

        try (AuditFile file = new AuditFile(folder, 1 << 20, 3, true)) {
            file.append(JsonLine.of(record("alice", "get", "k:1")));
        }
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(folder)));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(existing)));

        Path fresh = tmp.resolve("deeper/audit");
        try (AuditFile file = new AuditFile(fresh, 1 << 20, 3, false)) {
            file.append(JsonLine.of(record("alice", "get", "k:1")));
        }
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh)));
        assertEquals("rw-------",
                PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh.resolve("audit.log"))));
    }

    @Test
    void appendsToWhatIsThereAndNeverTruncates() throws IOException {
        Path folder = tmp.resolve("audit");
        try (AuditFile file = new AuditFile(folder, 1 << 20, 3, true)) {
            file.append(JsonLine.of(record("alice", "get", "k:1")));
        }
        try (AuditFile file = new AuditFile(folder, 1 << 20, 3, true)) {
            file.append(JsonLine.of(record("bob", "get", "k:1")));
        }
        List<String> lines = Files.readAllLines(folder.resolve("audit.log"));
        assertEquals(List.of("alice", "bob"), List.of(parse(lines.get(0)).get("caller"), parse(lines.get(1)).get("caller")));
    }

    @Test
    void rotatesBySizeAndKeepsABoundedNumberOfFiles() throws IOException {
        Path folder = tmp.resolve("audit");
        int lineBytes = JsonLine.of(record("caller-000", "get", "k:1")).length;
        int perFile = 1024 / lineBytes;
        int records = perFile * 6 + 1; // enough for 6 rotations
        try (AuditFile file = new AuditFile(folder, 1024, 3, true)) {
            for (int i = 0; i < records; i++) {
                file.append(JsonLine.of(record(String.format("caller-%03d", i), "get", "k:1")));
            }
        }
        List<Path> names;
        try (var listing = Files.list(folder)) {
            names = listing.sorted().toList();
        }
        assertEquals(List.of(folder.resolve("audit.log"), folder.resolve("audit.log.1"), folder.resolve("audit.log.2"),
                folder.resolve("audit.log.3")), names);
        // newest last: audit.log.3 (oldest kept) ... audit.log; each file within the size, whole lines only
        List<String> kept = new ArrayList<>();
        for (String name : List.of("audit.log.3", "audit.log.2", "audit.log.1", "audit.log")) {
            Path f = folder.resolve(name);
            assertTrue(Files.size(f) <= 1024, name + " is " + Files.size(f) + " bytes");
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
            for (String line : Files.readAllLines(f)) {
                kept.add(parse(line).get("caller"));
            }
        }
        assertEquals(String.format("caller-%03d", records - 1), kept.get(kept.size() - 1));
        for (int i = 1; i < kept.size(); i++) {
            int previous = Integer.parseInt(kept.get(i - 1).substring(7));
            assertEquals(previous + 1, Integer.parseInt(kept.get(i).substring(7)), "lines are consecutive");
        }
        assertEquals(perFile * 3 + 1, kept.size(), "three full rotated files and the current one's line");
    }

    @Test
    void unwritableFolderFailsEveryRecordWithTheReason() throws IOException {
        Path blocker = Files.writeString(tmp.resolve("not-a-folder"), "x");
        FileAuditLog log = new FileAuditLog(new AuditFile(blocker.resolve("audit"), 1 << 20, 3, true));
        UnavailableException e = assertThrows(UnavailableException.class, () -> log.record(record("a", "get", "k:1")));
        assertTrue(e.getMessage().contains("audit log " + blocker.resolve("audit").resolve("audit.log")), e.getMessage());
        assertTrue(e.getMessage().contains("cannot be written"), e.getMessage());
        assertEquals("x", Files.readString(blocker), "nothing was written anywhere");
    }

    @Test
    void aLogFileReplacedUnderneathFailsClosedAndRecoversWhenFixed() throws IOException {
        Path folder = tmp.resolve("audit");
        FileAuditLog log = new FileAuditLog(new AuditFile(folder, 1 << 20, 3, true));
        log.record(record("alice", "get", "k:1"));
        Path current = folder.resolve("audit.log");
        Files.move(current, folder.resolve("moved-away.log"));
        Files.createDirectory(current); // an unwritable file: audit.log is now a folder

        UnavailableException e = assertThrows(UnavailableException.class, () -> log.record(record("bob", "get", "k:1")));
        assertTrue(e.getMessage().contains("cannot be written"), e.getMessage());
        assertEquals(1, Files.readAllLines(folder.resolve("moved-away.log")).size(),
                "the record went nowhere, not into the file that was moved away");

        Files.delete(current);
        log.record(record("carol", "get", "k:1"));
        List<String> lines = Files.readAllLines(current);
        assertEquals(1, lines.size());
        assertEquals("carol", parse(lines.get(0)).get("caller"));
    }

    @Test
    void concurrentRecordsAllLandAsWholeLines() throws Exception {
        Path folder = tmp.resolve("audit");
        FileAuditLog log = new FileAuditLog(new AuditFile(folder, 1 << 20, 3, true));
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < 50; i++) {
                        log.record(record("t" + thread + "-" + i, "get", "k:1"));
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
        List<String> lines = Files.readAllLines(folder.resolve("audit.log"));
        assertEquals(400, lines.size());
        assertEquals(400, lines.stream().map(l -> {
            try {
                return parse(l).get("caller");
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }).distinct().count());
    }

    @Test
    void concurrentRecordsAcrossRotationsAllLandOnceAndNoneFails() throws Exception {
        Path folder = tmp.resolve("audit");
        FileAuditLog log = new FileAuditLog(new AuditFile(folder, 1024, 1000, true));
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < 100; i++) {
                        log.record(record("t" + thread + "-" + i, "get", "k:1"));
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(); // a record refused while another caller rotated would throw here
            }
        } finally {
            pool.shutdown();
        }
        List<String> callers = new ArrayList<>();
        try (var files = Files.list(folder)) {
            for (Path f : files.toList()) {
                assertTrue(Files.size(f) <= 1024, f + " is " + Files.size(f) + " bytes");
                for (String line : Files.readAllLines(f)) {
                    callers.add(parse(line).get("caller"));
                }
            }
        }
        assertEquals(800, callers.size());
        assertEquals(800, callers.stream().distinct().count());
    }

    @Test
    void refusesBadSettings() {
        assertThrows(IllegalArgumentException.class, () -> new AuditFile(tmp, 10, 3, true));
        assertThrows(IllegalArgumentException.class, () -> new AuditFile(tmp, 1 << 20, 0, true));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FileAuditLog.forces("sometimes"));
        assertTrue(e.getMessage().contains("always or never"), e.getMessage());
        assertTrue(FileAuditLog.forces(" Always "));
        assertFalse(FileAuditLog.forces("never"));
    }

    @Test
    void folderComesFromConfigurationThenHomeThenDataArea() {
        assertEquals(Path.of("/var/audit"), FileAuditLog.folder(" /var/audit ", "/opt/ks", null));
        assertEquals(Path.of("/opt/ks/data/audit"), FileAuditLog.folder("", "/opt/ks", tmp.toFile()));
        assertEquals(tmp, FileAuditLog.folder("", null, tmp.toFile()));
        assertThrows(IllegalStateException.class, () -> FileAuditLog.folder("", "", null));
    }

    /**
     * Opens real files, but every force fails while {@code failing} is set (a disk that refuses
     * fsync), and every write while {@code writesFailing} is (a full disk).
     */
    private static final class ForceFailing implements AuditFile.Opener {
        volatile boolean failing;
        volatile boolean writesFailing;
        final AtomicInteger forces = new AtomicInteger();

        @Override
        public FileChannel open(Path file, Set<? extends OpenOption> options, FileAttribute<?>... attributes)
                throws IOException {
            FileChannel real = FileChannel.open(file, options, attributes);
            return new DelegatingChannel(real) {
                @Override
                public void force(boolean metaData) throws IOException {
                    forces.incrementAndGet();
                    if (failing) {
                        throw new IOException("Input/output error");
                    }
                    super.force(metaData);
                }

                @Override
                public int write(ByteBuffer source) throws IOException {
                    if (writesFailing) {
                        throw new IOException("No space left on device");
                    }
                    return super.write(source);
                }
            };
        }
    }

    @Test
    void aReadsTwoRecordsShareOneForceAndBothAreInTheFile() throws IOException {
        Path folder = tmp.resolve("audit");
        ForceFailing disk = new ForceFailing();
        FileAuditLog log = new FileAuditLog(new AuditFile(folder, 1 << 20, 3, true, disk));
        int before = disk.forces.get();
        AuditLog.Entry entry = log.beginRead(new AuditRecord(T, "alice", "grpc", "get", "k:1", "started", null));
        assertEquals(before, disk.forces.get(), "started is not forced on its own");
        entry.complete(record("alice", "get", "k:1"));
        assertEquals(before + 1, disk.forces.get(), "one force covers both records");
        List<String> lines = Files.readAllLines(folder.resolve("audit.log"));
        assertEquals(List.of("started", "ok"), lines.stream().map(l -> field(l, "outcome")).toList());
    }

    @Test
    void aFailedForceFailsEveryCallWhoseRecordItCoveredEvenIfALaterForceSucceeds() throws Exception {
        Path folder = tmp.resolve("audit");
        ForceFailing disk = new ForceFailing();
        AuditFile file = new AuditFile(folder, 1 << 20, 3, true, disk);
        FileAuditLog log = new FileAuditLog(file);
        log.record(record("before", "get", "k:1"));
        // Three callers' lines written, none forced yet: one batch.
        long a = file.write(JsonLine.of(record("a", "get", "k:1")));
        long b = file.write(JsonLine.of(record("b", "get", "k:1")));
        AuditLog.Entry c = log.beginRead(new AuditRecord(T, "c", "grpc", "get", "k:1", "started", null));
        disk.failing = true;
        assertThrows(IOException.class, () -> file.awaitDurable(a, a), "the caller whose force failed");
        disk.failing = false;
        // The next force would succeed, but the batch's lines may be gone: the others fail too.
        IOException other = assertThrows(IOException.class, () -> file.awaitDurable(b, b));
        assertTrue(other.getMessage().contains("before this record was on disk"), other.getMessage());
        UnavailableException read = assertThrows(UnavailableException.class,
                () -> c.complete(record("c", "get", "k:1")), "a read begun before the failure");
        assertTrue(read.getMessage().contains("cannot be written"), read.getMessage());

        log.record(record("after", "get", "k:1")); // a new batch on a reopened file succeeds
        List<String> callers = Files.readAllLines(folder.resolve("audit.log")).stream().map(l -> field(l, "caller"))
                .toList();
        assertEquals("before", callers.get(0));
        assertEquals("after", callers.get(callers.size() - 1));
    }

    @Test
    void aReadWhoseStartedLineWasInAFileLostToAFailedWriteFailsThoughItsOutcomeLands() throws IOException {
        Path folder = tmp.resolve("audit");
        ForceFailing disk = new ForceFailing();
        FileAuditLog log = new FileAuditLog(new AuditFile(folder, 1 << 20, 3, true, disk));
        AuditLog.Entry entry = log.beginRead(new AuditRecord(T, "alice", "grpc", "get", "k:1", "started", null));
        disk.writesFailing = true;
        assertThrows(UnavailableException.class, () -> log.record(record("bob", "get", "k:1")));
        disk.writesFailing = false;

        UnavailableException e = assertThrows(UnavailableException.class,
                () -> entry.complete(record("alice", "get", "k:1")));
        assertTrue(e.getMessage().contains("before this record was on disk"), e.getMessage());
        log.record(record("carol", "get", "k:1")); // the reopened file takes new records
    }

    @Test
    void aReadWhoseStartedLineIsInAFileMovedAwaySucceedsAndTheMovedFileWasForced() throws IOException {
        Path folder = tmp.resolve("audit");
        ForceFailing disk = new ForceFailing();
        FileAuditLog log = new FileAuditLog(new AuditFile(folder, 1 << 20, 3, true, disk));
        AuditLog.Entry entry = log.beginRead(new AuditRecord(T, "alice", "grpc", "get", "k:1", "started", null));
        Files.move(folder.resolve("audit.log"), folder.resolve("moved-away.log"));
        int before = disk.forces.get();
        entry.complete(record("alice", "get", "k:1"));
        assertEquals(before + 2, disk.forces.get(), "the moved file, then the new one");
        assertEquals("started", field(Files.readAllLines(folder.resolve("moved-away.log")).get(0), "outcome"));
        assertEquals("ok", field(Files.readAllLines(folder.resolve("audit.log")).get(0), "outcome"));
    }

    @Test
    void withoutForcingAReadIsNeverForced() throws IOException {
        Path folder = tmp.resolve("audit");
        ForceFailing disk = new ForceFailing();
        disk.failing = true;
        FileAuditLog log = new FileAuditLog(new AuditFile(folder, 1 << 20, 3, false, disk));
        log.beginRead(new AuditRecord(T, "alice", "grpc", "get", "k:1", "started", null))
                .complete(record("alice", "get", "k:1"));
        assertEquals(0, disk.forces.get());
        assertEquals(2, Files.readAllLines(folder.resolve("audit.log")).size());
    }

    @Test
    void concurrentReadsAllLandAsPairsAndNoneFails() throws Exception {
        Path folder = tmp.resolve("audit");
        FileAuditLog log = new FileAuditLog(new AuditFile(folder, 2048, 1000, true));
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < 50; i++) {
                        String caller = "t" + thread + "-" + i;
                        log.beginRead(new AuditRecord(T, caller, "grpc", "get", "k:1", "started", null))
                                .complete(record(caller, "get", "k:1"));
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
        Map<String, List<String>> outcomes = new LinkedHashMap<>();
        try (var files = Files.list(folder)) {
            for (Path f : files.toList()) {
                for (String line : Files.readAllLines(f)) {
                    outcomes.computeIfAbsent(field(line, "caller"), k -> new ArrayList<>()).add(field(line, "outcome"));
                }
            }
        }
        assertEquals(400, outcomes.size());
        outcomes.values().forEach(o -> assertEquals(2, o.size(), "a started and an ok line per read: " + o));
    }

    private static String field(String line, String name) {
        try {
            return parse(line).get(name);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
