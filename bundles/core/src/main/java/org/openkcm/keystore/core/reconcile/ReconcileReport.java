package org.openkcm.keystore.core.reconcile;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.openkcm.keystore.api.KeyId;

/**
 * What one backend holds against what the keystore knows of it, as the {@link Reconciler} found it.
 * <p>
 * Kept beside the api's {@code ReconciliationReport}, which the administration returns, because it
 * carries what the administration still needs to finish the run: the orphans and the missing keys
 * apart, each keyed to its finding id (the ids a caller named are checked against them), and the
 * unaccounted keys as one list ({@link #consistent()}); and it lacks what only the administration
 * knows, the missing keys it then forgets and why a named finding was not acted on. The
 * administration builds the api's report once, from this and those ({@code core.admin.Administration}).
 *
 * @param backend the backend's {@code keystore.name}
 * @param held how many key versions the backend lists
 * @param known how many key versions the keystore believes are there
 * @param unaccounted held, not in the location index, touched by no open operation and older than
 *            the grace period: an orphan of this runtime, or a key another runtime (or a person)
 *            stored on a shared backend
 * @param orphans the unaccounted keys with positive evidence that this runtime wrote their record and
 *            abandoned it (the {@link AbandonedRecords} name the very record held), each with the id
 *            of the finding that {@code remove} names: the only keys reconciliation ever deletes
 * @param recent held and unknown but younger than the grace period (a store may be under way): not removed
 * @param inDoubt held or expected, and touched by an operation still open in the journal: recovery decides
 * @param missing known but not held (a backend that lost its data, as memory does on restart, or a key
 *            another runtime deleted), each with the id of the finding that {@code remove} names
 * @param removed orphans deleted by this run (only those named)
 * @param failures keys named for removal that were not removed, with the reason
 */
public record ReconcileReport(String backend, int held, int known, List<KeyId> unaccounted, Map<KeyId, String> orphans,
        List<KeyId> recent, List<KeyId> inDoubt, Map<KeyId, String> missing, List<KeyId> removed,
        Map<KeyId, String> failures) {

    public ReconcileReport {
        unaccounted = List.copyOf(unaccounted);
        orphans = Collections.unmodifiableMap(new TreeMap<>(orphans)); // in key order, as reported
        recent = List.copyOf(recent);
        inDoubt = List.copyOf(inDoubt);
        missing = Collections.unmodifiableMap(new TreeMap<>(missing));
        removed = List.copyOf(removed);
        failures = Map.copyOf(failures);
    }

    /** The unaccounted keys without evidence: never removed. */
    public List<KeyId> unknown() {
        return unaccounted.stream().filter(id -> !orphans.containsKey(id)).toList();
    }

    /** True if the backend holds exactly what the keystore knows (nothing unaccounted or missing). */
    public boolean consistent() {
        return unaccounted.size() == removed.size() && recent.isEmpty() && missing.isEmpty() && failures.isEmpty();
    }

    @Override
    public String toString() {
        return "ReconcileReport[" + backend + ": held " + held + ", known " + known + ", unaccounted " + unaccounted.size()
                + " (orphans " + orphans.size() + "), recent " + recent.size() + ", in doubt " + inDoubt.size()
                + ", missing " + missing.size() + ", removed " + removed.size() + ", failures " + failures.size() + "]";
    }
}
