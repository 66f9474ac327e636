package org.openkcm.keystore.core.reconcile;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;

import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreException;
import org.openkcm.keystore.api.Validation;
import org.openkcm.keystore.core.journal.Intent;
import org.openkcm.keystore.core.log.Logs;
import org.osgi.service.log.Logger;

/**
 * Compares what a backend holds ({@link Keystore#listKeys}, every page) with what the keystore
 * knows of it (the keys its location index places there) and with the journal (keys touched by an
 * operation still open are in doubt: recovery, not reconciliation, settles them). Reports orphans
 * (held, unknown, not in doubt) and missing keys (known, not held); on request deletes the orphans
 * older than a grace period, checking again just before each delete that the key is still unknown.
 * The grace period protects a store under way, whose record reaches the backend a moment before the
 * index records it.
 */
public final class Reconciler {
    public static final Duration DEFAULT_GRACE = Duration.ofMinutes(5);
    static final int PAGE_SIZE = Validation.MAX_PAGE_SIZE;

    private final Logger logger;
    private final Clock clock;

    public Reconciler(Logger logger, Clock clock) {
        this.logger = logger;
        this.clock = clock;
    }

    /**
     * @param name the backend's {@code keystore.name}
     * @param backend the backend itself (not the router: what it holds, whatever the index says)
     * @param known the keys the keystore believes the backend holds
     * @param knownNow asked again just before an orphan is deleted: true if the key became known meanwhile
     * @param open the operations still open in the journal
     * @param grace an orphan younger than this (by its created time) is reported, never removed
     * @param remove whether to delete the orphans
     */
    public ReconcileReport reconcile(String name, Keystore backend, Iterable<KeyId> known, Predicate<KeyId> knownNow,
            Collection<Intent> open, Duration grace, boolean remove) {
        Set<KeyId> expected = new HashSet<>();
        known.forEach(expected::add);
        Set<KeyId> doubtful = new HashSet<>();
        open.forEach(intent -> doubtful.addAll(intent.keys()));
        Instant youngest = clock.instant().minus(grace);

        int held = 0;
        Set<KeyId> seen = new HashSet<>();
        List<KeyMetadata> unknown = new ArrayList<>();
        TreeSet<KeyId> inDoubt = new TreeSet<>();
        KeyFilter filter = KeyFilter.builder().pageSize(PAGE_SIZE).build();
        String cursor = null;
        do {
            KeyPage page = backend.listKeys(cursor == null ? filter : filter.withCursor(cursor));
            for (KeyMetadata m : page.keys()) {
                held++;
                seen.add(m.id());
                if (doubtful.contains(m.id())) {
                    inDoubt.add(m.id());
                } else if (!expected.contains(m.id())) {
                    unknown.add(m);
                }
            }
            cursor = page.nextCursor().orElse(null);
        } while (cursor != null);

        List<KeyId> missing = new ArrayList<>();
        for (KeyId id : expected) {
            if (!seen.contains(id)) {
                if (doubtful.contains(id)) {
                    inDoubt.add(id);
                } else {
                    missing.add(id);
                }
            }
        }
        missing.sort(null);

        List<KeyId> orphans = new ArrayList<>();
        List<KeyId> recent = new ArrayList<>();
        for (KeyMetadata m : unknown) {
            (m.created().isAfter(youngest) ? recent : orphans).add(m.id());
        }
        List<KeyId> removed = new ArrayList<>();
        Map<KeyId, String> failures = new LinkedHashMap<>();
        if (remove) {
            for (KeyId id : orphans) {
                if (knownNow.test(id)) {
                    continue; // recorded meanwhile: not an orphan after all
                }
                try {
                    backend.deleteKey(id);
                    removed.add(id);
                    Logs.info(logger, "Reconciliation of {}: orphan {} removed", name, id);
                } catch (KeystoreException e) {
                    failures.put(id, e.getMessage());
                    Logs.warn(logger, "Reconciliation of {}: orphan {} could not be removed: {}", name, id, e.getMessage());
                }
            }
        }
        ReconcileReport report = new ReconcileReport(name, held, expected.size(), orphans, recent,
                new ArrayList<>(inDoubt), missing, removed, failures);
        if (!orphans.isEmpty() || !missing.isEmpty()) {
            Logs.warn(logger, "Reconciliation: {}", report);
        } else {
            Logs.info(logger, "Reconciliation: {}", report);
        }
        return report;
    }
}
