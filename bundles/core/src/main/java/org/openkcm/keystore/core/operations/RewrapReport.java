package org.openkcm.keystore.core.operations;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.core.envelope.KekRef;

/**
 * What one run of {@link KekRewrapper} did: the KEK it brought keys to, how many keys it examined,
 * how many it re-wrapped (record, lifecycle MAC or both moved to that KEK), how many were already
 * current, how many vanished while it ran, and which failed and why (messages hold no key bytes).
 */
public record RewrapReport(KekRef target, int examined, int rewrapped, int alreadyCurrent, int vanished,
        Map<KeyId, String> failed) {

    public RewrapReport {
        failed = Collections.unmodifiableMap(new TreeMap<>(failed));
    }

    /** True if every key examined is now under the target KEK (or vanished). */
    public boolean complete() {
        return failed.isEmpty();
    }

    @Override
    public String toString() {
        return "re-wrap to KEK " + target + ": " + examined + " examined, " + rewrapped + " re-wrapped, "
                + alreadyCurrent + " already current, " + vanished + " vanished, " + failed.size() + " failed"
                + (failed.isEmpty() ? "" : " " + failed);
    }
}
