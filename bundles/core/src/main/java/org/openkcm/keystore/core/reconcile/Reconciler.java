package org.openkcm.keystore.core.reconcile;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.function.Supplier;

import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreException;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.Validation;
import org.openkcm.keystore.core.journal.Intent;
import org.openkcm.keystore.core.log.Logs;
import org.openkcm.keystore.core.saga.RecordMatch;
import org.osgi.service.log.Logger;

/**
 * Compares what a backend holds ({@link Keystore#listKeys}, every page) with what the keystore
 * knows of it (the keys its location index places there) and with the journal (keys touched by an
 * operation still open are in doubt: recovery, not reconciliation, settles them).
 * <p>
 * <b>It deletes only on positive evidence.</b> A key held but absent from the location index is not
 * an orphan for that alone: on a backend shared with another runtime it is that runtime's key. It is
 * an orphan only if the backend still holds, byte for byte, a record this runtime wrote and abandoned
 * ({@link AbandonedRecords}); every other such key is reported as unknown and never removed. Each
 * orphan and each missing key is a finding with an id ({@link #orphanId}, {@link #missingId}); a run
 * removes only the findings it is given the ids of (from a report someone reviewed), and only if the
 * evidence still holds just before the delete.
 */
public final class Reconciler {
    public static final Duration DEFAULT_GRACE = Duration.ofMinutes(5);
    static final int PAGE_SIZE = Validation.MAX_PAGE_SIZE;
    static final String ORPHAN = "orphan";
    static final String MISSING = "missing";
    /** How much of the record's digest an orphan's id carries: enough to tell one record from another. */
    static final int DIGEST_CHARS = 16;

    private final Logger logger;
    private final Clock clock;

    public Reconciler(Logger logger, Clock clock) {
        this.logger = logger;
        this.clock = clock;
    }

    /** The id of the finding "this backend holds a record this runtime abandoned under this key id". */
    public static String orphanId(String backend, KeyId id, RecordMatch record) {
        return ORPHAN + "/" + backend + "/" + id + "/" + record.sha256().substring(0, DIGEST_CHARS);
    }

    /** The id of the finding "the index places this key in this backend, which does not hold it". */
    public static String missingId(String backend, KeyId id) {
        return MISSING + "/" + backend + "/" + id;
    }

    /** A finding id, read back: its kind, backend and key id. */
    public record FindingId(String kind, String backend, KeyId key, String text) {
        public boolean orphan() {
            return kind.equals(ORPHAN);
        }
    }

    /**
     * Reads a finding id as printed by a report.
     *
     * @throws InvalidInputException if it is not one
     */
    public static FindingId parseId(String text) {
        String[] parts = text == null ? new String[0] : text.split("/", -1);
        boolean orphan = parts.length == 4 && parts[0].equals(ORPHAN) && parts[3].length() == DIGEST_CHARS
                && parts[3].chars().allMatch(c -> Character.digit(c, 16) >= 0);
        boolean missing = parts.length == 3 && parts[0].equals(MISSING);
        if (!orphan && !missing) {
            throw new InvalidInputException("id", "'" + text + "' is not the id of a reconciliation finding (orphan/"
                    + "BACKEND/NAME:VERSION/DIGEST or missing/BACKEND/NAME:VERSION, as the report prints them)");
        }
        Validation.identifier("id", parts[1], Validation.MAX_NAME_LENGTH);
        return new FindingId(parts[0], parts[1], KeyId.parse(parts[2]), text);
    }

    /**
     * @param name the backend's {@code keystore.name}
     * @param backend the backend itself (not the router: what it holds, whatever the index says)
     * @param known the keys the keystore believes the backend holds
     * @param knownNow asked again just before an orphan is deleted: true if the key became known meanwhile
     * @param open the operations still open in the journal (read again just before each delete)
     * @param grace a key younger than this (by its created time) is reported as recent, never removed
     * @param abandoned the records this runtime wrote and abandoned: the evidence
     * @param remove true for the id of an orphan finding to delete ({@code id -> false}: a report only)
     */
    public ReconcileReport reconcile(String name, Keystore backend, Iterable<KeyId> known, Predicate<KeyId> knownNow,
            Supplier<? extends Collection<Intent>> open, Duration grace, AbandonedRecords abandoned,
            Predicate<String> remove) {
        Set<KeyId> expected = new HashSet<>();
        known.forEach(expected::add);
        Set<KeyId> doubtful = doubtful(open.get());
        Instant youngest = clock.instant().minus(grace);

        int held = 0;
        Map<KeyId, KeyMetadata> seen = new HashMap<>();
        List<KeyMetadata> notIndexed = new ArrayList<>();
        TreeSet<KeyId> inDoubt = new TreeSet<>();
        KeyFilter filter = KeyFilter.builder().pageSize(PAGE_SIZE).build();
        String cursor = null;
        do {
            KeyPage page = backend.listKeys(cursor == null ? filter : filter.withCursor(cursor));
            for (KeyMetadata m : page.keys()) {
                if (org.openkcm.keystore.core.routing.RoutingTable.placementRecord(m.id())) {
                    continue; // a shared placement record, not a key: never an orphan
                }
                held++;
                seen.put(m.id(), m);
                if (doubtful.contains(m.id())) {
                    inDoubt.add(m.id());
                } else if (!expected.contains(m.id())) {
                    notIndexed.add(m);
                }
            }
            cursor = page.nextCursor().orElse(null);
        } while (cursor != null);

        Map<KeyId, String> missing = new TreeMap<>();
        for (KeyId id : expected) {
            if (!seen.containsKey(id)) {
                if (doubtful.contains(id)) {
                    inDoubt.add(id);
                } else {
                    missing.put(id, missingId(name, id));
                }
            }
        }

        List<KeyId> unaccounted = new ArrayList<>();
        List<KeyId> recent = new ArrayList<>();
        Map<KeyId, String> orphans = new TreeMap<>();
        Map<KeyId, RecordMatch> evidence = new LinkedHashMap<>();
        for (KeyMetadata m : notIndexed) {
            if (m.created().isAfter(youngest)) {
                recent.add(m.id());
                continue;
            }
            unaccounted.add(m.id());
            abandonedRecordHeld(name, backend, m, abandoned).ifPresent(record -> {
                orphans.put(m.id(), orphanId(name, m.id(), record));
                evidence.put(m.id(), record);
            });
        }
        unaccounted.sort(null);
        recent.sort(null);
        forgetStaleEvidence(name, abandoned, seen, expected);

        List<KeyId> removed = new ArrayList<>();
        Map<KeyId, String> failures = new LinkedHashMap<>();
        for (Map.Entry<KeyId, String> orphan : orphans.entrySet()) {
            if (!remove.test(orphan.getValue())) {
                continue; // not named: a report only
            }
            KeyId id = orphan.getKey();
            String refused = evidenceGone(name, backend, id, evidence.get(id), knownNow, open, abandoned);
            if (refused != null) {
                failures.put(id, "not removed: " + refused);
                Logs.info(logger, "Reconciliation of {}: orphan {} kept: {}", name, id, refused);
                continue;
            }
            try {
                backend.deleteKey(id);
                abandoned.forget(name, id);
                removed.add(id);
                Logs.info(logger, "Reconciliation of {}: orphan {} removed (a record this runtime wrote and abandoned)",
                        name, id);
            } catch (KeystoreException e) {
                failures.put(id, e.getMessage());
                Logs.warn(logger, "Reconciliation of {}: orphan {} could not be removed: {}", name, id, e.getMessage());
            }
        }
        ReconcileReport report = new ReconcileReport(name, held, expected.size(), unaccounted, orphans, recent,
                new ArrayList<>(inDoubt), missing, removed, failures);
        if (!orphans.isEmpty() || !missing.isEmpty()) {
            Logs.warn(logger, "Reconciliation: {}", report);
        } else {
            Logs.info(logger, "Reconciliation: {}", report);
        }
        return report;
    }

    private static Set<KeyId> doubtful(Collection<Intent> open) {
        Set<KeyId> doubtful = new HashSet<>();
        open.forEach(intent -> doubtful.addAll(intent.keys()));
        return doubtful;
    }

    /** The abandoned record of this id, if the backend holds exactly it now. */
    private Optional<RecordMatch> abandonedRecordHeld(String name, Keystore backend, KeyMetadata listed,
            AbandonedRecords abandoned) {
        Optional<RecordMatch> ours = abandoned.at(name, listed.id());
        if (ours.isEmpty() || ours.get().createdMillis().orElse(-1) != listed.created().toEpochMilli()) {
            return Optional.empty(); // the created time alone tells most records apart without a read
        }
        try {
            StoredKey now = backend.retrieveKey(listed.id());
            return ours.get().matches(now) ? ours : Optional.empty();
        } catch (KeyNotFoundException gone) {
            return Optional.empty();
        } catch (KeystoreException e) {
            Logs.warn(logger, "Reconciliation of {}: {} not read ({}); reported as unknown", name, listed.id(),
                    e.getMessage());
            return Optional.empty();
        }
    }

    /**
     * Drops the ledger entries of this backend that can never be evidence again: the id is not held,
     * is held under another created time (the create-only contract keeps a held id's record), or the
     * key is in the location index (something read it since: it is in use, not abandoned).
     */
    private static void forgetStaleEvidence(String name, AbandonedRecords abandoned, Map<KeyId, KeyMetadata> seen,
            Set<KeyId> expected) {
        for (AbandonedRecords.Entry e : abandoned.entries()) {
            if (!e.backend().equals(name)) {
                continue;
            }
            KeyMetadata held = seen.get(e.id());
            if (held == null || expected.contains(e.id())
                    || e.record().createdMillis().orElse(-1) != held.created().toEpochMilli()) {
                abandoned.forget(name, e.id());
            }
        }
    }

    /** Why the evidence for deleting this orphan no longer holds, or null if it does (checked just before). */
    private static String evidenceGone(String name, Keystore backend, KeyId id, RecordMatch record,
            Predicate<KeyId> knownNow, Supplier<? extends Collection<Intent>> open, AbandonedRecords abandoned) {
        if (knownNow.test(id)) {
            return "the keystore recorded it meanwhile";
        }
        if (doubtful(open.get()).contains(id)) {
            return "an operation now open touches it";
        }
        if (!abandoned.at(name, id).equals(Optional.of(record))) {
            return "the record it abandoned is no longer on record here";
        }
        try {
            if (!record.matches(backend.retrieveKey(id))) {
                return "it holds another record now";
            }
        } catch (KeyNotFoundException gone) {
            return "it is gone already";
        } catch (KeystoreException e) {
            return "it cannot be read now (" + e.getMessage() + ")";
        }
        return null;
    }
}
