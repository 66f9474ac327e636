package org.openkcm.keystore.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.file.FileKeystore;

/**
 * The file backend against bare file I/O of the same bytes, average time per call, on the disk of
 * {@code java.io.tmpdir}:
 * <ul>
 * <li>{@code store}: {@link FileKeystore#storeKey} of a new version of one key (its folder exists):
 * temporary file, force, atomic rename, force the folder.</li>
 * <li>{@code bareWriteForceRename}: the same file bytes written to a temporary file, forced and
 * renamed; {@code bareWriteForceRenameForceDir} also forces the folder, as the backend does.</li>
 * <li>{@code retrieve}: {@link FileKeystore#retrieveKey} of one of 1,000 stored keys, round robin;
 * {@code bareRead}: {@link Files#readAllBytes} of the same files.</li>
 * </ul>
 * A sealed record of 120 bytes (a 32-byte key sealed) with typical metadata.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class FileBackendBenchmark {
    static final int READ_KEYS = 1_000;
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    private Path dir;
    private FileKeystore keystore;
    private SealedKey sealed;
    private byte[] fileBytes;
    private Path bareFolder;
    private Path[] readFiles;
    private KeyId[] readIds;
    private int nextVersion;
    private int nextBare;
    private int nextRead;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("openkcm-file-bench");
        keystore = new FileKeystore(dir.resolve("keys"), "bench", EnumSet.allOf(KeyType.class), null);
        byte[] bytes = new byte[120];
        new java.util.Random(1).nextBytes(bytes);
        sealed = SealedKey.of(bytes);
        readIds = new KeyId[READ_KEYS];
        readFiles = new Path[READ_KEYS];
        for (int i = 0; i < READ_KEYS; i++) {
            readIds[i] = KeyId.of("read-" + i, 1);
            keystore.storeKey(readIds[i], sealed, metadata(readIds[i]));
            readFiles[i] = keystore.root().resolve("service/bench/read-" + i + "/1.rec");
        }
        fileBytes = Files.readAllBytes(readFiles[0]);
        keystore.storeKey(KeyId.of("store", 1), sealed, metadata(KeyId.of("store", 1)));
        nextVersion = 2;
        bareFolder = Files.createDirectories(dir.resolve("bare/service/bench/store"));
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        keystore.close();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static KeyMetadata metadata(KeyId id) {
        return KeyMetadata.builder().id(id).type(KeyType.L3).algorithm("AES").keySize(256)
                .owner(Owner.service("bench")).region("eu-west-1").createdAt(T0).build();
    }

    @Benchmark
    public void store() {
        KeyId id = KeyId.of("store", nextVersion++);
        keystore.storeKey(id, sealed, metadata(id));
    }

    @Benchmark
    public void bareWriteForceRename() throws IOException {
        bareWrite(false);
    }

    @Benchmark
    public void bareWriteForceRenameForceDir() throws IOException {
        bareWrite(true);
    }

    private void bareWrite(boolean forceDir) throws IOException {
        int n = nextBare++;
        Path temp = bareFolder.resolve(n + ".rec.tmp");
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer buffer = ByteBuffer.wrap(fileBytes.clone());
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(true);
        }
        Files.move(temp, bareFolder.resolve(n + ".rec"), StandardCopyOption.ATOMIC_MOVE);
        if (forceDir) {
            try (FileChannel folder = FileChannel.open(bareFolder, StandardOpenOption.READ)) {
                folder.force(true);
            }
        }
    }

    @Benchmark
    public StoredKey retrieve() {
        int i = nextRead++ % READ_KEYS;
        return keystore.retrieveKey(readIds[i]);
    }

    @Benchmark
    public byte[] bareRead() throws IOException {
        int i = nextRead++ % READ_KEYS;
        return Files.readAllBytes(readFiles[i]);
    }
}
