package org.openkcm.keystore.core.saga;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import org.openkcm.keystore.api.ConflictException;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.core.journal.Intent;
import org.openkcm.keystore.core.log.Logs;
import org.openkcm.keystore.core.sealing.SealingKeystore;
import org.osgi.service.log.Logger;

/**
 * The multi-step operations of the keystore as sagas. What the journal holds of them is ids,
 * names and, for each record an operation stores or deletes, its digest and created time (a
 * {@link RecordMatch}; never material, never the record): enough to undo the store of exactly that
 * record, to delete exactly the versions a delete planned, and to finish the steps after the commit
 * point. Recovery deletes or changes a version only when it still holds the matching record: a key
 * stored under the same id after the operation began (a new version 1 after a delete, say) is never
 * touched.
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
 * after a crash too; each planned version is deleted only if it still holds the record planned
 * (checked just before its delete), else it is kept and reported. An intent journaled before
 * records were named (no {@code record.<n>} parameters) deletes nothing: it cannot tell the
 * planned versions from newer ones, so it keeps them all and reports them.</li>
 * <li><b>kek-rewrap</b>: {@code rewrap-all} (RETRIABLE; each key is re-wrapped by compare-and-set
 * and keys already current are skipped): a run a crash interrupted is run again at the next start.
 * The intent names its target KEK version ({@value #TARGET}); a run (or a recovery pass) that finds
 * sealing refused, or another version sealing, does nothing and ends the intent, so a re-wrap the
 * caller was told was refused is never run later in the background under another KEK choice.</li>
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
    /** The kek-rewrap parameter naming the KEK version the run moves records to (absent in earlier journals). */
    public static final String TARGET = "target";

    /** The KEK re-wrap a kek-rewrap intent runs (see {@code KekRewrapper#runTo}). */
    @FunctionalInterface
    public interface Rewrap {
        /**
         * Re-wraps every key under the sealing KEK's current version if that is {@code target}
         * (null: whichever it is); returns its report. If sealing is refused, or another KEK version
         * seals now, nothing is done and the refusal is returned, not thrown: the run the intent
         * recorded no longer applies, and there is nothing left for recovery to finish.
         */
        Object rewrapAll(String target);
    }

    static final int MAX_ATTEMPTS = 5;

    private final Keystore keys;
    private final Rewrap rewrap;
    private final Supplier<Instant> now;
    private final Supplier<Logger> logger;

    /**
     * @param keys the keystore the steps read and write: the sealing layer in the runtime, whose
     *            reads are checked, whose metadata updates are authenticated and whose writes make
     *            the caches forget what they touched
     * @param now the time of a status change, and for the expiry of a parent
     */
    public KeystoreSagas(Keystore keys, Rewrap rewrap, Supplier<Instant> now, Supplier<Logger> logger) {
        this.keys = keys;
        this.rewrap = rewrap;
        this.now = now;
        this.logger = logger;
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
                        changeIf(KeyId.parse(c.param("previous")), KeyStatus.ACTIVE, KeyStatus.DEPRECATED);
                    }
                }, c -> {
                    KeyId previous = KeyId.parse(c.param("previous"));
                    if (Boolean.parseBoolean(c.param("previous.active")) && holdsOurs(c, KeyId.parse(c.param("next")))
                            && samePrevious(c, previous)) {
                        changeIf(previous, KeyStatus.DEPRECATED, KeyStatus.ACTIVE);
                    }
                })));
    }

    /**
     * @param previous the newest version when the rotate was planned (only an ACTIVE one is deprecated)
     * @param next the record of the next version, as it will be stored
     */
    public static Map<String, String> rotateParams(KeyMetadata previous, StoredKey next) {
        Map<String, String> params = new LinkedHashMap<>();
        params.put("previous", previous.id().toString());
        params.put("previous.revision", Long.toString(previous.revision()));
        params.put("previous.active", Boolean.toString(previous.status() == KeyStatus.ACTIVE));
        params.put("previous.created", Long.toString(previous.created().toEpochMilli()));
        params.put("next", next.metadata().id().toString());
        params.put("key", next.metadata().id().toString());
        putRecord(params, next);
        return params;
    }

    public Saga generate() {
        return new Saga(GENERATE, List.of(
                Step.compensatable("store", this::storeAttached, c -> removeIfOurs(c, KeyId.parse(c.param("key")))),
                Step.pivot("check-parent", c -> {
                    KeyId parent = KeyId.parse(c.param("parent"));
                    if (!usableParent(parent)) {
                        throw new PolicyRefusedException(KeyId.parse(c.param("key")), "its parent " + parent
                                + " is RETIRED or expired");
                    }
                }, c -> {
                })));
    }

    public static Map<String, String> generateParams(KeyId parent, StoredKey record) {
        Map<String, String> params = new LinkedHashMap<>();
        params.put("key", record.metadata().id().toString());
        params.put("parent", parent.toString());
        putRecord(params, record);
        return params;
    }

    /** The record a store step stores: its digest ({@code sha256}, as before) and its created time. */
    private static void putRecord(Map<String, String> params, StoredKey record) {
        params.put("sha256", digest(record.sealed()));
        params.put("created", Long.toString(record.metadata().created().toEpochMilli()));
    }

    /** The record this operation stores. */
    private static RecordMatch ours(SagaContext c) {
        return new RecordMatch(c.param("sha256"), c.optionalParam("created").map(v -> OptionalLong.of(Long.parseLong(v)))
                .orElse(OptionalLong.empty()));
    }

    public Saga deleteAllVersions() {
        return new Saga(DELETE_ALL, List.of(Step.retriable("delete-versions", c -> {
            List<String> kept = new ArrayList<>();
            for (KeyId id : versions(c)) {
                if (!deleteIfPlanned(c, id)) {
                    kept.add(Integer.toString(id.version()));
                }
            }
            if (!kept.isEmpty()) {
                c.note(KEPT, String.join(",", kept));
            }
        })));
    }

    /** Deletes a version if it holds the record planned, or is gone already; false if it was kept. */
    private boolean deleteIfPlanned(SagaContext c, KeyId id) {
        Optional<RecordMatch> planned = planned(c, id);
        if (planned.isEmpty()) {
            kept(id, "the intent was journaled by an earlier version, without the record it planned to delete: "
                    + "it cannot be told from a newer key under the same id, so it is kept; delete it again if it "
                    + "should go");
            return false;
        }
        StoredKey now;
        try {
            now = keys.retrieveKey(id);
        } catch (KeyNotFoundException gone) {
            return true; // deleted already (a repeat after a crash)
        }
        if (!planned.get().matches(now)) {
            kept(id, "it holds another record than the one this delete planned (stored again, or re-wrapped, "
                    + "since): kept");
            return false;
        }
        if (keys.deleteKey(id)) { // false if gone already: a repeat is harmless
            c.optionalAttachment(DELETED, AtomicInteger.class).ifPresent(AtomicInteger::incrementAndGet);
        }
        return true;
    }

    /** The note of delete-all-versions: the versions it kept (they no longer held the planned record). */
    public static final String KEPT = "kept";

    /**
     * @param versions the records of every version to delete, as read when the delete was planned
     */
    public static Map<String, String> deleteAllParams(String name, List<StoredKey> versions) {
        List<String> numbers = new ArrayList<>();
        Map<String, String> params = new LinkedHashMap<>();
        params.put("name", name);
        for (StoredKey v : versions) {
            int n = v.metadata().id().version();
            numbers.add(Integer.toString(n));
            params.put("record." + n, RecordMatch.of(v).encode());
        }
        params.put("versions", String.join(",", numbers));
        return params;
    }

    /** The record a delete-all-versions operation planned to delete at this version; empty in an older intent. */
    static Optional<RecordMatch> planned(SagaContext c, KeyId id) {
        return c.optionalParam("record." + id.version()).map(RecordMatch::parse);
    }

    /**
     * True if an open intent creates or deletes versions of this name (rotate, generate with a
     * parent, delete-all-versions): a new version of the name must wait until it is finished.
     */
    public static boolean touchesName(Intent intent, String name) {
        if (intent.kind().equals(DELETE_ALL)) {
            return name.equals(intent.params().get("name"));
        }
        if (intent.kind().equals(ROTATE) || intent.kind().equals(GENERATE)) {
            return intent.keys().stream().anyMatch(k -> k.name().equals(name));
        }
        return false;
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
        // once per call: a run that failed is not retried within it (recovery finishes it later)
        return new Saga(KEK_REWRAP, List.of(Step.retriable("rewrap-all", c -> {
            Object report = rewrap.rewrapAll(c.optionalParam(TARGET).orElse(null));
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
        keys.storeKey(id, record.sealed(), record.metadata()); // the identical retry succeeds
    }

    /** True if the key holds the record this operation stored. */
    private boolean holdsOurs(SagaContext c, KeyId id) {
        try {
            return ours(c).matches(keys.retrieveKey(id));
        } catch (KeyNotFoundException gone) {
            return false;
        }
    }

    /** True if the previous version is still the one the rotate planned on (not deleted and stored again). */
    private boolean samePrevious(SagaContext c, KeyId previous) {
        Optional<String> created = c.optionalParam("previous.created");
        if (created.isEmpty()) {
            return true; // an intent journaled before created times were: the digest of next decided
        }
        try {
            return Long.parseLong(created.get()) == keys.retrieveKey(previous).metadata().created().toEpochMilli();
        } catch (KeyNotFoundException gone) {
            return false;
        }
    }

    /** Deletes the key if, and only if, it holds the record this operation stored. */
    private void removeIfOurs(SagaContext c, KeyId id) {
        try {
            StoredKey stored = keys.retrieveKey(id);
            if (ours(c).matches(stored)) {
                keys.deleteKey(id);
            }
        } catch (KeyNotFoundException gone) {
            // never stored, or removed already
        }
    }

    /**
     * From one status to another by compare-and-set, read again on a conflict; nothing if the key is
     * gone or not in {@code from} (changed meanwhile, or a repeat after a crash).
     */
    private void changeIf(KeyId id, KeyStatus from, KeyStatus to) {
        for (int attempt = 1; ; attempt++) {
            KeyMetadata current;
            try {
                current = keys.retrieveKey(id).metadata();
            } catch (KeyNotFoundException gone) {
                return;
            }
            if (current.status() != from) {
                return;
            }
            try {
                keys.updateKeyMetadata(id, SealingKeystore.nextRevision(current, now.get()).status(to).build());
                return;
            } catch (ConflictException e) {
                if (attempt >= MAX_ATTEMPTS) {
                    throw e;
                }
            }
        }
    }

    /**
     * False if this keystore holds the key and it is RETIRED or expired; true otherwise (a parent
     * held elsewhere, such as an L1 key in an external KMS, is usable).
     */
    private boolean usableParent(KeyId id) {
        try {
            KeyMetadata parent = keys.retrieveKey(id).metadata();
            return parent.status() != KeyStatus.RETIRED && !parent.isExpiredAt(now.get());
        } catch (KeyNotFoundException heldElsewhere) {
            return true;
        }
    }

    /** A version an operation planned to delete was kept: it no longer holds the record planned. */
    private void kept(KeyId id, String why) {
        Logs.warn(logger.get(), "Delete of all versions: {} kept: {}", id, why);
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
