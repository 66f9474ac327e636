package org.openkcm.keystore.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.sdk.FaultyKeystore.Operation;

class FaultyKeystoreTest {

    /** Records which calls reached it; the wrapper, not this stub, is under test. */
    private static final class CallLog implements Keystore {
        final List<String> calls = new ArrayList<>();

        @Override
        public void storeKey(KeyId id, SealedKey sealed, KeyMetadata metadata) {
            calls.add("store " + id);
        }

        @Override
        public StoredKey retrieveKey(KeyId id) {
            calls.add("retrieve " + id);
            return StoredKey.of(SampleKeys.sealed(1), SampleKeys.minimal(id).build());
        }

        @Override
        public KeyMetadata updateKeyMetadata(KeyId id, KeyMetadata metadata) {
            calls.add("update " + id);
            return metadata;
        }

        @Override
        public void rewrapKey(KeyId id, SealedKey sealed, long expectedRevision) {
            calls.add("rewrap " + id);
        }

        @Override
        public boolean deleteKey(KeyId id) {
            calls.add("delete " + id);
            return true;
        }

        @Override
        public KeyPage listKeys(KeyFilter filter) {
            calls.add("list");
            return KeyPage.of(List.of(), null);
        }

        @Override
        public KeystoreHealth health() {
            return KeystoreHealth.up(Duration.ZERO);
        }
    }

    private final CallLog backend = new CallLog();
    private final FaultyKeystore faulty = new FaultyKeystore(backend);
    private final KeyId id = KeyId.of("k", 1);

    @Test
    void failBeforeNeverReachesTheBackendAndCountsDown() {
        faulty.failBefore(Operation.STORE, 2, () -> new UnavailableException("boom"));

        assertThrows(UnavailableException.class, () -> faulty.storeKey(id, SampleKeys.sealed(1), SampleKeys.minimal("k")));
        assertThrows(UnavailableException.class, () -> faulty.storeKey(id, SampleKeys.sealed(1), SampleKeys.minimal("k")));
        assertEquals(List.of(), backend.calls);

        faulty.storeKey(id, SampleKeys.sealed(1), SampleKeys.minimal("k"));
        assertEquals(List.of("store k:1"), backend.calls);
        assertEquals(3, faulty.calls(Operation.STORE));
    }

    @Test
    void failAfterLetsTheBackendWorkThenFails() {
        faulty.failAfter(Operation.DELETE, 1, () -> new UnavailableException("lost ack"));

        assertThrows(UnavailableException.class, () -> faulty.deleteKey(id));

        assertEquals(List.of("delete k:1"), backend.calls);
        assertTrue(faulty.deleteKey(id));
    }

    @Test
    void faultsAffectOnlyTheirOperation() {
        faulty.failBefore(Operation.RETRIEVE, 1, () -> new UnavailableException("x"));

        faulty.listKeys(KeyFilter.all());
        faulty.deleteKey(id);

        assertEquals(List.of("list", "delete k:1"), backend.calls);
    }

    @Test
    void downFailsEverythingAndReportsHealthDownUntilReset() {
        faulty.down("disk on fire");

        assertThrows(UnavailableException.class, () -> faulty.retrieveKey(id));
        KeystoreHealth health = faulty.health();
        assertFalse(health.isUp());
        assertEquals("disk on fire", health.reason().orElseThrow());

        faulty.reset();
        assertTrue(faulty.health().isUp());
        faulty.retrieveKey(id);
        assertEquals(List.of("retrieve k:1"), backend.calls);
    }

    @Test
    void delayHoldsTheCallBack() {
        faulty.delay(Operation.LIST, Duration.ofMillis(200));
        long start = System.nanoTime();

        faulty.listKeys(KeyFilter.all());

        assertTrue(Duration.ofNanos(System.nanoTime() - start).toMillis() >= 200);
    }
}
