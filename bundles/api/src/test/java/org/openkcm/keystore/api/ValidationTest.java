package org.openkcm.keystore.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ValidationTest {
    private static final Instant T = Instant.parse("2026-01-01T00:00:00Z");

    private static KeyMetadata.Builder metadata(String name) {
        return KeyMetadata.builder().id(KeyId.of(name, 1)).type(KeyType.L3).algorithm("AES").keySize(256)
                .owner(Owner.tenant("acme")).createdAt(T);
    }

    @ParameterizedTest
    @ValueSource(strings = {"a", "A9", "tenant-key_1.v2", "9"})
    void safeIdentifiersPass(String name) {
        assertEquals(name, KeyId.of(name, 1).name());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", ".", "..", "../x", "a/b", "a\\b", "_x", "a b", "a\tb", "a\u007fb", "ü"})
    void unsafeIdentifiersAreRefusedNamingFieldAndRule(String name) {
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> KeyId.of(name, 1));
        assertEquals("keyId.name", e.field());
        assertTrue(e.getMessage().startsWith("invalid keyId.name: "), e.getMessage());
        if (name.length() > 2) {
            assertFalse(e.getMessage().contains(name), "the value is never echoed");
        }
    }

    @Test
    void versionsMustBePositiveAndBounded() {
        assertThrows(InvalidInputException.class, () -> KeyId.of("k", 0));
        assertThrows(InvalidInputException.class, () -> KeyId.of("k", -1));
        assertEquals(Validation.MAX_VERSION, KeyId.of("k", Validation.MAX_VERSION).version());
    }

    @Test
    void keyIdParsesItsOwnText() {
        KeyId id = KeyId.of("tenant.key", 12);
        assertEquals(id, KeyId.parse(id.toString()));
        assertEquals("keyId", assertThrows(InvalidInputException.class, () -> KeyId.parse("no-version")).field());
        assertEquals("keyId.version", assertThrows(InvalidInputException.class, () -> KeyId.parse("k:x")).field());
    }

    @Test
    void keyIdsOrderByNameThenNumericVersion() {
        assertTrue(KeyId.of("a", 2).compareTo(KeyId.of("a", 10)) < 0);
        assertTrue(KeyId.of("a", 10).compareTo(KeyId.of("b", 1)) < 0);
    }

    @Test
    void metadataRequiresEveryMandatoryField() {
        assertEquals("keyId", assertThrows(InvalidInputException.class, () -> metadata("k").id(null).build()).field());
        assertEquals("type", assertThrows(InvalidInputException.class, () -> metadata("k").type(null).build()).field());
        assertEquals("owner", assertThrows(InvalidInputException.class, () -> metadata("k").owner(null).build()).field());
        assertEquals("algorithm", assertThrows(InvalidInputException.class, () -> metadata("k").algorithm("a b").build()).field());
        assertEquals("keySize", assertThrows(InvalidInputException.class, () -> metadata("k").keySize(0).build()).field());
        assertEquals("revision", assertThrows(InvalidInputException.class, () -> metadata("k").revision(0).build()).field());
        assertEquals("updated", assertThrows(InvalidInputException.class,
                () -> metadata("k").updated(T.minusSeconds(1)).build()).field());
        assertEquals("parent", assertThrows(InvalidInputException.class,
                () -> metadata("k").parent(KeyId.of("k", 1)).build()).field());
    }

    @Test
    void tagsAreBoundedAndPrintable() {
        assertEquals("tags", assertThrows(InvalidInputException.class,
                () -> metadata("k").tags(Map.of("k", "line\nbreak")).build()).field());
        assertEquals("tags", assertThrows(InvalidInputException.class,
                () -> metadata("k").tags(Map.of("bad key", "v")).build()).field());
        assertEquals(Map.of("a:b", "any text"), metadata("k").tags(Map.of("a:b", "any text")).build().tags());
    }

    @Test
    void timesAreKeptToTheMillisecond() {
        Instant precise = Instant.parse("2026-01-01T00:00:00.123456789Z");
        KeyMetadata m = metadata("k").createdAt(precise).expiry(precise).build();
        assertEquals(Instant.parse("2026-01-01T00:00:00.123Z"), m.created());
        assertEquals(m.created(), m.expiry().orElseThrow());
    }

    @Test
    void timesBeyondWhatEpochMillisecondsHoldAreRefusedByName() {
        assertEquals("created", assertThrows(InvalidInputException.class,
                () -> metadata("k").createdAt(Instant.MAX).build()).field());
        assertEquals("updated", assertThrows(InvalidInputException.class,
                () -> metadata("k").updated(Instant.MAX).build()).field());
    }

    @Test
    void timesBeforeTheEpochAreKeptToTheMillisecondToo() {
        KeyMetadata m = metadata("k").createdAt(Instant.parse("1969-12-31T23:59:59.999999Z")).build();
        assertEquals(Instant.parse("1969-12-31T23:59:59.999Z"), m.created());
        assertEquals(m.created(), m.updated());
    }

    @Test
    void updatesMayChangeOnlyLifecycleFieldsAtTheNextRevision() {
        KeyMetadata stored = metadata("k").build();
        KeyMetadata next = stored.toBuilder().status(KeyStatus.RETIRED).tags(Map.of("x", "y")).revision(2).build();
        Validation.metadataUpdate(stored, next);

        assertThrows(ConflictException.class, () -> Validation.metadataUpdate(stored, stored));
        assertThrows(InvalidInputException.class,
                () -> Validation.metadataUpdate(stored, next.toBuilder().keySize(128).build()));
        assertThrows(ConflictException.class, () -> Validation.rewrap(stored, 2));
        Validation.rewrap(stored, 1);
    }

    @Test
    void expiryIsReachedAtItsInstant() {
        KeyMetadata m = metadata("k").expiry(T.plusSeconds(10)).build();
        assertFalse(m.isExpiredAt(T.plusSeconds(9)));
        assertTrue(m.isExpiredAt(T.plusSeconds(10)));
        assertFalse(metadata("k").build().isExpiredAt(Instant.MAX));
    }

    @Test
    void cursorsRoundTripAndForgeriesAreRefused() {
        KeyId id = KeyId.of("k-1", 3);
        assertEquals(id, KeyPage.positionOf(KeyPage.cursorAfter(id)));
        assertEquals("filter.cursor", assertThrows(InvalidInputException.class, () -> KeyPage.positionOf("!!")).field());
        assertEquals("filter.cursor", assertThrows(InvalidInputException.class,
                () -> KeyFilter.builder().cursor("with space").build()).field());
    }

    @Test
    void selectPagesAnOrderedSequence() {
        java.util.List<KeyMetadata> keys = java.util.List.of(metadata("a").build(), metadata("b").build(),
                metadata("c").owner(Owner.tenant("other")).build(), metadata("d").build());
        KeyFilter first = KeyFilter.builder().ownerId("acme").pageSize(2).build();

        KeyPage one = KeyPage.select(keys, first);
        KeyPage two = KeyPage.select(keys, first.withCursor(one.nextCursor().orElseThrow()));

        assertEquals(java.util.List.of(keys.get(0), keys.get(1)), one.keys());
        assertEquals(java.util.List.of(keys.get(3)), two.keys());
        assertTrue(two.nextCursor().isEmpty());
    }
}
