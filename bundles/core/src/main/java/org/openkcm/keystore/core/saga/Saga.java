package org.openkcm.keystore.core.saga;

import java.util.ArrayList;
import java.util.List;

/**
 * The definition of a kind of multi-step operation: its name (the kind recorded in the journal)
 * and its steps. A definition holds no state of one run: the steps read what they need from the
 * {@link SagaContext} (the parameters decided before the first step, and the notes of earlier
 * steps), so that recovery can rebuild a run from its journal record alone.
 * <p>
 * Shape: COMPENSATABLE steps, then at most one PIVOT, then RETRIABLE steps. The commit point is the
 * pivot; without one, it is the last step when there are compensatable steps, and the beginning when
 * every step is retriable (such a saga only ever goes forward).
 */
public final class Saga {
    private final String kind;
    private final List<Step> steps;
    private final int commitPoint;

    public Saga(String kind, List<Step> steps) {
        if (kind == null || kind.isBlank() || kind.contains(":")) {
            throw new IllegalArgumentException("a saga kind is a non-empty name without ':'");
        }
        if (steps.isEmpty()) {
            throw new IllegalArgumentException("saga " + kind + " has no step");
        }
        this.kind = kind;
        this.steps = List.copyOf(steps);
        int pivot = -1;
        int firstRetriable = -1;
        int lastCompensatable = -1;
        for (int i = 0; i < this.steps.size(); i++) {
            switch (this.steps.get(i).kind()) {
                case PIVOT -> {
                    if (pivot >= 0) {
                        throw new IllegalArgumentException("saga " + kind + " has two pivots");
                    }
                    pivot = i;
                }
                case RETRIABLE -> firstRetriable = firstRetriable < 0 ? i : firstRetriable;
                case COMPENSATABLE -> lastCompensatable = i;
            }
        }
        if (firstRetriable >= 0 && (lastCompensatable > firstRetriable || (pivot >= 0 && pivot > firstRetriable))) {
            throw new IllegalArgumentException("saga " + kind + ": retriable steps must come after every other step");
        }
        if (pivot >= 0 && lastCompensatable > pivot) {
            throw new IllegalArgumentException("saga " + kind + ": compensatable steps must come before the pivot");
        }
        if (pivot >= 0) {
            commitPoint = pivot;
        } else if (lastCompensatable >= 0) {
            if (firstRetriable >= 0) {
                throw new IllegalArgumentException("saga " + kind + ": compensatable and retriable steps need a pivot between them");
            }
            commitPoint = this.steps.size() - 1;
        } else {
            commitPoint = -1;
        }
    }

    public String kind() {
        return kind;
    }

    public List<Step> steps() {
        return steps;
    }

    /** The index of the step after which the saga only goes forward; -1 if it always goes forward. */
    public int commitPoint() {
        return commitPoint;
    }

    public List<String> stepNames() {
        List<String> names = new ArrayList<>(steps.size());
        steps.forEach(s -> names.add(s.name()));
        return names;
    }
}
