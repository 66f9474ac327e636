package org.openkcm.keystore.core.envelope;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.OwnerKind;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.core.kek.KekRing;
import org.openkcm.keystore.core.testing.TestKeks;

/** The envelope on its own: layout, and that every alteration is an integrity failure. */
class EnvelopeTest {
    private static final Instant T0 = Instant.parse("2026-05-01T12:00:00.001Z");
    private static final byte[] MATERIAL = TestKeks.kek(42);

    private final TestKeks.Fixed kek = TestKeks.fixed("test", 1);
    private final Envelope envelope = new Envelope(KekDirectory.of(kek));

    private static KeyMetadata metadata(String name, int version) {
        return KeyMetadata.builder().id(KeyId.of(name, version)).type(KeyType.L3).algorithm("AES").keySize(256)
                .owner(Owner.tenant("acme")).region("eu-1").parent(KeyId.of("root", 1)).createdAt(T0)
                .expiry(T0.plusSeconds(3600)).tags(Map.of("a", "1")).status(KeyStatus.ACTIVE).revision(1).build();
    }

    @Test
    void sealThenOpenReturnsTheMaterialAndTheRecordNamesItsKek() {
        KeyMetadata m = metadata("k", 1);
        SealedKey sealed = envelope.seal(m, MATERIAL);
        assertArrayEquals(MATERIAL, envelope.open(sealed, m));
        byte[] bytes = sealed.bytes();
        assertEquals(Envelope.FORMAT_V1, bytes[0]);
        assertEquals(new KekRef("test", 1), Envelope.recordKek(sealed, m.id()));
        // version + id + kek version + wrapped length + GCM wrap (format, nonce, 32, tag)=61 + nonce + material + tag
        assertEquals(1 + 1 + 4 + 4 + 2 + 61 + 12 + MATERIAL.length + 16, bytes.length);
    }

    @Test
    void everySealUsesAFreshDataKeyAndNonce() {
        KeyMetadata m = metadata("k", 1);
        byte[] a = envelope.seal(m, MATERIAL).bytes();
        byte[] b = envelope.seal(m, MATERIAL).bytes();
        assertFalse(Arrays.equals(a, b));
        assertFalse(Arrays.equals(Arrays.copyOfRange(a, 12, 73), Arrays.copyOfRange(b, 12, 73)), "wrapped data keys");
        assertFalse(Arrays.equals(Arrays.copyOfRange(a, 52, 64), Arrays.copyOfRange(b, 52, 64)), "nonces");
    }

    @Test
    void everySingleBitFlipOfTheRecordIsAnIntegrityFailure() {
        KeyMetadata m = metadata("k", 1);
        byte[] bytes = envelope.seal(m, MATERIAL).bytes();
        for (int i = 0; i < bytes.length; i++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] flipped = bytes.clone();
                flipped[i] ^= (byte) (1 << bit);
                int at = i;
                int b = bit;
                assertThrows(IntegrityException.class, () -> envelope.open(SealedKey.of(flipped), m),
                        () -> "byte " + at + " bit " + b);
            }
        }
    }

    @Test
    void truncatedOrExtendedRecordsAreIntegrityFailures() {
        KeyMetadata m = metadata("k", 1);
        byte[] bytes = envelope.seal(m, MATERIAL).bytes();
        for (int length = 0; length < bytes.length; length++) {
            byte[] cut = Arrays.copyOf(bytes, length);
            assertThrows(IntegrityException.class, () -> envelope.open(SealedKey.of(cut), m), "length " + length);
        }
        byte[] longer = Arrays.copyOf(bytes, bytes.length + 1);
        assertThrows(IntegrityException.class, () -> envelope.open(SealedKey.of(longer), m));
    }

    @Test
    void aRecordOpensOnlyForTheMetadataItWasSealedFor() {
        KeyMetadata m = metadata("k", 1);
        SealedKey sealed = envelope.seal(m, MATERIAL);
        List<UnaryOperator<KeyMetadata.Builder>> changes = List.of(
                b -> b.id(KeyId.of("other", 1)),
                b -> b.id(KeyId.of("k", 2)),
                b -> b.type(KeyType.L4),
                b -> b.owner(Owner.tenant("acme2")),
                b -> b.owner(Owner.of(OwnerKind.SERVICE, "acme")),
                b -> b.algorithm("HMAC-SHA256"),
                b -> b.keySize(128),
                b -> b.parent(KeyId.of("root", 2)),
                b -> b.parent(null),
                b -> b.region("eu-2"),
                b -> b.region(null),
                b -> b.created(T0.minusMillis(1)));
        for (int i = 0; i < changes.size(); i++) {
            KeyMetadata altered = changes.get(i).apply(m.toBuilder()).build();
            assertThrows(IntegrityException.class, () -> envelope.open(sealed, altered), "bound change " + i);
        }
        // Lifecycle fields are not bound to the record (they change); the MAC covers them.
        assertArrayEquals(MATERIAL, envelope.open(sealed, m.toBuilder().status(KeyStatus.RETIRED).revision(9).build()));
    }

    @Test
    void theLifecycleMacCoversEveryFieldAndTheKeysIdentity() {
        KeyMetadata m = envelope.withLifecycleMac(metadata("k", 1));
        envelope.verifyLifecycle(m);
        List<UnaryOperator<KeyMetadata.Builder>> changes = List.of(
                b -> b.status(KeyStatus.DEPRECATED),
                b -> b.expiry(T0.plusSeconds(7200)),
                b -> b.expiry(null),
                b -> b.tags(Map.of("a", "2")),
                b -> b.tags(Map.of()),
                b -> b.revision(2),
                b -> b.updated(T0.plusMillis(1)),
                b -> b.id(KeyId.of("other", 1)),
                b -> b.id(KeyId.of("k", 2)),
                b -> b.type(KeyType.L2),
                b -> b.owner(Owner.tenant("evil")),
                b -> b.algorithm("HMAC-SHA512"),
                b -> b.keySize(512),
                b -> b.parent(null),
                b -> b.region(null),
                b -> b.created(T0.minusSeconds(1)));
        for (int i = 0; i < changes.size(); i++) {
            KeyMetadata altered = changes.get(i).apply(m.toBuilder()).build();
            assertThrows(IntegrityException.class, () -> envelope.verifyLifecycle(altered), "change " + i);
        }
    }

    @Test
    void aStrippedAlteredOrBorrowedMacIsAnIntegrityFailure() {
        KeyMetadata m = envelope.withLifecycleMac(metadata("k", 1));
        String mac = m.lifecycleMac().orElseThrow();
        assertThrows(IntegrityException.class, () -> envelope.verifyLifecycle(m.toBuilder().lifecycleMac(null).build()));

        byte[] token = Base64.getUrlDecoder().decode(mac);
        for (int i = 0; i < token.length; i++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] flipped = token.clone();
                flipped[i] ^= (byte) (1 << bit);
                KeyMetadata altered = m.toBuilder()
                        .lifecycleMac(Base64.getUrlEncoder().withoutPadding().encodeToString(flipped)).build();
                int at = i;
                assertThrows(IntegrityException.class, () -> envelope.verifyLifecycle(altered), () -> "MAC byte " + at);
            }
        }
        KeyMetadata truncated = m.toBuilder().lifecycleMac(mac.substring(0, mac.length() - 2)).build();
        assertThrows(IntegrityException.class, () -> envelope.verifyLifecycle(truncated));

        KeyMetadata other = envelope.withLifecycleMac(metadata("other", 1));
        KeyMetadata borrowed = m.toBuilder().lifecycleMac(other.lifecycleMac().orElseThrow()).build();
        assertThrows(IntegrityException.class, () -> envelope.verifyLifecycle(borrowed));
    }

    @Test
    void aMacMadeUnderAnotherKekDoesNotVerify() {
        KeyMetadata m = envelope.withLifecycleMac(metadata("k", 1));
        Envelope impostor = new Envelope(KekDirectory.of(new TestKeks.Fixed("test", Map.of(1, TestKeks.kek(77)), KekRing.Wrap.GCM)));
        assertThrows(IntegrityException.class, () -> impostor.verifyLifecycle(m));
        SealedKey sealed = envelope.seal(m, MATERIAL);
        assertThrows(IntegrityException.class, () -> impostor.open(sealed, m));
    }

    @Test
    void rewrapMovesTheDataKeyAndLeavesTheMaterialCiphertextAlone() {
        TestKeks.Fixed ring = TestKeks.fixed("test", 1);
        Envelope v1 = new Envelope(KekDirectory.of(ring));
        KeyMetadata m = metadata("k", 1);
        SealedKey old = v1.seal(m, MATERIAL);
        ring.replace("test", Map.of(1, TestKeks.kek(1), 2, TestKeks.kek(2)));
        assertArrayEquals(MATERIAL, v1.open(old, m), "v1 records open after rotation to v2");

        SealedKey rewrapped = v1.rewrap(old, m);
        assertEquals(new KekRef("test", 2), Envelope.recordKek(rewrapped, m.id()));
        byte[] a = old.bytes();
        byte[] b = rewrapped.bytes();
        assertArrayEquals(Arrays.copyOfRange(a, a.length - 12 - MATERIAL.length - 16, a.length),
                Arrays.copyOfRange(b, b.length - 12 - MATERIAL.length - 16, b.length), "nonce and ciphertext unchanged");
        assertNotEquals(Arrays.toString(Arrays.copyOfRange(a, 12, 52)), Arrays.toString(Arrays.copyOfRange(b, 12, 52)));

        ring.replace("test", Map.of(2, TestKeks.kek(2)));
        assertArrayEquals(MATERIAL, v1.open(rewrapped, m), "opens with v1 removed");
        IntegrityException gone = assertThrows(IntegrityException.class, () -> v1.open(old, m));
        assertTrue(gone.getMessage().contains("removed before its records were re-wrapped"), gone.getMessage());
    }

    @Test
    void aTamperedRecordIsNeverRewrapped() {
        KeyMetadata m = metadata("k", 1);
        byte[] bytes = envelope.seal(m, MATERIAL).bytes();
        bytes[bytes.length - 20] ^= 1;
        assertThrows(IntegrityException.class, () -> envelope.rewrap(SealedKey.of(bytes), m));
        SealedKey good = envelope.seal(m, MATERIAL);
        assertThrows(IntegrityException.class, () -> envelope.rewrap(good, metadata("moved", 1)));
    }

    @Test
    void aRecordUnderAKekIdThatIsNotPresentIsAnIntegrityFailure() {
        KeyMetadata m = metadata("k", 1);
        SealedKey sealed = new Envelope(KekDirectory.of(TestKeks.fixed("elsewhere", 1))).seal(m, MATERIAL);
        assertThrows(IntegrityException.class, () -> envelope.open(sealed, m));
    }
}
