package org.openkcm.keystore.core.sealing;

import java.time.Clock;
import java.time.Instant;
import java.util.function.Function;
import java.util.function.Supplier;

import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.core.cache.CachedRecord;
import org.openkcm.keystore.core.cache.KeyCache;
import org.openkcm.keystore.core.cache.Servable;
import org.openkcm.keystore.core.envelope.Envelope;
import org.openkcm.keystore.core.log.Logs;
import org.osgi.service.log.Logger;

/**
 * The sealing layer: a {@link Keystore} over the layer below it (the routing layer) that holds
 * the keystore's integrity rules, so that everything above it (the operations, the sagas, the
 * administrative passes) reads and writes only records that pass them:
 * <ul>
 * <li>a read checks that the record belongs to the id asked for, its lifecycle MAC, and that its
 * revision is not older than one this runtime has seen ({@link RevisionWatermark});</li>
 * <li>a metadata update is authenticated here: its lifecycle MAC is computed under the sealing KEK;</li>
 * <li>a page of metadata is refused if one entry fails its lifecycle MAC;</li>
 * <li>{@link #seal} and {@link #open} are the envelope over the KEKs chosen now ({@link KekChoice}).</li>
 * </ul>
 * Its reads for callers ({@link #material}, {@link #metadata}) go through the key caches it is given:
 * the records it checked, and the material it opened from them. Every write through it makes them
 * forget the key it touched, whether the write succeeded or not (a failed call may still have
 * reached the backend), before the write returns. {@link #retrieveKey}, what the sagas and the
 * compare-and-set of an update read, always asks the layer below.
 */
public final class SealingKeystore implements Keystore, CheckedReads {
    private final Supplier<Keystore> below;
    private final KekChoice keks;
    private final Supplier<KeyCache> caches;
    private final Function<KeyId, String> location;
    private final Supplier<Logger> logger;
    private volatile RevisionWatermark watermark;

    /**
     * @param below the layer below, asked at each call (the routing table in use may change)
     * @param caches the key caches, asked at each call (replaced when reconfigured); null: none
     * @param location the {@code keystore.name} a key is read from, which the record cache keeps
     * @param watermarkSize how many keys' highest seen revision to remember (0: no rollback check)
     */
    public SealingKeystore(Supplier<Keystore> below, KekChoice keks, Supplier<KeyCache> caches,
            Function<KeyId, String> location, Supplier<Logger> logger, int watermarkSize) {
        this.below = below;
        this.keks = keks;
        this.caches = caches;
        this.location = location;
        this.logger = logger;
        this.watermark = new RevisionWatermark(watermarkSize);
    }

    /** Starts a new rollback watermark of this size (the revisions seen so far are forgotten). */
    public void watermarkSize(int size) {
        watermark = new RevisionWatermark(size);
    }

    /** The envelope over the KEKs chosen now. */
    public Envelope envelope() {
        return keks.envelope();
    }

    /** The next revision of a key's metadata, as a change to it starts: revision + 1, updated now (never earlier). */
    public static KeyMetadata.Builder nextRevision(KeyMetadata current, Instant now) {
        return current.toBuilder().revision(current.revision() + 1)
                .updated(now.isAfter(current.updated()) ? now : current.updated());
    }

    // --------------------------------------------------------------- plaintext

    /** The record of new material: sealed for the metadata, which gets its lifecycle MAC. Nothing is stored. */
    public StoredKey seal(KeyMetadata metadata, byte[] material) {
        Envelope envelope = envelope();
        SealedKey sealed = envelope.seal(metadata, material);
        return StoredKey.of(sealed, envelope.withLifecycleMac(metadata));
    }

    /**
     * The material of a record read through this layer, in a fresh array the caller wipes.
     *
     * @throws IntegrityException if the record does not open for its metadata (logged)
     */
    public byte[] open(StoredKey stored) {
        try {
            return envelope().open(stored.sealed(), stored.metadata());
        } catch (IntegrityException e) {
            Logs.warn(logger.get(), "Integrity failure: {}", e.getMessage());
            throw e;
        }
    }

    // --------------------------------------------------------------- reads through the caches

    /**
     * A key's material, for a caller that closes it: through the key caches, which apply the lifecycle
     * rule ({@link Servable}) at every read, hit or not; without caches, read and opened now.
     *
     * @throws org.openkcm.keystore.api.PolicyRefusedException if the key is RETIRED or expired now
     */
    public KeyMaterial material(KeyId id, Clock clock) {
        KeyCache cache = caches.get();
        if (cache != null) {
            return cache.material(id, this::load, this::open, clock);
        }
        StoredKey stored = retrieveKey(id);
        Servable.check(id, stored.metadata(), clock);
        return KeyMaterial.wrap(open(stored));
    }

    /** A key's metadata: through the record cache, or read now without one. */
    public KeyMetadata metadata(KeyId id) {
        KeyCache cache = caches.get();
        return cache != null ? cache.record(id, this::load).metadata() : retrieveKey(id).metadata();
    }

    /** What the record cache loads: the record as this layer checked it, and where it was read. */
    private CachedRecord load(KeyId id) {
        return new CachedRecord(location.apply(id), retrieveKey(id));
    }

    // --------------------------------------------------------------- Keystore

    @Override
    public StoredKey retrieveKey(KeyId id) {
        return read(id, below.get());
    }

    /**
     * Reads a key from the given backend through this layer's checks. A stale read that raced a
     * concurrent update is not a rollback: the mark compared is the one taken before the read.
     */
    @Override
    public StoredKey read(KeyId id, Keystore from) {
        RevisionWatermark marks = watermark;
        RevisionWatermark.Mark before = marks.seen(id); // before the read: see RevisionWatermark.seen
        StoredKey stored = from.retrieveKey(id);
        KeyMetadata metadata = stored.metadata();
        if (!metadata.id().equals(id)) {
            Logs.warn(logger.get(), "Integrity failure: the backend returned key {} when asked for key {}",
                    metadata.id(), id);
            throw new IntegrityException(id, "the backend returned the record of key " + metadata.id()
                    + " for this id: a record was copied to another id");
        }
        verify(metadata);
        long seen = RevisionWatermark.newerThan(before, metadata);
        if (seen >= 0) {
            Logs.warn(logger.get(), "Key {}: revision {} read, but revision {} was seen before: rolled back", id,
                    metadata.revision(), seen);
            throw new IntegrityException(id, "the metadata is at revision " + metadata.revision()
                    + " but revision " + seen + " was seen before: it was rolled back");
        }
        marks.observe(metadata);
        return stored;
    }

    @Override
    public void wrote(KeyMetadata written) {
        watermark.observe(written);
    }

    /** Stores a record made by {@link #seal} (its metadata carries its lifecycle MAC). */
    @Override
    public void storeKey(KeyId id, SealedKey sealed, KeyMetadata metadata) {
        written(id, () -> {
            below.get().storeKey(id, sealed, metadata);
            return null;
        });
        watermark.observe(metadata);
    }

    /**
     * Stores the metadata as the key's next revision (the caller sets the revision and the changed
     * fields; see {@link #nextRevision}), with its lifecycle MAC computed here under the sealing KEK.
     */
    @Override
    public KeyMetadata updateKeyMetadata(KeyId id, KeyMetadata metadata) {
        KeyMetadata authenticated = envelope().withLifecycleMac(metadata.toBuilder().lifecycleMac(null).build());
        KeyMetadata saved = written(id, () -> below.get().updateKeyMetadata(id, authenticated));
        watermark.observe(saved);
        return saved;
    }

    @Override
    public void rewrapKey(KeyId id, SealedKey sealed, long expectedRevision) {
        written(id, () -> {
            below.get().rewrapKey(id, sealed, expectedRevision);
            return null;
        });
    }

    @Override
    public boolean deleteKey(KeyId id) {
        boolean deleted = written(id, () -> below.get().deleteKey(id));
        watermark.forget(id);
        return deleted;
    }

    /** Runs a write of one key below; the caches forget the key afterwards, whether it succeeded or not. */
    private <T> T written(KeyId id, Supplier<T> write) {
        KeyCache cache = caches.get();
        return cache == null ? write.get() : cache.afterWrite(id, write);
    }

    /** A page of metadata, each entry's lifecycle MAC checked: a page holding a tampered entry is refused. */
    @Override
    public KeyPage listKeys(KeyFilter filter) {
        KeyPage page = below.get().listKeys(filter);
        Envelope envelope = envelope();
        for (KeyMetadata metadata : page.keys()) {
            envelope.verifyLifecycle(metadata);
        }
        return page;
    }

    @Override
    public KeystoreHealth health() {
        return below.get().health();
    }

    /** Forgets the highest revision seen of a key no longer held, so that a new one is not taken for a rollback. */
    public void forgetRevision(KeyId id) {
        watermark.forget(id);
    }

    private void verify(KeyMetadata metadata) {
        try {
            envelope().verifyLifecycle(metadata);
        } catch (IntegrityException e) {
            Logs.warn(logger.get(), "Integrity failure: {}", e.getMessage());
            throw e;
        }
    }
}
