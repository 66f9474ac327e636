package org.openkcm.keystore.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyExistsException;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.OwnerKind;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.sdk.SampleKeys;

/**
 * Owners share one table whose primary key is the key id (the contract addresses a key by its id
 * alone); what one owner holds is never listed for, overwritten by or moved to another, and
 * instances in different schemas of one database see nothing of each other.
 */
class TenantIsolationTest {
    private PostgresKeystore keystore;

    @BeforeEach
    void open() {
        keystore = TestDatabase.open(TestDatabase.properties());
    }

    @AfterEach
    void close() {
        keystore.close();
    }

    @Test
    void listingByOwnerReturnsThatOwnersKeysOnlyAcrossPages() {
        // Interleaved names, so that every page of one owner has the other's keys around it.
        for (int i = 0; i < 30; i++) {
            store("k" + String.format("%03d", i), i % 2 == 0 ? Owner.tenant("acme") : Owner.tenant("globex"));
        }
        store("svc-key", Owner.service("acme"));

        List<KeyMetadata> acme = all(KeyFilter.builder().owner(Owner.tenant("acme")).pageSize(4).build());
        assertEquals(15, acme.size());
        assertTrue(acme.stream().allMatch(m -> m.owner().equals(Owner.tenant("acme"))));
        List<KeyMetadata> globex = all(KeyFilter.builder().owner(Owner.tenant("globex")).pageSize(4).build());
        assertEquals(15, globex.size());
        assertTrue(globex.stream().allMatch(m -> m.owner().equals(Owner.tenant("globex"))));
        // The same id string under another owner kind is another owner.
        List<KeyMetadata> services = all(KeyFilter.builder().ownerKind(OwnerKind.SERVICE).build());
        assertEquals(List.of(KeyId.of("svc-key", 1)), services.stream().map(KeyMetadata::id).toList());
        List<KeyMetadata> byIdOnly = all(KeyFilter.builder().ownerId("acme").build());
        assertEquals(16, byIdOnly.size());
    }

    @Test
    void anotherOwnerCannotStoreUnderAnIdAlreadyHeld() {
        KeyId id = KeyId.of("shared-name", 1);
        KeyMetadata acme = SampleKeys.minimal(id).owner(Owner.tenant("acme")).build();
        keystore.storeKey(id, SampleKeys.sealed(1), acme);

        KeyMetadata globex = SampleKeys.minimal(id).owner(Owner.tenant("globex")).build();
        assertThrows(KeyExistsException.class, () -> keystore.storeKey(id, SampleKeys.sealed(2), globex));

        StoredKey stored = keystore.retrieveKey(id);
        assertEquals(acme, stored.metadata());
        assertEquals(SampleKeys.sealed(1), stored.sealed());
        assertEquals(List.of(), all(KeyFilter.builder().owner(Owner.tenant("globex")).build()));
    }

    @Test
    void anUpdateCannotMoveAKeyToAnotherOwner() {
        KeyId id = KeyId.of("owned", 1);
        KeyMetadata acme = SampleKeys.minimal(id).owner(Owner.tenant("acme")).build();
        keystore.storeKey(id, SampleKeys.sealed(1), acme);

        KeyMetadata moved = acme.toBuilder().owner(Owner.tenant("globex")).revision(2).build();
        assertThrows(InvalidInputException.class, () -> keystore.updateKeyMetadata(id, moved));

        assertEquals(acme, keystore.retrieveKey(id).metadata());
    }

    @Test
    void instancesInDifferentSchemasOfOneDatabaseSeeNothingOfEachOther() {
        PostgresKeystore other = TestDatabase.open(TestDatabase.properties());
        try {
            KeyId id = KeyId.of("same-id", 1);
            keystore.storeKey(id, SampleKeys.sealed(1), SampleKeys.minimal(id).build());

            assertThrows(KeyNotFoundException.class, () -> other.retrieveKey(id));
            assertEquals(List.of(), other.listKeys(KeyFilter.all()).keys());
            assertFalse(other.deleteKey(id));
            other.storeKey(id, SampleKeys.sealed(2), SampleKeys.minimal(id).owner(Owner.tenant("other")).build());

            assertEquals(SampleKeys.sealed(1), keystore.retrieveKey(id).sealed());
            assertEquals(SampleKeys.sealed(2), other.retrieveKey(id).sealed());
        } finally {
            other.close();
        }
    }

    private void store(String name, Owner owner) {
        KeyId id = KeyId.of(name, 1);
        keystore.storeKey(id, SampleKeys.sealed(name.hashCode()), SampleKeys.minimal(id).owner(owner).build());
    }

    private List<KeyMetadata> all(KeyFilter filter) {
        List<KeyMetadata> keys = new ArrayList<>();
        KeyFilter page = filter;
        while (true) {
            KeyPage result = keystore.listKeys(page);
            keys.addAll(result.keys());
            Optional<String> next = result.nextCursor();
            if (next.isEmpty()) {
                return keys;
            }
            page = filter.withCursor(next.get());
        }
    }
}
