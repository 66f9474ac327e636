package org.openkcm.keystore.bench;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.openjdk.jmh.annotations.AuxCounters;
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
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.postgres.BenchPostgres;
import org.openkcm.keystore.sdk.SampleKeys;

/**
 * The PostgreSQL backend's {@code storeKey} and {@code retrieveKey} against plain JDBC prepared
 * statements (an INSERT and a SELECT by primary key of the same columns) through a pool of the
 * same size, on the same real server. Goal: at most 1.2× the plain statements.
 * <pre>
 * java -jar bench/target/benchmarks.jar PostgresBackendBenchmark -f 1 -wi 2 -i 3 -w 2s -r 3s
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class PostgresBackendBenchmark {
    private static final int STORED = 1_000;
    private static final SealedKey RECORD = SampleKeys.sealed(256, 42);
    private static final byte[] RECORD_BYTES = RECORD.bytes();
    private static final Map<String, String> TAGS = Map.of("env", "prod", "team", "crypto");

    private BenchPostgres postgres;
    private Keystore keystore;
    private final AtomicLong next = new AtomicLong();
    private SplittableRandom random;

    @Setup(Level.Trial)
    public void start() throws SQLException {
        postgres = BenchPostgres.start();
        keystore = postgres.keystore();
        for (int i = 0; i < STORED; i++) {
            KeyId id = KeyId.of("stored-" + i, 1);
            keystore.storeKey(id, RECORD, metadata(id));
            plainInsert("stored-" + i);
        }
        random = new SplittableRandom(7);
    }

    @TearDown(Level.Trial)
    public void stop() {
        postgres.close();
    }

    @Benchmark
    public KeyId storeKeystore() {
        KeyId id = KeyId.of("new-" + next.incrementAndGet(), 1);
        keystore.storeKey(id, RECORD, metadata(id));
        return id;
    }

    @Benchmark
    public String storePlainJdbc() throws SQLException {
        String name = "new-" + next.incrementAndGet();
        plainInsert(name);
        return name;
    }

    /**
     * Interleaved: one backend store and one plain store, each timed, so that both see the same
     * disk (a store is bound by the WAL flush, whose latency on a shared machine drifts a lot between
     * iterations). Ratio: {@code keystoreNanos / plainNanos} (the same number of each).
     */
    @Benchmark
    public void storeInterleaved(StoreTimes times) throws SQLException {
        long n = next.incrementAndGet();
        KeyId id = KeyId.of("mix-" + n, 1);
        // Which goes first alternates, so neither always follows the other's commit.
        if ((n & 1) == 0) {
            times.keystoreNanos += timeKeystoreStore(id);
            times.plainNanos += timePlainStore("mix-" + n);
        } else {
            times.plainNanos += timePlainStore("mix-" + n);
            times.keystoreNanos += timeKeystoreStore(id);
        }
        times.pairs++;
    }

    private long timeKeystoreStore(KeyId id) {
        long t0 = System.nanoTime();
        keystore.storeKey(id, RECORD, metadata(id));
        return System.nanoTime() - t0;
    }

    private long timePlainStore(String name) throws SQLException {
        long t0 = System.nanoTime();
        plainInsert(name);
        return System.nanoTime() - t0;
    }

    /** The times of {@link #storeInterleaved}, summed per iteration (JMH prints them as secondary results). */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class StoreTimes {
        public long keystoreNanos;
        public long plainNanos;
        public long pairs;

        @Setup(Level.Iteration)
        public void reset() {
            keystoreNanos = 0;
            plainNanos = 0;
            pairs = 0;
        }
    }

    @Benchmark
    public StoredKey retrieveKeystore() {
        return keystore.retrieveKey(KeyId.of("stored-" + random.nextInt(STORED), 1));
    }

    @Benchmark
    public byte[] retrievePlainJdbc() throws SQLException {
        try (Connection c = postgres.plain().getConnection();
             PreparedStatement s = c.prepareStatement("SELECT sealed, key_type, algorithm, key_size, status, expiry_ms,"
                     + " owner_kind, owner_id, region, parent_name, parent_version, tags, created_ms, updated_ms,"
                     + " revision, lifecycle_mac, tag_keys, tag_values FROM " + BenchPostgres.PLAIN_TABLE + " WHERE name = ? AND version = ?")) {
            s.setString(1, "stored-" + random.nextInt(STORED));
            s.setInt(2, 1);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                rs.getString(2);
                rs.getString(12);
                rs.getArray(17).getArray();
                rs.getArray(18).getArray();
                return rs.getBytes(1);
            }
        }
    }

    private void plainInsert(String name) throws SQLException {
        try (Connection c = postgres.plain().getConnection();
             PreparedStatement s = c.prepareStatement("INSERT INTO " + BenchPostgres.PLAIN_TABLE + " (name, version,"
                     + " sealed, key_type, algorithm, key_size, status, owner_kind, owner_id, tags, created_ms,"
                     + " updated_ms, revision, tag_keys, tag_values) VALUES (?, 1, ?, 'L3', 'AES', 256, 'ACTIVE',"
                     + " 'TENANT', 'acme', '{\"env\": \"prod\", \"team\": \"crypto\"}', ?, ?, 1, '{env,team}',"
                     + " '{prod,crypto}')")) {
            s.setString(1, name);
            s.setBytes(2, RECORD_BYTES);
            s.setLong(3, SampleKeys.T0.toEpochMilli());
            s.setLong(4, SampleKeys.T0.toEpochMilli());
            s.executeUpdate();
        }
    }

    private static KeyMetadata metadata(KeyId id) {
        return SampleKeys.minimal(id).tags(TAGS).build();
    }
}
