package org.openkcm.keystore.core.saga;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeystoreException;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore;
import org.openkcm.keystore.sdk.SampleKeys;

/**
 * Two fault-injecting memory backends, a location index stand-in ({@link #known}: key to backend
 * name) and two multi-step operations written as sagas the way the operations layer writes them:
 * a rotate (store the next version, the pivot; then deprecate the previous one) and a migration
 * (copy, verify, switch the location: the pivot; then delete the source). Every action and
 * compensation is idempotent, and a compensation removes only the record its own operation stored.
 */
final class Model {
    final FaultyKeystore a = new FaultyKeystore(new MemoryKeystore());
    final FaultyKeystore b = new FaultyKeystore(new MemoryKeystore());
    final Map<KeyId, String> known = new ConcurrentHashMap<>();
    /** Fails the next location switches (the index write) when above zero. */
    volatile int indexFailures;
    volatile boolean indexFailAfter;

    FaultyKeystore backend(String name) {
        return name.equals("a") ? a : b;
    }

    KeyId storeInitial(String name) {
        KeyId id = KeyId.of(name, 1);
        a.delegate().storeKey(id, SampleKeys.sealed(64, name.hashCode()), SampleKeys.minimal(id).build());
        known.put(id, "a");
        return id;
    }

    static StoredKey next(KeyId next, long seed) {
        return StoredKey.of(SampleKeys.sealed(64, seed), SampleKeys.minimal(next).build());
    }

    // --------------------------------------------------------------- rotate

    Saga rotate() {
        return new Saga("rotate", List.of(
                Step.pivot("store-next", c -> {
                    KeyId next = KeyId.parse(c.param("next"));
                    StoredKey record = next(next, Long.parseLong(c.param("seed")));
                    a.storeKey(next, record.sealed(), record.metadata()); // create-only; the identical retry succeeds
                    known.put(next, "a");
                }, c -> {
                    KeyId next = KeyId.parse(c.param("next"));
                    StoredKey ours = next(next, Long.parseLong(c.param("seed")));
                    try {
                        if (a.retrieveKey(next).sealed().equals(ours.sealed())) {
                            a.deleteKey(next); // ours: remove it; a record stored by someone else stays
                        }
                    } catch (KeyNotFoundException gone) {
                        // never stored, or removed already
                    }
                    known.remove(next, "a");
                }),
                Step.retriable("deprecate-previous", c -> {
                    KeyId prev = KeyId.parse(c.param("prev"));
                    KeyMetadata m = a.retrieveKey(prev).metadata();
                    if (m.status() == KeyStatus.ACTIVE) {
                        a.updateKeyMetadata(prev, m.toBuilder().status(KeyStatus.DEPRECATED).revision(m.revision() + 1)
                                .build());
                    }
                })));
    }

    static Map<String, String> rotateParams(KeyId prev, long seed) {
        return Map.of("prev", prev.toString(), "next", prev.nextVersion().toString(), "seed", Long.toString(seed));
    }

    // --------------------------------------------------------------- migrate a → b

    Saga migrate() {
        return new Saga("migrate", List.of(
                Step.compensatable("copy", c -> {
                    KeyId id = KeyId.parse(c.param("key"));
                    if ("b".equals(known.get(id))) {
                        return; // switched already (a repeat after a crash)
                    }
                    StoredKey source = a.retrieveKey(id);
                    b.storeKey(id, source.sealed(), source.metadata());
                }, c -> {
                    KeyId id = KeyId.parse(c.param("key"));
                    if (!"a".equals(known.get(id))) {
                        return;
                    }
                    try {
                        StoredKey source = a.retrieveKey(id);
                        if (b.retrieveKey(id).equals(source)) {
                            b.deleteKey(id);
                        }
                    } catch (KeyNotFoundException gone) {
                        // nothing copied
                    }
                }),
                Step.compensatable("verify", c -> {
                    KeyId id = KeyId.parse(c.param("key"));
                    if ("b".equals(known.get(id))) {
                        return;
                    }
                    if (!b.retrieveKey(id).equals(a.retrieveKey(id))) {
                        throw new IntegrityException(id, "the copy differs from the source");
                    }
                }, c -> {
                }),
                Step.pivot("switch", c -> {
                    KeyId id = KeyId.parse(c.param("key"));
                    failIndex(id, () -> known.put(id, "b"));
                }, c -> {
                    KeyId id = KeyId.parse(c.param("key"));
                    known.replace(id, "b", "a");
                }),
                Step.retriable("delete-source", c -> a.deleteKey(KeyId.parse(c.param("key"))))));
    }

    private void failIndex(KeyId id, Runnable write) {
        if (indexFailures > 0) {
            indexFailures--;
            if (indexFailAfter) {
                write.run();
            }
            throw new UnavailableException("injected: the location index cannot be written", id, null);
        }
        write.run();
    }

    /** Every key the model knows, as a list of problems (empty: consistent). */
    List<String> lostKeys() {
        List<String> lost = new ArrayList<>();
        for (Map.Entry<KeyId, String> e : known.entrySet()) {
            try {
                backend(e.getValue()).delegate().retrieveKey(e.getKey());
            } catch (KeystoreException ex) {
                lost.add(e.getKey() + " known in " + e.getValue() + " but not there");
            }
        }
        return lost;
    }

    void reset() {
        a.reset();
        b.reset();
        indexFailures = 0;
    }
}
