package org.openkcm.keystore.core.routing;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

import org.openkcm.keystore.api.ConflictException;
import org.openkcm.keystore.api.KeyExistsException;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.OwnerKind;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.api.Validation;

/**
 * The placement of every key, kept in one backend that all runtimes share: for key {@code K}, a
 * placement record under the reserved id {@link #PREFIX}{@code K.name:K.version} that names the
 * {@code keystore.name} holding {@code K}: the record's bytes when it is first written, the tag
 * {@value #TAG} once it has been switched (a switch is a metadata update, the one compare-and-set
 * on the revision the {@link Keystore} contract offers; a re-wrap keeps the revision, so two of
 * them could both succeed). It is written when a key is stored, switched when a migration moves
 * the key (only if it still names the backend the key is moved from), and removed when the key is
 * deleted; so a runtime whose local index does not know a key (or names a backend the key has
 * left) finds it with one read here and one at the named backend, instead of asking every backend.
 * <p>
 * It goes through the plain {@link Keystore} contract, so every backend (memory, file, OpenBao,
 * PostgreSQL, a plugin) can hold it; placement is no secret (the bytes are the backend's name).
 * The record has the key's tier: a key of a tier the placement backend does not take
 * ({@code keystore.tiers}, or a store refused by policy) has no record, and is found as without
 * shared placement (the index, else every backend). Reserved ids are never listed, migrated,
 * reconciled or accepted from callers ({@link #reserved}).
 */
final class SharedPlacement {
    /** Key names under this prefix are placement records, never keys. */
    static final String PREFIX = "openkcm-placement.";
    /** The tag of a placement record that names the backend once the placement was switched. */
    static final String TAG = "placement";
    /** How often a write of the placement is tried again when another runtime changed it meanwhile. */
    static final int ATTEMPTS = 5;
    private static final Owner OWNER = Owner.of(OwnerKind.SERVICE, "openkcm-placement");

    private final RoutingTable router;
    private final String backend;

    SharedPlacement(RoutingTable router, String backend) {
        this.router = router;
        this.backend = backend;
    }

    /** The keystore.name of the backend that holds the placement records. */
    String backend() {
        return backend;
    }

    /** Whether the id is a placement record's (never a caller's key). */
    static boolean reserved(KeyId id) {
        return id.name().startsWith(PREFIX);
    }

    /** Whether the placement of a key of this tier is kept: the placement backend takes the tier. */
    boolean takes(KeyType tier) {
        return router.takesTier(backend, tier);
    }

    /** Where the key is placed, or null if no placement is recorded. UnavailableException if it cannot be asked. */
    String lookup(KeyId id) {
        try {
            return name(store(id).retrieveKey(recordId(id)));
        } catch (KeyNotFoundException none) {
            return null;
        }
    }

    /**
     * Records that {@code id} (a key of {@code tier}) is held by {@code where}, whatever was recorded
     * before (a key just stored, or a switch undone); a failure is thrown (the caller compensates).
     */
    void record(KeyId id, KeyType tier, String where) {
        if (!takes(tier)) {
            return;
        }
        KeyId rid = recordId(id);
        Keystore store = store(id);
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            if (create(store, rid, tier, where) != Created.EXISTS) {
                return; // the common case: a new key's first placement
            }
            StoredKey now = read(store, rid);
            if (now == null) {
                continue; // removed meanwhile: created again
            }
            if (where.equals(name(now))) {
                return;
            }
            try {
                update(store, rid, now, where);
                return;
            } catch (ConflictException | KeyNotFoundException raced) {
                // changed or removed meanwhile: again
            }
        }
        throw new UnavailableException("the placement of the key kept changing while it was recorded", id, null);
    }

    /**
     * Switches the placement of {@code id} (a key of {@code tier}) from {@code from} to {@code to},
     * only if it still names {@code from} (or nothing: a key stored before placement was shared):
     * the compare-and-set of a migration's switch. Two runtimes that switch one key at once to two
     * backends cannot both win.
     *
     * @return where the placement names now: {@code to} if switched (or not kept for the tier), else the
     *         backend another runtime switched it to
     */
    String switchTo(KeyId id, KeyType tier, String from, String to) {
        if (!takes(tier)) {
            return to;
        }
        KeyId rid = recordId(id);
        Keystore store = store(id);
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            StoredKey now = read(store, rid);
            if (now == null) {
                if (create(store, rid, tier, to) != Created.EXISTS) {
                    return to;
                }
                continue; // another runtime placed it meanwhile: compared below
            }
            String named = name(now);
            if (!from.equals(named)) {
                return named; // to already (a repeat), or switched elsewhere by another runtime
            }
            try {
                update(store, rid, now, to);
                return to;
            } catch (ConflictException | KeyNotFoundException raced) {
                // another runtime changed (or removed) it meanwhile: read it again
            }
        }
        throw new UnavailableException("the placement of the key kept changing while it was switched", id, null);
    }

    /** Records that {@code id} is held by {@code where} only if no placement is recorded yet. */
    void adopt(KeyId id, KeyType tier, String where) {
        if (takes(tier)) {
            create(store(id), recordId(id), tier, where); // placed already: that placement stands
        }
    }

    /** Removes the placement of a deleted key, only if it still names {@code where}. */
    void forget(KeyId id, String where) {
        KeyId rid = recordId(id);
        Keystore store = store(id);
        try {
            if (where.equals(name(store.retrieveKey(rid)))) {
                store.deleteKey(rid);
            }
        } catch (KeyNotFoundException gone) {
            // never recorded, or removed already
        }
    }

    private enum Created { CREATED, EXISTS, REFUSED }

    /** Stores a new record naming {@code where}; create-only. */
    private static Created create(Keystore store, KeyId rid, KeyType tier, String where) {
        try {
            store.storeKey(rid, SealedKey.of(where.getBytes(StandardCharsets.UTF_8)), metadata(rid, tier));
            return Created.CREATED;
        } catch (KeyExistsException placed) {
            return Created.EXISTS;
        } catch (PolicyRefusedException notThisTier) {
            return Created.REFUSED; // the backend keeps no key of this tier: no placement is kept for it
        }
    }

    /** The record now, or null. */
    private static StoredKey read(Keystore store, KeyId rid) {
        try {
            return store.retrieveKey(rid);
        } catch (KeyNotFoundException none) {
            return null;
        }
    }

    /** Points the record at {@code where}, if its revision is still the one read: ConflictException if not. */
    private static void update(Keystore store, KeyId rid, StoredKey now, String where) {
        KeyMetadata m = now.metadata();
        Map<String, String> tags = new TreeMap<>(m.tags());
        tags.put(TAG, where);
        Instant at = Instant.now();
        store.updateKeyMetadata(rid, m.toBuilder().tags(tags).revision(m.revision() + 1)
                .updated(at.isBefore(m.updated()) ? m.updated() : at).build());
    }

    private Keystore store(KeyId id) {
        return router.backend(backend, id);
    }

    /** The backend a record names: its tag once switched, else its bytes. */
    private static String name(StoredKey record) {
        String switched = record.metadata().tags().get(TAG);
        return switched != null ? switched : new String(record.sealed().bytes(), StandardCharsets.UTF_8);
    }

    /** The placement record's id: the prefix and the key's name (hashed if together they would be too long). */
    static KeyId recordId(KeyId id) {
        String name = PREFIX + id.name();
        if (name.length() > Validation.MAX_NAME_LENGTH) {
            name = PREFIX + "sha256-" + sha256(id.name());
        }
        return KeyId.of(name, id.version());
    }

    private static KeyMetadata metadata(KeyId rid, KeyType tier) {
        Instant now = Instant.now();
        return KeyMetadata.builder().id(rid).type(tier).algorithm("placement").keySize(8).owner(OWNER)
                .created(now).updated(now).build();
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
