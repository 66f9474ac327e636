package org.openkcm.keystore.api;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one backend holds against what the keystore knows of it: orphans (held, not in the location
 * index, and holding a record this runtime wrote and abandoned: the only keys reconciliation
 * deletes), unknown keys (held, not in the index, no such evidence: another runtime's key on a shared
 * backend, or one stored by hand; never deleted), keys held but too recent to judge, keys in doubt
 * (an operation on them is still open: recovery settles them), missing keys (known, not held), the
 * orphans removed, and the missing keys forgotten (their stale location records dropped). Each orphan
 * and missing key has a finding id ({@link #ids()}) that a removal names.
 */
public final class ReconciliationReport {
    private final String backend;
    private final int held;
    private final int known;
    private final List<KeyId> orphans;
    private final List<KeyId> recent;
    private final List<KeyId> inDoubt;
    private final List<KeyId> missing;
    private final List<KeyId> removed;
    private final Map<KeyId, String> failures;
    private final List<KeyId> forgotten;
    private final List<KeyId> unknown;
    private final Map<KeyId, String> ids;

    public ReconciliationReport(String backend, int held, int known, List<KeyId> orphans, List<KeyId> recent,
            List<KeyId> inDoubt, List<KeyId> missing, List<KeyId> removed, Map<KeyId, String> failures) {
        this(backend, held, known, orphans, recent, inDoubt, missing, removed, failures, List.of());
    }

    /** @since 1.1: with the missing keys whose location records were forgotten */
    public ReconciliationReport(String backend, int held, int known, List<KeyId> orphans, List<KeyId> recent,
            List<KeyId> inDoubt, List<KeyId> missing, List<KeyId> removed, Map<KeyId, String> failures,
            List<KeyId> forgotten) {
        this(backend, held, known, orphans, recent, inDoubt, missing, removed, failures, forgotten, List.of(), Map.of());
    }

    /**
     * @param unknown held, not in the location index, without evidence that this runtime abandoned them
     * @param ids the finding id of each orphan and missing key
     * @since 1.2
     */
    public ReconciliationReport(String backend, int held, int known, List<KeyId> orphans, List<KeyId> recent,
            List<KeyId> inDoubt, List<KeyId> missing, List<KeyId> removed, Map<KeyId, String> failures,
            List<KeyId> forgotten, List<KeyId> unknown, Map<KeyId, String> ids) {
        this.backend = Validation.required("backend", backend);
        this.held = held;
        this.known = known;
        this.orphans = List.copyOf(orphans);
        this.recent = List.copyOf(recent);
        this.inDoubt = List.copyOf(inDoubt);
        this.missing = List.copyOf(missing);
        this.removed = List.copyOf(removed);
        this.failures = Collections.unmodifiableMap(new TreeMap<>(failures));
        this.forgotten = List.copyOf(forgotten);
        this.unknown = List.copyOf(unknown);
        this.ids = Collections.unmodifiableMap(new TreeMap<>(ids));
    }

    public String backend() {
        return backend;
    }

    public int held() {
        return held;
    }

    public int known() {
        return known;
    }

    public List<KeyId> orphans() {
        return orphans;
    }

    public List<KeyId> recent() {
        return recent;
    }

    public List<KeyId> inDoubt() {
        return inDoubt;
    }

    public List<KeyId> missing() {
        return missing;
    }

    public List<KeyId> removed() {
        return removed;
    }

    /**
     * Missing keys whose location record was dropped (reconcile with remove): the backend no longer
     * holds them, typically a volatile backend that restarted, so the keystore stops expecting them.
     *
     * @since 1.1
     */
    public List<KeyId> forgotten() {
        return forgotten;
    }

    /**
     * Keys the backend holds that the location index does not place there, with no evidence that
     * this runtime wrote and abandoned them: on a shared backend, another runtime's keys. Never
     * removed.
     *
     * @since 1.2
     */
    public List<KeyId> unknown() {
        return unknown;
    }

    /**
     * The finding id of each orphan and missing key, as a removal names it
     * ({@link KeystoreAdministration#reconcile(java.util.Collection)}).
     *
     * @since 1.2
     */
    public Map<KeyId, String> ids() {
        return ids;
    }

    /** Keys named for removal that were not removed (or whose removal failed), with the reason. */
    public Map<KeyId, String> failures() {
        return failures;
    }

    @Override
    public String toString() {
        return "ReconciliationReport[" + backend + ": held " + held + ", known " + known + ", orphans " + orphans.size()
                + ", recent " + recent.size() + ", in doubt " + inDoubt.size() + ", missing " + missing.size()
                + ", removed " + removed.size() + ", failures " + failures.size() + ", forgotten " + forgotten.size() + ", unknown " + unknown.size() + "]";
    }
}
