package org.openkcm.keystore.core.sealing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.cache.CacheSettings;
import org.openkcm.keystore.core.cache.KeyCache;
import org.openkcm.keystore.core.kek.KnownKeks;
import org.openkcm.keystore.core.testing.TestKeks;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore.Operation;
import org.openkcm.keystore.sdk.SampleKeys;
import org.osgi.framework.Constants;

/** The sealing layer on its own, over a fault-injecting memory backend and one fixed KEK. */
class SealingKeystoreTest {
    final FaultyKeystore backend = new FaultyKeystore(new MemoryKeystore());
    final KeyCache cache = new KeyCache(CacheSettings.defaults());
    final KnownKeks known = KnownKeks.inMemory();
    final List<Map.Entry<Map<String, Object>, KekProvider>> providers = List.of(
            Map.entry(Map.of(Constants.SERVICE_ID, 1L), TestKeks.fixed("test", 1)));
    final KekChoice keks = new KekChoice(() -> providers, () -> known, () -> null);
    final SealingKeystore layer = new SealingKeystore(() -> backend, keks, () -> cache, id -> "memory", () -> null,
            100);

    @AfterEach
    void closeCache() {
        cache.close();
    }

    private StoredKey stored(String name) {
        KeyMetadata metadata = SampleKeys.minimal(KeyId.of(name, 1)).build();
        StoredKey record = layer.seal(metadata, new byte[32]);
        layer.storeKey(record.metadata().id(), record.sealed(), record.metadata());
        return record;
    }

    @Test
    void aSealedRecordOpensToItsMaterialAndItsMetadataCarriesAVerifiedMac() {
        byte[] material = new byte[32];
        material[0] = 7;
        StoredKey record = layer.seal(SampleKeys.minimal(KeyId.of("k", 1)).build(), material);
        layer.storeKey(record.metadata().id(), record.sealed(), record.metadata());
        StoredKey read = layer.retrieveKey(KeyId.of("k", 1));
        assertTrue(read.metadata().lifecycleMac().isPresent());
        assertArrayEquals(material, layer.open(read));
    }

    /** Reads of the key through the caches, and how many of them reached the backend. */
    private long readsReachingTheBackend(KeyId id, int reads) {
        long before = backend.calls(Operation.RETRIEVE);
        for (int i = 0; i < reads; i++) {
            layer.metadata(id);
        }
        return backend.calls(Operation.RETRIEVE) - before;
    }

    @Test
    void readsForCallersGoThroughTheCacheAndEveryWriteMakesItForgetTheKeyEvenWhenTheBackendFails() {
        KeyId id = stored("k").metadata().id();
        assertEquals(1, readsReachingTheBackend(id, 3), "one load, then hits");
        KeyMetadata current = layer.retrieveKey(id).metadata();
        layer.updateKeyMetadata(id, SealingKeystore.nextRevision(current, Instant.now()).status(KeyStatus.DEPRECATED)
                .build());
        assertEquals(1, readsReachingTheBackend(id, 3), "the update was forgotten: one load");
        assertEquals(KeyStatus.DEPRECATED, layer.metadata(id).status());
        backend.failBefore(Operation.DELETE, 1, () -> new UnavailableException("down"));
        assertThrows(UnavailableException.class, () -> layer.deleteKey(id));
        assertEquals(1, readsReachingTheBackend(id, 3), "a failed delete is forgotten too");
        assertTrue(layer.deleteKey(id));
        assertThrows(KeyNotFoundException.class, () -> layer.metadata(id), "the delete was forgotten");
    }

    @Test
    void theMaterialOfARetiredKeyIsRefusedAndWhatWasCachedOfItIsWiped() {
        KeyId id = stored("k").metadata().id();
        try (KeyMaterial m = layer.material(id, Clock.systemUTC())) {
            assertEquals(32, m.length());
        }
        KeyMetadata current = layer.retrieveKey(id).metadata();
        layer.updateKeyMetadata(id, SealingKeystore.nextRevision(current, Instant.now()).status(KeyStatus.RETIRED)
                .build());
        PolicyRefusedException refused = assertThrows(PolicyRefusedException.class,
                () -> layer.material(id, Clock.systemUTC()));
        assertTrue(refused.getMessage().contains("RETIRED"), refused.getMessage());
    }

    @Test
    void anUpdateIsAuthenticatedHereWhateverMacTheCallerGave() {
        KeyId id = stored("k").metadata().id();
        KeyMetadata current = layer.retrieveKey(id).metadata();
        KeyMetadata retired = SealingKeystore.nextRevision(current, Instant.now()).status(KeyStatus.RETIRED).build();
        assertEquals(current.lifecycleMac(), retired.lifecycleMac(), "the caller's copy still has the old MAC");
        KeyMetadata saved = layer.updateKeyMetadata(id, retired);
        assertNotEquals(current.lifecycleMac(), saved.lifecycleMac());
        assertEquals(KeyStatus.RETIRED, layer.retrieveKey(id).metadata().status(), "the stored MAC verifies");
    }

    @Test
    void metadataChangedBelowTheLayerIsRefusedAndTheBackendKeepsIt() {
        KeyId id = stored("k").metadata().id();
        KeyMetadata current = backend.retrieveKey(id).metadata();
        backend.updateKeyMetadata(id, current.toBuilder().revision(2).status(KeyStatus.DEPRECATED).build());
        IntegrityException e = assertThrows(IntegrityException.class, () -> layer.retrieveKey(id));
        assertTrue(e.getMessage().contains("lifecycle MAC does not match"), e.getMessage());
        assertThrows(IntegrityException.class, () -> layer.listKeys(KeyFilter.all()), "the page is refused");
        assertEquals(KeyStatus.DEPRECATED, backend.retrieveKey(id).metadata().status());
    }

    @Test
    void anOlderRevisionThanOneSeenIsARollback() {
        KeyId id = stored("k").metadata().id();
        StoredKey first = backend.retrieveKey(id);
        KeyMetadata current = layer.retrieveKey(id).metadata();
        layer.updateKeyMetadata(id, SealingKeystore.nextRevision(current, Instant.now()).build());
        // the backend is put back to revision 1 behind the layer's back
        backend.delegate().deleteKey(id);
        backend.delegate().storeKey(id, first.sealed(), first.metadata());
        IntegrityException e = assertThrows(IntegrityException.class, () -> layer.retrieveKey(id));
        assertTrue(e.getMessage().contains("rolled back"), e.getMessage());
    }

    @Test
    void aDeleteForgetsTheRevisionsSeenSoTheSameRecordStoredAgainIsNoRollback() {
        KeyId id = stored("k").metadata().id();
        StoredKey first = backend.retrieveKey(id);
        KeyMetadata current = layer.retrieveKey(id).metadata();
        layer.updateKeyMetadata(id, SealingKeystore.nextRevision(current, Instant.now()).build());
        assertTrue(layer.deleteKey(id));
        layer.storeKey(id, first.sealed(), first.metadata()); // same created time: the same incarnation's marks
        assertEquals(1, layer.retrieveKey(id).metadata().revision());
    }

    @Test
    void aRecordReturnedForAnotherIdIsRefused() {
        stored("a");
        // a backend that returns another key's record, whatever it is asked for
        Keystore swapped = (Keystore) Proxy.newProxyInstance(Keystore.class.getClassLoader(),
                new Class<?>[] {Keystore.class}, (proxy, method, args) -> method.getName().equals("retrieveKey")
                        ? backend.retrieveKey(KeyId.of("a", 1)) : method.invoke(backend, args));
        SealingKeystore over = new SealingKeystore(() -> swapped, keks, () -> null, id -> "memory", () -> null, 100);
        IntegrityException e = assertThrows(IntegrityException.class, () -> over.retrieveKey(KeyId.of("b", 1)));
        assertTrue(e.getMessage().contains("copied to another id"), e.getMessage());
    }

    @Test
    void theNextRevisionIsOneMoreAndNeverUpdatedEarlier() {
        KeyMetadata current = SampleKeys.minimal(KeyId.of("k", 1)).build();
        Instant earlier = current.updated().minusSeconds(60);
        KeyMetadata next = SealingKeystore.nextRevision(current, earlier).build();
        assertEquals(current.revision() + 1, next.revision());
        assertEquals(current.updated(), next.updated());
        Instant later = current.updated().plusSeconds(60);
        assertEquals(later, SealingKeystore.nextRevision(current, later).build().updated());
    }
}
