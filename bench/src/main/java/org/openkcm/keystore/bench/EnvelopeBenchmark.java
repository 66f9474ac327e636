package org.openkcm.keystore.bench;

import java.security.SecureRandom;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import com.google.crypto.tink.Aead;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.RegistryConfiguration;
import com.google.crypto.tink.aead.AeadConfig;
import com.google.crypto.tink.aead.KmsEnvelopeAead;
import com.google.crypto.tink.aead.PredefinedAeadParameters;

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
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.core.envelope.BoundMetadata;
import org.openkcm.keystore.core.envelope.Envelope;
import org.openkcm.keystore.core.envelope.KekDirectory;

/**
 * Envelope seal+open of a 32-byte key against a peer and two floors, in one run:
 * <ul>
 * <li>Google Tink doing the same job: {@code KmsEnvelopeAead}, a fresh AES-256-GCM data key per
 * message wrapped by a local AES-256-GCM KEK AEAD (goal: the envelope at most 1x Tink). Tink is
 * given the bound-metadata bytes as associated data, encoded once, so it does less than the envelope;</li>
 * <li>the fresh-key GCM floor: plain JCE AES-256-GCM encrypt+decrypt of the 32 bytes under a key that
 * changes every time, as each record's data key does, with no randomness and no wrap (goal: at most 2x);</li>
 * <li>raw AES-256-GCM with a reused key and Cipher, for reference.</li>
 * </ul>
 * The envelope does, per record: 32 + 12 random bytes, the wrap and unwrap of the data key, two GCM
 * inits, and the AAD encoding.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class EnvelopeBenchmark {
    private Envelope envelope;
    private KeyMetadata metadata;
    private byte[] material;

    private Cipher cipher;
    private SecretKeySpec rawKey;
    private byte[] iv;
    private long counter;

    private Aead tink;
    private byte[] tinkAad;

    private Cipher freshCipher;
    private byte[] freshKey;
    private byte[] freshNonce;
    private long freshCounter;

    @Setup
    public void setup() throws Exception {
        envelope = new Envelope(KekDirectory.of(new BenchKeks()));
        metadata = KeyMetadata.builder().id(KeyId.of("bench-key", 1)).type(KeyType.L4).algorithm("AES").keySize(256)
                .owner(Owner.service("bench")).region("eu-1").parent(KeyId.of("svc-kek", 3))
                .createdAt(Instant.parse("2026-01-01T00:00:00Z")).build();
        material = new byte[32];
        new SecureRandom().nextBytes(material);

        cipher = Cipher.getInstance("AES/GCM/NoPadding");
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        rawKey = new SecretKeySpec(key, "AES");
        iv = new byte[12];

        AeadConfig.register();
        Aead kek = KeysetHandle.generateNew(PredefinedAeadParameters.AES256_GCM)
                .getPrimitive(RegistryConfiguration.get(), Aead.class);
        tink = KmsEnvelopeAead.create(PredefinedAeadParameters.AES256_GCM, kek);
        tinkAad = BoundMetadata.encode(metadata);

        freshCipher = Cipher.getInstance("AES/GCM/NoPadding");
        freshKey = new byte[32];
        new SecureRandom().nextBytes(freshKey);
        freshNonce = new byte[12];
    }

    /** Seal then open one 32-byte key: the record alone. */
    @Benchmark
    public byte[] envelopeSealOpen() {
        SealedKey sealed = envelope.seal(metadata, material);
        return envelope.open(sealed, metadata);
    }

    /** Seal, MAC, verify, open: everything the envelope does for a generate and a get. */
    @Benchmark
    public byte[] envelopeSealOpenWithLifecycleMac() {
        SealedKey sealed = envelope.seal(metadata, material);
        KeyMetadata m = envelope.withLifecycleMac(metadata);
        envelope.verifyLifecycle(m);
        return envelope.open(sealed, m);
    }

    /** The peer: Tink's envelope AEAD encrypts then decrypts the same 32 bytes (fresh data key, KEK-wrapped). */
    @Benchmark
    public byte[] tinkEnvelopeEncryptDecrypt() throws Exception {
        return tink.decrypt(tink.encrypt(material, tinkAad), tinkAad);
    }

    /** The floor: AES-256-GCM encrypt+decrypt of the 32 bytes under a key that changes every time (no wrap, no randomness). */
    @Benchmark
    public byte[] freshKeyGcmFloor() throws Exception {
        long n = ++freshCounter;
        for (int i = 0; i < 8; i++) {
            freshNonce[4 + i] = (byte) (n >>> (8 * i));
            freshKey[i] = (byte) (n >>> (8 * i));
        }
        SecretKeySpec key = new SecretKeySpec(freshKey, "AES");
        freshCipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, freshNonce));
        byte[] ciphertext = freshCipher.doFinal(material);
        freshCipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(128, freshNonce));
        return freshCipher.doFinal(ciphertext);
    }

    /** For reference: AES-256-GCM encrypt+decrypt of the same 32 bytes, one reused Cipher, a counter nonce. */
    @Benchmark
    public byte[] rawGcmEncryptDecrypt() throws Exception {
        long n = ++counter;
        for (int i = 0; i < 8; i++) {
            iv[4 + i] = (byte) (n >>> (8 * i));
        }
        cipher.init(Cipher.ENCRYPT_MODE, rawKey, new GCMParameterSpec(128, iv));
        byte[] ciphertext = cipher.doFinal(material);
        cipher.init(Cipher.DECRYPT_MODE, rawKey, new GCMParameterSpec(128, iv));
        return cipher.doFinal(ciphertext);
    }
}
