package org.openkcm.keystore.core.operations;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.StoredKey;

/**
 * Generate and import refuse, before anything is stored, an expiry that is not in the future and,
 * for L3 and L4 keys, a parent that is not a stored ACTIVE, unexpired key. An L2 key's parent is an
 * L1 key held in an external KMS: it is never looked up.
 */
class GenerateValidationTest {
    private final Fixture f = new Fixture();

    @Test
    void anExpiryInThePastOrNowIsRefusedNamingTheFieldAndNothingIsStored() {
        for (var expiry : java.util.List.of(Fixture.T0.minusSeconds(1), Fixture.T0)) {
            InvalidInputException e = assertThrows(InvalidInputException.class,
                    () -> f.ops.generate(Fixture.spec("k").expiry(expiry).build()));
            assertEquals("expiry", e.field());
            assertEquals("invalid expiry (key k:1): must be in the future", e.getMessage());
            try (KeyMaterial m = KeyMaterial.copyOf(new byte[32])) {
                assertThrows(InvalidInputException.class, () -> f.ops.importKey(Fixture.spec("k").expiry(expiry).build(), m));
            }
        }
        assertTrue(f.backend.snapshot().isEmpty());
        assertEquals(Fixture.T0.plusSeconds(1), f.ops.generate(Fixture.spec("k").expiry(Fixture.T0.plusSeconds(1)).build())
                .expiry().orElseThrow());
    }

    @Test
    void aParentThatDoesNotExistIsRefusedNamingTheField() {
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> f.ops.generate(Fixture.spec("child").parent(KeyId.of("nosuch", 1)).build()));
        assertEquals("parent", e.field());
        assertEquals("invalid parent (key child:1): must name a stored key; nosuch:1 does not exist", e.getMessage());
        assertTrue(f.backend.snapshot().isEmpty());
    }

    @Test
    void aParentThatIsNotActiveOrHasExpiredIsRefusedByPolicy() {
        KeyMetadata deprecated = f.ops.generate(Fixture.spec("deprecated").type(KeyType.L3).build());
        f.ops.changeStatus(deprecated.id(), KeyStatus.DEPRECATED, 1);
        KeyMetadata retired = f.ops.generate(Fixture.spec("retired").type(KeyType.L3).build());
        f.ops.changeStatus(retired.id(), KeyStatus.RETIRED, 1);
        f.ops.generate(Fixture.spec("expiring").type(KeyType.L3).expiry(Fixture.T0.plusSeconds(10)).build());
        f.clock.advanceMillis(11_000);
        Map<KeyId, StoredKey> before = Map.copyOf(f.backend.snapshot());

        for (String parent : new String[] {"deprecated", "retired", "expiring"}) {
            PolicyRefusedException e = assertThrows(PolicyRefusedException.class,
                    () -> f.ops.generate(Fixture.spec("child").parent(KeyId.of(parent, 1)).build()));
            assertTrue(e.getMessage().startsWith("refused by policy (key child:1): the parent " + parent + ":1 "),
                    e.getMessage());
        }
        assertTrue(f.ops.metadata(KeyId.of("deprecated", 1)) != null);
        assertEquals(before.keySet(), f.backend.snapshot().keySet(), "nothing was stored");
        assertEquals(Set.of(KeyId.of("deprecated", 1), KeyId.of("retired", 1), KeyId.of("expiring", 1)),
                f.backend.snapshot().keySet());
    }

    @Test
    void anActiveParentIsAcceptedAndAnL2KeysParentIsNotLookedUp() {
        f.ops.generate(Fixture.spec("tenant").type(KeyType.L3).build());
        KeyMetadata child = f.ops.generate(Fixture.spec("child").parent(KeyId.of("tenant", 1)).build());
        assertEquals(KeyId.of("tenant", 1), child.parent().orElseThrow());
        KeyMetadata l2 = f.ops.generate(Fixture.spec("l2").type(KeyType.L2).parent(KeyId.of("l1-in-kms", 3)).build());
        assertEquals(KeyId.of("l1-in-kms", 3), l2.parent().orElseThrow());
    }
}
