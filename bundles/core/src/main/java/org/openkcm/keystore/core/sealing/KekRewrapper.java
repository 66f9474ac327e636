package org.openkcm.keystore.core.sealing;

import java.util.LinkedHashMap;
import java.util.Map;

import org.openkcm.keystore.api.ConflictException;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreException;
import org.openkcm.keystore.api.RewrapReport;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.envelope.Envelope;
import org.openkcm.keystore.core.envelope.KekRef;
import org.openkcm.keystore.core.log.Logs;
import org.osgi.service.log.Logger;

/**
 * KEK rotation without touching material: brings every key of a backend to the sealing KEK's
 * current version. For each key, in pages of {@link Keystore#listKeys}:
 * <ol>
 * <li>read it through the sealing layer ({@link SealingKeystore}: its id, its lifecycle MAC, and a
 * revision not older than one this runtime has seen), so that a key that fails, or was rolled back,
 * is reported and never re-wrapped (which would make the rolled-back record current);</li>
 * <li>if its record is under another KEK version, {@link Envelope#rewrap} it (the data key is
 * unwrapped and wrapped again, the material ciphertext copied unchanged) and store it with
 * {@link Keystore#rewrapKey} through the layer, compare-and-set on the revision read;</li>
 * <li>if its lifecycle MAC is keyed by another KEK version, store the metadata again through the
 * layer, which computes its MAC under the current version (revision + 1, nothing else changes), so
 * that the old KEK version can be removed once the run is complete.</li>
 * </ol>
 * The keys are listed from the layer below (a page holding a tampered entry would be refused whole
 * by the sealing layer; here that one key is reported). A conflict (a caller changed the key
 * meanwhile) re-reads the key and tries again. Keys already current are skipped, so a run that was
 * interrupted is finished by running it again.
 */
public final class KekRewrapper {
    static final int DEFAULT_PAGE_SIZE = 100;
    static final int MAX_ATTEMPTS = 5;

    private final Keystore listed;
    private final SealingKeystore layer;
    private final Envelope envelope;
    private final Logger logger;
    private final int pageSize;

    /**
     * @param listed the layer below the sealing layer, whose keys are listed
     * @param layer the sealing layer the keys are read and written through
     */
    public KekRewrapper(Keystore listed, SealingKeystore layer, Logger logger) {
        this(listed, layer, logger, DEFAULT_PAGE_SIZE);
    }

    KekRewrapper(Keystore listed, SealingKeystore layer, Logger logger, int pageSize) {
        this.listed = listed;
        this.layer = layer;
        this.envelope = layer.envelope(); // one KEK choice for the whole run
        this.logger = logger;
        this.pageSize = pageSize;
    }

    /**
     * What the kek-rewrap saga runs: every key re-wrapped under the sealing KEK's current version if
     * that is {@code target} (null: whichever it is). If sealing is refused, or another KEK version
     * seals now, nothing is done and the refusal is returned, not thrown: the run the intent recorded
     * no longer applies, and there is nothing left for recovery to finish.
     *
     * @return the {@link RewrapReport}, or the {@link UnavailableException} that refused the run
     */
    public static Object runTo(String target, Keystore listed, SealingKeystore layer, Logger logger) {
        KekRewrapper rewrapper = new KekRewrapper(listed, layer, logger);
        KekProvider sealing;
        try {
            sealing = rewrapper.envelope.keks().sealing();
        } catch (UnavailableException refused) {
            return refused;
        }
        String now = new KekRef(sealing.kekId(), sealing.currentVersion()).toString();
        if (target != null && !target.equals(now)) {
            return new UnavailableException("KEK refused: the re-wrap to " + target + " was not run: " + now
                    + " seals now; run the re-wrap again to move the records to it");
        }
        return rewrapper.run();
    }

    private enum Outcome { REWRAPPED, CURRENT, VANISHED }

    /** Runs over every key of the backend once. */
    public RewrapReport run() {
        KekProvider sealing = envelope.keks().sealing();
        KekRef target = new KekRef(sealing.kekId(), sealing.currentVersion());
        Logs.info(logger, "KEK re-wrap to {} started", target);
        int examined = 0;
        int rewrapped = 0;
        int current = 0;
        int vanished = 0;
        Map<KeyId, String> failed = new LinkedHashMap<>();
        KeyFilter filter = KeyFilter.builder().pageSize(pageSize).build();
        String cursor = null;
        do {
            KeyPage page = listed.listKeys(cursor == null ? filter : filter.withCursor(cursor));
            for (KeyMetadata listed : page.keys()) {
                examined++;
                KeyId id = listed.id();
                try {
                    switch (rewrapOne(id, target)) {
                        case REWRAPPED -> rewrapped++;
                        case CURRENT -> current++;
                        case VANISHED -> vanished++;
                    }
                } catch (KeystoreException e) {
                    failed.put(id, e.getMessage());
                    Logs.warn(logger, "KEK re-wrap of key {} failed: {}", id, e.getMessage());
                }
            }
            cursor = page.nextCursor().orElse(null);
        } while (cursor != null);
        RewrapReport report = new RewrapReport(target.kekId(), target.version(), examined, rewrapped, current,
                vanished, failed);
        Logs.info(logger, "KEK re-wrap finished: {}", report);
        return report;
    }

    private Outcome rewrapOne(KeyId id, KekRef target) {
        boolean changed = false;
        for (int attempt = 1; ; attempt++) {
            StoredKey stored;
            try {
                stored = layer.read(id, listed); // the id, the lifecycle MAC, no rollback: as get checks
            } catch (KeyNotFoundException e) {
                return changed ? Outcome.REWRAPPED : Outcome.VANISHED;
            }
            KeyMetadata metadata = stored.metadata();
            boolean recordCurrent = target.equals(Envelope.recordKek(stored.sealed(), id));
            boolean macCurrent = target.equals(Envelope.macKek(metadata).orElse(null));
            if (recordCurrent && macCurrent) {
                return changed ? Outcome.REWRAPPED : Outcome.CURRENT;
            }
            try {
                if (!recordCurrent) {
                    SealedKey rewrapped = envelope.rewrap(stored.sealed(), metadata);
                    layer.rewrapKey(id, rewrapped, metadata.revision());
                    changed = true;
                }
                if (!macCurrent) {
                    layer.updateKeyMetadata(id, metadata.toBuilder().revision(metadata.revision() + 1).build());
                    changed = true;
                }
                return Outcome.REWRAPPED;
            } catch (ConflictException e) {
                if (attempt >= MAX_ATTEMPTS) {
                    throw e;
                }
                // changed meanwhile: read it again
            }
        }
    }
}
