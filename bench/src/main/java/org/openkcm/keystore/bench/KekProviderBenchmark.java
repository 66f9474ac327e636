package org.openkcm.keystore.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

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
import org.openkcm.keystore.core.envelope.Envelope;
import org.openkcm.keystore.core.envelope.KekDirectory;
import org.openkcm.keystore.core.kek.FileKekProvider;
import org.openkcm.keystore.kek.awskms.BenchKms;
import org.openkcm.keystore.kek.pkcs11.BenchPkcs11;
import org.openkcm.keystore.kek.transit.BenchTransit;

/**
 * Envelope seal+open of a 32-byte key per record, in one run: under the local file KEK (the
 * baseline), under the Transit, PKCS#11 and AWS KMS providers as shipped (the ring unsealed once at
 * start, every wrap local), and with the design not chosen, each data key wrapped by the root
 * itself (Transit encrypt/decrypt on a real OpenBao dev server; AES-GCM in a SoftHSM2 token through
 * SunPKCS11; KMS Encrypt/Decrypt on moto; the servers on loopback, so a real network adds its round
 * trip on top). SoftHSM2 needs {@code SOFTHSM2_CONF} set before the JVM starts (README).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class KekProviderBenchmark {
    private Envelope fileKek;
    private Envelope transitRing;
    private Envelope transitPerRecord;
    private Envelope pkcs11Ring;
    private Envelope pkcs11PerRecord;
    private BenchPkcs11 pkcs11;
    private Envelope kmsRing;
    private Envelope kmsPerRecord;
    private BenchKms kms;
    private KeyMetadata metadata;
    private byte[] material;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        Path dir = Files.createTempDirectory("kek-bench");
        dir.toFile().deleteOnExit();
        fileKek = new Envelope(KekDirectory.of(FileKekProvider.open(dir.resolve("local.kek"), "local", true)));
        BenchTransit transit = BenchTransit.start(dir);
        transitRing = new Envelope(KekDirectory.of(transit.ring));
        transitPerRecord = new Envelope(KekDirectory.of(new PerRecordRootKek(transit.root, transit.ring)));
        pkcs11 = BenchPkcs11.start(dir);
        pkcs11Ring = new Envelope(KekDirectory.of(pkcs11.ring));
        pkcs11PerRecord = new Envelope(KekDirectory.of(new PerRecordRootKek(pkcs11.root, pkcs11.ring)));
        kms = BenchKms.start(dir);
        kmsRing = new Envelope(KekDirectory.of(kms.ring));
        kmsPerRecord = new Envelope(KekDirectory.of(new PerRecordRootKek(kms.root, kms.ring)));
        metadata = KeyMetadata.builder().id(KeyId.of("bench-key", 1)).type(KeyType.L4).algorithm("AES").keySize(256)
                .owner(Owner.service("bench")).createdAt(Instant.parse("2026-01-01T00:00:00Z")).build();
        material = new byte[32];
        new SecureRandom().nextBytes(material);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pkcs11.close();
        kms.close();
    }

    private byte[] sealOpen(Envelope envelope) {
        SealedKey sealed = envelope.seal(metadata, material);
        return envelope.open(sealed, metadata);
    }

    @Benchmark
    public byte[] fileKekBaseline() {
        return sealOpen(fileKek);
    }

    @Benchmark
    public byte[] transitRingAtRest() {
        return sealOpen(transitRing);
    }

    @Benchmark
    public byte[] transitPerRecordRemote() {
        return sealOpen(transitPerRecord);
    }

    @Benchmark
    public byte[] pkcs11RingAtRest() {
        return sealOpen(pkcs11Ring);
    }

    @Benchmark
    public byte[] pkcs11PerRecordInToken() {
        return sealOpen(pkcs11PerRecord);
    }

    @Benchmark
    public byte[] kmsRingAtRest() {
        return sealOpen(kmsRing);
    }

    @Benchmark
    public byte[] kmsPerRecordRemote() {
        return sealOpen(kmsPerRecord);
    }
}
