package org.openkcm.keystore.api;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a migration did (or, as progress, has done so far): keys examined, moved to where the
 * routing policy sends them, already in place, and failed with the reason (each failed key is
 * still readable exactly once, where it was). Messages hold no key material.
 */
public final class MigrationReport {
    private final int examined;
    private final int moved;
    private final int inPlace;
    private final Map<KeyId, String> failed;
    private final boolean finished;

    public MigrationReport(int examined, int moved, int inPlace, Map<KeyId, String> failed, boolean finished) {
        this.examined = examined;
        this.moved = moved;
        this.inPlace = inPlace;
        this.failed = Collections.unmodifiableMap(new TreeMap<>(failed));
        this.finished = finished;
    }

    public int examined() {
        return examined;
    }

    public int moved() {
        return moved;
    }

    /** Keys already stored where their route sends them. */
    public int inPlace() {
        return inPlace;
    }

    /** The keys that could not be moved, and why; each is still where it was. */
    public Map<KeyId, String> failed() {
        return failed;
    }

    /** False for a progress report, true for the final one. */
    public boolean finished() {
        return finished;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MigrationReport other && examined == other.examined && moved == other.moved
                && inPlace == other.inPlace && failed.equals(other.failed) && finished == other.finished;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(examined, moved, inPlace, failed, finished);
    }

    @Override
    public String toString() {
        return (finished ? "migration: " : "migration in progress: ") + examined + " examined, " + moved + " moved, "
                + inPlace + " in place, " + failed.size() + " failed" + (failed.isEmpty() ? "" : " " + failed);
    }
}
