package org.openkcm.keystore.api;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one backend holds against what the keystore knows of it: orphans (held, unknown, touched by
 * no open operation), keys held but too recent to judge, keys in doubt (an operation on them is
 * still open: recovery settles them), missing keys (known, not held), the orphans removed, and the
 * missing keys forgotten (their stale location records dropped).
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

    public ReconciliationReport(String backend, int held, int known, List<KeyId> orphans, List<KeyId> recent,
            List<KeyId> inDoubt, List<KeyId> missing, List<KeyId> removed, Map<KeyId, String> failures) {
        this(backend, held, known, orphans, recent, inDoubt, missing, removed, failures, List.of());
    }

    /** @since 1.1: with the missing keys whose location records were forgotten */
    public ReconciliationReport(String backend, int held, int known, List<KeyId> orphans, List<KeyId> recent,
            List<KeyId> inDoubt, List<KeyId> missing, List<KeyId> removed, Map<KeyId, String> failures,
            List<KeyId> forgotten) {
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

    /** Orphans whose removal failed, with the reason. */
    public Map<KeyId, String> failures() {
        return failures;
    }

    @Override
    public String toString() {
        return "ReconciliationReport[" + backend + ": held " + held + ", known " + known + ", orphans " + orphans.size()
                + ", recent " + recent.size() + ", in doubt " + inDoubt.size() + ", missing " + missing.size()
                + ", removed " + removed.size() + ", failures " + failures.size() + ", forgotten " + forgotten.size() + "]";
    }
}
