package org.openkcm.keystore.core.operations;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.ConflictException;
import org.openkcm.keystore.api.KeyExistsException;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.testing.RecordingKeystore;

/** Status rules, rotate, compare-and-set changes, delete and list. */
class LifecycleTest {
    private final Fixture f = new Fixture();

    @Test
    void deprecatedStillOpensRetiredIsRefused() {
        KeyMetadata m = f.ops.generate(Fixture.spec("k").build());
        byte[] material = f.material(m.id());
        KeyMetadata deprecated = f.ops.changeStatus(m.id(), KeyStatus.DEPRECATED, 1);
        assertArrayEquals(material, f.material(m.id()));
        f.ops.changeStatus(m.id(), KeyStatus.RETIRED, deprecated.revision());
        PolicyRefusedException e = assertThrows(PolicyRefusedException.class, () -> f.ops.get(m.id()));
        assertTrue(e.getMessage().contains("RETIRED"), e.getMessage());
        assertEquals(KeyStatus.RETIRED, f.ops.metadata(m.id()).status(), "metadata is kept");
    }

    @Test
    void expiredIsRefusedAtRetrieval() {
        KeyMetadata m = f.ops.generate(Fixture.spec("k").expiry(Fixture.T0.plusSeconds(60)).build());
        f.material(m.id());
        f.clock.advanceMillis(60_000);
        assertThrows(PolicyRefusedException.class, () -> f.ops.get(m.id()));
        KeyMetadata extended = f.ops.changeExpiry(m.id(), Fixture.T0.plusSeconds(3600), 1);
        assertEquals(2, extended.revision());
        f.material(m.id());
        f.ops.changeExpiry(m.id(), null, 2);
        f.clock.advanceMillis(Duration.ofDays(3650).toMillis());
        f.material(m.id());
    }

    @Test
    void aRetiredKeyStaysRetired() {
        KeyMetadata m = f.ops.generate(Fixture.spec("k").build());
        f.ops.changeStatus(m.id(), KeyStatus.RETIRED, 1);
        Map<KeyId, StoredKey> before = f.snapshot();
        assertThrows(PolicyRefusedException.class, () -> f.ops.changeStatus(m.id(), KeyStatus.ACTIVE, 2));
        assertThrows(PolicyRefusedException.class, () -> f.ops.changeStatus(m.id(), KeyStatus.DEPRECATED, 2));
        assertEquals(before, f.snapshot());
    }

    @Test
    void changesAreCompareAndSetAndEachRecomputesTheMac() {
        KeyMetadata m = f.ops.generate(Fixture.spec("k").tags(Map.of("a", "1")).build());
        f.clock.advanceMillis(1000);
        KeyMetadata tagged = f.ops.changeTags(m.id(), Map.of("b", "2"), 1);
        assertEquals(2, tagged.revision());
        assertEquals(Map.of("b", "2"), tagged.tags());
        assertEquals(Fixture.T0.plusSeconds(1), tagged.updated());
        assertEquals(m.created(), tagged.created());
        assertNotEquals(m.lifecycleMac(), tagged.lifecycleMac());
        assertEquals(tagged, f.ops.metadata(m.id()));

        Map<KeyId, StoredKey> before = f.snapshot();
        ConflictException stale = assertThrows(ConflictException.class,
                () -> f.ops.changeStatus(m.id(), KeyStatus.DEPRECATED, 1));
        assertEquals(1, stale.expectedRevision());
        assertEquals(2, stale.storedRevision());
        assertThrows(ConflictException.class, () -> f.ops.changeTags(m.id(), Map.of(), 3));
        assertThrows(ConflictException.class, () -> f.ops.changeExpiry(m.id(), null, 1));
        assertEquals(before, f.snapshot(), "nothing changed");

        KeyMetadata deprecated = f.ops.changeStatus(m.id(), KeyStatus.DEPRECATED, 2);
        assertEquals(3, deprecated.revision());
        assertEquals(Map.of("b", "2"), deprecated.tags());
    }

    @Test
    void rotateMakesANewActiveVersionAndDeprecatesThePrevious() {
        KeyMetadata v1 = f.ops.generate(Fixture.spec("k").region("eu-1").tags(Map.of("x", "y"))
                .expiry(Fixture.T0.plus(Duration.ofDays(30))).build());
        byte[] m1 = f.material(v1.id());
        f.clock.advanceMillis(Duration.ofDays(1).toMillis());
        KeyMetadata v2 = f.ops.rotate("k");
        assertEquals(KeyId.of("k", 2), v2.id());
        assertEquals(KeyStatus.ACTIVE, v2.status());
        assertEquals(1, v2.revision());
        assertEquals(v1.type(), v2.type());
        assertEquals(v1.owner(), v2.owner());
        assertEquals(v1.region(), v2.region());
        assertEquals(v1.tags(), v2.tags());
        assertEquals(f.clock.instant().plus(Duration.ofDays(30)), v2.expiry().orElseThrow(), "same lifetime");
        assertEquals(KeyStatus.DEPRECATED, f.ops.metadata(v1.id()).status());
        assertFalse(Arrays.equals(m1, f.material(v2.id())), "fresh material");
        assertArrayEquals(m1, f.material(v1.id()), "the previous version still opens");

        KeyMetadata v3 = f.ops.rotate("k");
        assertEquals(3, v3.id().version());
        assertEquals(KeyStatus.DEPRECATED, f.ops.metadata(v2.id()).status());
        assertThrows(KeyNotFoundException.class, () -> f.ops.rotate("nothing"));
    }

    @Test
    void rotateFindsTheNewestVersionAmongOtherNames() {
        f.ops.generate(Fixture.spec("a").build());
        f.ops.generate(Fixture.spec("k").build());
        f.ops.generate(Fixture.spec("k-1").build());
        f.ops.generate(Fixture.spec("k0").build());
        f.ops.rotate("k");
        f.ops.rotate("k");
        f.ops.delete(KeyId.of("k", 1));
        assertEquals(KeyId.of("k", 4), f.ops.rotate("k").id(), "version 1 gone, versions 2 and 3 remain");
        assertEquals(KeyId.of("k-1", 2), f.ops.rotate("k-1").id());
        assertEquals(3, f.ops.deleteAllVersions("k"));
        assertThrows(KeyNotFoundException.class, () -> f.ops.metadata(KeyId.of("k", 4)));
        assertEquals(List.of("a:1", "k-1:1", "k-1:2", "k0:1"),
                f.ops.list(KeyFilter.all()).keys().stream().map(m -> m.id().toString()).toList());
    }

    @Test
    void aRotateThatCannotDeprecateThePreviousVersionLeavesNoNewVersion() {
        RecordingKeystore failing = new RecordingKeystore() {
            @Override
            public KeyMetadata updateKeyMetadata(KeyId id, KeyMetadata metadata) {
                throw new UnavailableException("injected");
            }
        };
        DefaultKeystoreOperations ops = DefaultKeystoreOperations.of(failing, List.of(f.kek));
        ops.generate(Fixture.spec("k").build());
        Map<KeyId, StoredKey> before = failing.snapshot();
        assertThrows(UnavailableException.class, () -> ops.rotate("k"));
        assertEquals(before, failing.snapshot(), "the new version was removed again");
    }

    @Test
    void generateOfAnExistingNameIsRefused() {
        f.ops.generate(Fixture.spec("k").build());
        Map<KeyId, StoredKey> before = f.snapshot();
        assertThrows(KeyExistsException.class, () -> f.ops.generate(Fixture.spec("k").build()));
        assertEquals(before, f.snapshot());
    }

    @Test
    void deleteIsPermanent() {
        KeyMetadata m = f.ops.generate(Fixture.spec("k").build());
        assertTrue(f.ops.delete(m.id()));
        assertFalse(f.ops.delete(m.id()));
        assertThrows(KeyNotFoundException.class, () -> f.ops.get(m.id()));
        assertEquals(0, f.ops.deleteAllVersions("k"));
        // The id can be used again, as a new key.
        f.clock.advanceMillis(1);
        KeyMetadata again = f.ops.generate(Fixture.spec("k").build());
        assertEquals(1, again.revision());
        f.material(again.id());
    }

    @Test
    void listPagesMetadataOnly() {
        for (int i = 0; i < 7; i++) {
            f.ops.generate(Fixture.spec("k" + i).build());
        }
        KeyPage first = f.ops.list(KeyFilter.builder().pageSize(5).build());
        assertEquals(5, first.keys().size());
        KeyPage second = f.ops.list(KeyFilter.builder().pageSize(5).cursor(first.nextCursor().orElseThrow()).build());
        assertEquals(2, second.keys().size());
        assertTrue(second.nextCursor().isEmpty());
        assertEquals(f.ops.metadata(KeyId.of("k0", 1)), first.keys().get(0));
    }
}
