package org.openkcm.keystore.core.saga;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;

/**
 * The multi-step operations of the keystore as sagas. What the journal holds of them is ids,
 * names and a digest of each record an operation stores (never material, never the record):
 * enough to undo the store of exactly that record, and to finish the steps after the commit point.
 * <ul>
 * <li><b>rotate</b>: {@code store-next} (COMPENSATABLE: the new version; undone by deleting it if it
 * holds our record), then {@code deprecate-previous} (PIVOT: compare-and-set, read again on a
 * conflict; undone by making the previous version ACTIVE again if it is DEPRECATED while our new
 * version exists: no other rotate can have deprecated it then, since it would have had to store
 * that same version). A failure or crash before the deprecation is recorded leaves the previous
 * version as it was and no new version; after it, the rotate stands.</li>
 * <li><b>generate</b> with a parent: {@code store} (COMPENSATABLE), then {@code check-parent}
 * (PIVOT: a parent this keystore holds must not be RETIRED or expired, else the new key is
 * removed; a parent held elsewhere, such as an L1 key in an external KMS, is accepted).</li>
 * <li><b>delete-all-versions</b>: {@code delete-versions} (RETRIABLE): once begun it is finished,
 * after a crash too.</li>
 * <li><b>kek-rewrap</b>: {@code rewrap-all} (RETRIABLE; each key is re-wrapped by compare-and-set
 * and keys already current are skipped): a run a crash interrupted is run again at the next start.</li>
 * </ul>
 */
public final class KeystoreSagas {
    public static final String ROTATE = "rotate";
    public static final String GENERATE = "generate";
    public static final String DELETE_ALL = "delete-all-versions";
    public static final String KEK_REWRAP = "kek-rewrap";
    /** The attachment holding the {@link StoredKey} a store step stores (not journaled). */
    public static final String RECORD = "record";
    /** An optional attachment: an {@code AtomicInteger} counting the versions delete-all-versions deleted. */
    public static final String DELETED = "deleted";
    /** An optional attachment: an {@code AtomicReference} receiving what the re-wrap reported. */
    public static final String REPORT = "report";

    /** What the sagas need of the operations layer. */
    public interface Port {
        /** The keystore keys are stored in (the router: it records where each key went). */
        Keystore keystore();

        /** Sets an ACTIVE key DEPRECATED (compare-and-set, read again on a conflict); nothing if it is not ACTIVE. */
        void deprecateIfActive(KeyId id);

        /** Makes a DEPRECATED key ACTIVE again (compare-and-set, read again on a conflict); nothing otherwise. */
        void reactivateIfDeprecated(KeyId id);

        /**
         * False if this keystore holds the key and it is RETIRED or expired; true otherwise (a parent
         * held elsewhere, such as an L1 key in an external KMS, is usable).
         */
        boolean usableParent(KeyId id);

        /** Forgets what the runtime caches of a key (it changed). */
        void forget(KeyId id);

        /** Forgets everything the runtime remembers of a key it deleted (cache entries, revision marks). */
        void deleted(KeyId id);

        /** Re-wraps every key under the sealing KEK's current version; returns its report. */
        Object rewrapAll();
    }

    private final Port port;

    public KeystoreSagas(Port port) {
        this.port = port;
    }

    /** Every definition, for recovery. */
    public List<Saga> definitions() {
        return List.of(rotate(), generate(), deleteAllVersions(), kekRewrap());
    }

    public Saga rotate() {
        return new Saga(ROTATE, List.of(
                Step.compensatable("store-next", this::storeAttached, c -> removeIfOurs(c, KeyId.parse(c.param("next")))),
                Step.pivot("deprecate-previous", c -> {
                    if (Boolean.parseBoolean(c.param("previous.active"))) {
                        KeyId previous = KeyId.parse(c.param("previous"));
                        try {
                            port.deprecateIfActive(previous);
                        } finally {
                            port.forget(previous);
                        }
                    }
                }, c -> {
                    KeyId previous = KeyId.parse(c.param("previous"));
                    if (Boolean.parseBoolean(c.param("previous.active")) && holdsOurs(c, KeyId.parse(c.param("next")))) {
                        try {
                            port.reactivateIfDeprecated(previous);
                        } finally {
                            port.forget(previous);
                        }
                    }
                })));
    }

    /**
     * @param previous the newest version when the rotate was planned
     * @param previousRevision its revision then
     * @param previousActive whether it was ACTIVE then (only an ACTIVE version is deprecated)
     */
    public static Map<String, String> rotateParams(KeyId previous, long previousRevision, boolean previousActive,
            KeyId next, SealedKey sealed) {
        return Map.of("previous", previous.toString(), "previous.revision", Long.toString(previousRevision),
                "previous.active", Boolean.toString(previousActive), "next", next.toString(), "key", next.toString(),
                "sha256", digest(sealed));
    }

    public Saga generate() {
        return new Saga(GENERATE, List.of(
                Step.compensatable("store", this::storeAttached, c -> removeIfOurs(c, KeyId.parse(c.param("key")))),
                Step.pivot("check-parent", c -> {
                    KeyId parent = KeyId.parse(c.param("parent"));
                    if (!port.usableParent(parent)) {
                        throw new PolicyRefusedException(KeyId.parse(c.param("key")), "its parent " + parent
                                + " is RETIRED or expired");
                    }
                }, c -> {
                })));
    }

    public static Map<String, String> generateParams(KeyId id, KeyId parent, SealedKey sealed) {
        return Map.of("key", id.toString(), "parent", parent.toString(), "sha256", digest(sealed));
    }

    public Saga deleteAllVersions() {
        return new Saga(DELETE_ALL, List.of(Step.retriable("delete-versions", c -> {
            for (KeyId id : versions(c)) {
                try {
                    if (port.keystore().deleteKey(id)) { // false if gone already: a repeat is harmless
                        c.optionalAttachment(DELETED, java.util.concurrent.atomic.AtomicInteger.class)
                                .ifPresent(java.util.concurrent.atomic.AtomicInteger::incrementAndGet);
                    }
                } finally {
                    port.deleted(id);
                }
            }
        })));
    }

    public static Map<String, String> deleteAllParams(String name, List<KeyId> versions) {
        List<String> numbers = new ArrayList<>();
        versions.forEach(v -> numbers.add(Integer.toString(v.version())));
        Map<String, String> params = new LinkedHashMap<>();
        params.put("name", name);
        params.put("versions", String.join(",", numbers));
        return params;
    }

    /** The versions a delete-all-versions operation planned to delete. */
    public static List<KeyId> versions(SagaContext c) {
        String name = c.param("name");
        List<KeyId> ids = new ArrayList<>();
        for (String v : c.param("versions").split(",")) {
            if (!v.isBlank()) {
                ids.add(KeyId.of(name, Integer.parseInt(v.trim())));
            }
        }
        return ids;
    }

    public Saga kekRewrap() {
        // once per call: a failed run is not repeated at once (recovery repeats it at the next start)
        return new Saga(KEK_REWRAP, List.of(Step.retriable("rewrap-all", c -> {
            Object report = port.rewrapAll();
            c.optionalAttachment(REPORT, java.util.concurrent.atomic.AtomicReference.class)
                    .ifPresent(holder -> uncheckedSet(holder, report));
        }).attempts(1)));
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void uncheckedSet(java.util.concurrent.atomic.AtomicReference holder, Object value) {
        holder.set(value);
    }

    // --------------------------------------------------------------- steps

    private void storeAttached(SagaContext c) {
        KeyId id = KeyId.parse(c.param("key"));
        StoredKey record = c.attachment(RECORD, StoredKey.class);
        try {
            port.keystore().storeKey(id, record.sealed(), record.metadata()); // the identical retry succeeds
        } finally {
            port.forget(id);
        }
    }

    /** True if the key holds the record this operation stored. */
    private boolean holdsOurs(SagaContext c, KeyId id) {
        try {
            return c.param("sha256").equals(digest(port.keystore().retrieveKey(id).sealed()));
        } catch (KeyNotFoundException gone) {
            return false;
        }
    }

    /** Deletes the key if, and only if, it holds the record this operation stored. */
    private void removeIfOurs(SagaContext c, KeyId id) {
        String ours = c.param("sha256");
        try {
            StoredKey stored = port.keystore().retrieveKey(id);
            if (ours.equals(digest(stored.sealed()))) {
                port.keystore().deleteKey(id);
                port.deleted(id);
            }
        } catch (KeyNotFoundException gone) {
            // never stored, or removed already
        } finally {
            port.forget(id);
        }
    }

    /** The SHA-256 of a sealed record, in hex: names the record without holding it. */
    public static String digest(SealedKey sealed) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(sealed.bytes()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this Java runtime", e);
        }
    }
}
