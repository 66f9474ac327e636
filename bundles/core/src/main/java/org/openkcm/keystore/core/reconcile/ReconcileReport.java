package org.openkcm.keystore.core.reconcile;

import java.util.List;
import java.util.Map;

import org.openkcm.keystore.api.KeyId;

/**
 * What one backend holds against what the keystore knows of it.
 *
 * @param backend the backend's {@code keystore.name}
 * @param held how many key versions the backend lists
 * @param known how many key versions the keystore believes are there
 * @param orphans held but unknown, and touched by no open operation: left behind by a failure
 * @param recent held and unknown but younger than the grace period (a store may be under way): not removed
 * @param inDoubt held or expected, and touched by an operation still open in the journal: recovery decides
 * @param missing known but not held: lost keys (or a backend that lost its data, as memory does on restart)
 * @param removed orphans deleted by this run (only when asked to remove)
 * @param failures keys whose removal failed, with the reason
 */
public record ReconcileReport(String backend, int held, int known, List<KeyId> orphans, List<KeyId> recent,
        List<KeyId> inDoubt, List<KeyId> missing, List<KeyId> removed, Map<KeyId, String> failures) {

    public ReconcileReport {
        orphans = List.copyOf(orphans);
        recent = List.copyOf(recent);
        inDoubt = List.copyOf(inDoubt);
        missing = List.copyOf(missing);
        removed = List.copyOf(removed);
        failures = Map.copyOf(failures);
    }

    /** True if the backend holds exactly what the keystore knows (nothing orphaned or missing). */
    public boolean consistent() {
        return orphans.size() == removed.size() && recent.isEmpty() && missing.isEmpty() && failures.isEmpty();
    }

    @Override
    public String toString() {
        return "ReconcileReport[" + backend + ": held " + held + ", known " + known + ", orphans " + orphans.size()
                + ", recent " + recent.size() + ", in doubt " + inDoubt.size() + ", missing " + missing.size()
                + ", removed " + removed.size() + ", failures " + failures.size() + "]";
    }
}
