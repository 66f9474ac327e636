package org.openkcm.keystore.bench;

import java.security.SecureRandom;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.core.crypto.RandomSource;
import org.openkcm.keystore.core.envelope.BoundMetadata;
import org.openkcm.keystore.core.kek.KekRing;

/** Where the envelope's time goes: each step of a seal+open on its own, to explain EnvelopeBenchmark's ratio. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class EnvelopePartsBenchmark {
    private final SecureRandom random = new SecureRandom();
    private final byte[] fresh = new byte[44];
    private final byte[] fresh56 = new byte[12];
    private final RandomSource secure = RandomSource.secure();
    private Cipher kw;
    private Cipher gcm;
    private SecretKeySpec kek;
    private byte[] dataKey;
    private byte[] material;
    private byte[] nonce;
    private KeyMetadata metadata;
    private long counter;
    private KekRing gcmRing;
    private KekRing kwRing;

    @Setup
    public void setup() throws Exception {
        kw = Cipher.getInstance("AES/KW/NoPadding");
        gcm = Cipher.getInstance("AES/GCM/NoPadding");
        byte[] k = new byte[32];
        random.nextBytes(k);
        kek = new SecretKeySpec(k, "AES");
        dataKey = new byte[32];
        material = new byte[32];
        nonce = new byte[12];
        random.nextBytes(dataKey);
        random.nextBytes(material);
        metadata = KeyMetadata.builder().id(KeyId.of("bench-key", 1)).type(KeyType.L4).algorithm("AES").keySize(256)
                .owner(Owner.service("bench")).region("eu-1").parent(KeyId.of("svc-kek", 3))
                .createdAt(Instant.parse("2026-01-01T00:00:00Z")).build();
        gcmRing = KekRing.of("bench", Map.of(1, k), KekRing.Wrap.GCM);
        kwRing = KekRing.of("bench", Map.of(1, k), KekRing.Wrap.KW);
    }

    /** 44 random bytes from the JDK's default SecureRandom (NativePRNG), as each seal drew them before. */
    @Benchmark
    public byte[] random44() {
        random.nextBytes(fresh);
        return fresh;
    }

    /** The 44 random bytes of one seal from the envelope's source: this thread's Hash_DRBG, drawn in blocks. */
    @Benchmark
    public byte[] secureSource44() {
        secure.nextBytes(fresh);
        return fresh;
    }

    /** All 56 random bytes of one seal (data key, nonce, the ring's wrap nonce) from the envelope's source. */
    @Benchmark
    public byte[] secureSource56() {
        secure.nextBytes(fresh, 0, 44);
        secure.nextBytes(fresh56, 0, 12);
        return fresh;
    }

    /** AES-KW wrap and unwrap of a 32-byte data key under the KEK (JDK AES/KW/NoPadding). */
    @Benchmark
    public byte[] kwWrapUnwrap() throws Exception {
        kw.init(Cipher.ENCRYPT_MODE, kek);
        byte[] wrapped = kw.doFinal(dataKey);
        kw.init(Cipher.DECRYPT_MODE, kek);
        return kw.doFinal(wrapped);
    }

    /** The local ring's default wrap and unwrap: AES-256-GCM under a reused per-thread cipher, a fresh nonce. */
    @Benchmark
    public byte[] ringGcmWrapUnwrap() {
        return gcmRing.unwrap(1, gcmRing.wrap(1, dataKey));
    }

    /** The local ring's KW wrap and unwrap (its initialised per-thread ciphers), as every ring wrapped before. */
    @Benchmark
    public byte[] ringKwWrapUnwrap() {
        return kwRing.unwrap(1, kwRing.wrap(1, dataKey));
    }

    /** GCM encrypt+decrypt of 32 bytes under a key that changes every time (as each record's data key does). */
    @Benchmark
    public byte[] gcmFreshKeyEncryptDecrypt() throws Exception {
        long n = ++counter;
        for (int i = 0; i < 8; i++) {
            nonce[4 + i] = (byte) (n >>> (8 * i));
        }
        dataKey[0] = (byte) n;
        SecretKeySpec key = new SecretKeySpec(dataKey, "AES");
        gcm.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, nonce));
        byte[] ciphertext = gcm.doFinal(material);
        gcm.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(128, nonce));
        return gcm.doFinal(ciphertext);
    }

    /** The canonical bound-metadata encoding, done twice per seal+open. */
    @Benchmark
    public byte[] boundMetadataEncoding() {
        return BoundMetadata.encode(metadata);
    }
}
