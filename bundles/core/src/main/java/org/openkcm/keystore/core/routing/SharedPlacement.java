package org.openkcm.keystore.core.routing;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;

import org.openkcm.keystore.api.KeyExistsException;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.OwnerKind;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.Validation;

/**
 * The placement of every key, kept in one backend that all runtimes share: for key {@code K}, a
 * placement record under the reserved id {@link #PREFIX}{@code K.name:K.version} whose record
 * bytes are the {@code keystore.name} that holds {@code K}. It is written when a key is stored and
 * when a migration switches a key, and removed when the key is deleted; so a runtime whose local
 * index does not know a key (or names a backend the key has left) finds it with one read here and
 * one at the named backend, instead of asking every backend.
 * <p>
 * It goes through the plain {@link Keystore} contract, so every backend (memory, file, OpenBao,
 * PostgreSQL, a plugin) can hold it; placement is no secret (the bytes are the backend's name).
 * Reserved ids are never listed, migrated, reconciled or accepted from callers ({@link #reserved}).
 */
final class SharedPlacement {
    /** Key names under this prefix are placement records, never keys. */
    static final String PREFIX = "openkcm-placement.";
    private static final Owner OWNER = Owner.of(OwnerKind.SERVICE, "openkcm-placement");

    private final Router router;
    private final String backend;

    SharedPlacement(Router router, String backend) {
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

    /** Where the key is placed, or null if no placement is recorded. UnavailableException if it cannot be asked. */
    String lookup(KeyId id) {
        try {
            return name(store(id).retrieveKey(recordId(id)));
        } catch (KeyNotFoundException none) {
            return null;
        }
    }

    /** Records that {@code id} is held by {@code where}; a failure is thrown (the caller compensates). */
    void record(KeyId id, String where) {
        KeyId rid = recordId(id);
        Keystore store = store(id);
        SealedKey bytes = SealedKey.of(where.getBytes(StandardCharsets.UTF_8));
        try {
            store.storeKey(rid, bytes, metadata(rid));
            return;
        } catch (KeyExistsException placed) {
            // placed before (another runtime, or a migration): switched below
        }
        StoredKey now = store.retrieveKey(rid);
        if (!where.equals(name(now))) {
            store.rewrapKey(rid, bytes, now.metadata().revision());
        }
    }

    /** Records that {@code id} is held by {@code where} only if no placement is recorded yet. */
    void adopt(KeyId id, String where) {
        KeyId rid = recordId(id);
        try {
            store(id).storeKey(rid, SealedKey.of(where.getBytes(StandardCharsets.UTF_8)), metadata(rid));
        } catch (KeyExistsException placed) {
            // placed already: that placement stands
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

    private Keystore store(KeyId id) {
        return router.backend(backend, id);
    }

    private static String name(StoredKey record) {
        return new String(record.sealed().bytes(), StandardCharsets.UTF_8);
    }

    /** The placement record's id: the prefix and the key's name (hashed if together they would be too long). */
    static KeyId recordId(KeyId id) {
        String name = PREFIX + id.name();
        if (name.length() > Validation.MAX_NAME_LENGTH) {
            name = PREFIX + "sha256-" + sha256(id.name());
        }
        return KeyId.of(name, id.version());
    }

    private static KeyMetadata metadata(KeyId rid) {
        Instant now = Instant.now();
        return KeyMetadata.builder().id(rid).type(KeyType.L4).algorithm("placement").keySize(8).owner(OWNER)
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
