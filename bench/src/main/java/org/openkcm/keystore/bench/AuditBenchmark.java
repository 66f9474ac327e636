package org.openkcm.keystore.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Comparator;
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
import org.openjdk.jmh.annotations.Threads;
import org.openkcm.keystore.audit.AuditRecord;
import org.openkcm.keystore.audit.file.FileAuditLog;

/**
 * The cost of one audit record (average time per record) against the baseline of appending the
 * same line to a file by hand: a write, and with {@code fsync = always} a force, one caller at a
 * time. With one caller the log should cost about the baseline; with 8 callers the log's group
 * commit lets callers that record during a force share the next one, where the baseline forces
 * once per line. Files go under {@code java.io.tmpdir} ({@code -Djava.io.tmpdir} picks the disk).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class AuditBenchmark {
    private static final AuditRecord RECORD = new AuditRecord(Instant.parse("2026-12-02T12:00:00Z"),
            "CN=app-1,O=OpenKCM", "grpc", "get", "tenant-key:3", AuditRecord.OK, null);
    private static final byte[] LINE = ("{\"time\":\"2026-12-02T12:00:00Z\",\"caller\":\"CN=app-1,O=OpenKCM\","
            + "\"channel\":\"grpc\",\"operation\":\"get\",\"keyId\":\"tenant-key:3\",\"outcome\":\"ok\","
            + "\"errorClass\":null}\n").getBytes(StandardCharsets.UTF_8);

    @Param({"always", "never"})
    public String fsync;

    private Path dir;
    private FileAuditLog log;
    private FileChannel bare;

    @Setup(Level.Iteration)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("openkcm-audit-bench");
        log = FileAuditLog.open(dir.resolve("audit"), fsync.equals("always"));
        bare = FileChannel.open(dir.resolve("bare.log"), StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                StandardOpenOption.WRITE);
    }

    @TearDown(Level.Iteration)
    public void tearDown() throws IOException {
        log.close();
        bare.close();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Benchmark
    @Threads(1)
    public void auditLog1() {
        log.record(RECORD);
    }

    @Benchmark
    @Threads(1)
    public void bareAppend1() throws IOException {
        bareAppend();
    }

    @Benchmark
    @Threads(8)
    public void auditLog8() {
        log.record(RECORD);
    }

    @Benchmark
    @Threads(8)
    public void bareAppend8() throws IOException {
        bareAppend();
    }

    private void bareAppend() throws IOException {
        synchronized (bare) {
            bare.write(ByteBuffer.wrap(LINE));
            if (fsync.equals("always")) {
                bare.force(false);
            }
        }
    }
}
