package org.openkcm.keystore.api;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one KEK re-wrap run did: the KEK (id and version) it brought keys to, how many keys it
 * examined, re-wrapped, found already current, found vanished, and which failed and why.
 */
public final class RewrapReport {
    private final String kekId;
    private final int kekVersion;
    private final int examined;
    private final int rewrapped;
    private final int alreadyCurrent;
    private final int vanished;
    private final Map<KeyId, String> failed;

    public RewrapReport(String kekId, int kekVersion, int examined, int rewrapped, int alreadyCurrent, int vanished,
            Map<KeyId, String> failed) {
        this.kekId = kekId;
        this.kekVersion = kekVersion;
        this.examined = examined;
        this.rewrapped = rewrapped;
        this.alreadyCurrent = alreadyCurrent;
        this.vanished = vanished;
        this.failed = Collections.unmodifiableMap(new TreeMap<>(failed));
    }

    public String kekId() {
        return kekId;
    }

    public int kekVersion() {
        return kekVersion;
    }

    public int examined() {
        return examined;
    }

    public int rewrapped() {
        return rewrapped;
    }

    public int alreadyCurrent() {
        return alreadyCurrent;
    }

    public int vanished() {
        return vanished;
    }

    public Map<KeyId, String> failed() {
        return failed;
    }

    /** True if every key examined is now under the target KEK (or vanished). */
    public boolean complete() {
        return failed.isEmpty();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RewrapReport other && kekId.equals(other.kekId) && kekVersion == other.kekVersion
                && examined == other.examined && rewrapped == other.rewrapped
                && alreadyCurrent == other.alreadyCurrent && vanished == other.vanished && failed.equals(other.failed);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(kekId, kekVersion, examined, rewrapped, alreadyCurrent, vanished, failed);
    }

    @Override
    public String toString() {
        return "re-wrap to KEK " + kekId + " v" + kekVersion + ": " + examined + " examined, " + rewrapped
                + " re-wrapped, " + alreadyCurrent + " already current, " + vanished + " vanished, " + failed.size()
                + " failed" + (failed.isEmpty() ? "" : " " + failed);
    }
}
