package org.openkcm.keystore.core.journal;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.UUID;

import org.openkcm.keystore.api.KeyId;

/**
 * What the journal knows of one multi-step operation: what it planned when it began (its kind, the
 * keys it touches, its parameters and its steps) and which steps it finished, with the notes each
 * step left. Immutable; holds no key material (parameters are ids, names, counts and digests).
 *
 * @param id the operation's id
 * @param kind the kind of operation (a saga definition's name, e.g. {@code rotate})
 * @param keys every key version the operation may create, change or delete
 * @param params the parameters decided before the first step
 * @param steps the names of the planned steps, in order
 * @param done the steps recorded as finished
 * @param notes what finished steps recorded, merged in order
 */
public record Intent(UUID id, String kind, List<KeyId> keys, Map<String, String> params, List<String> steps,
        SortedSet<Integer> done, Map<String, String> notes) {

    public Intent {
        keys = List.copyOf(keys);
        params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
        steps = List.copyOf(steps);
        done = Collections.unmodifiableSortedSet(new TreeSet<>(done));
        notes = Collections.unmodifiableMap(new LinkedHashMap<>(notes));
    }

    static Intent begun(UUID id, String kind, List<KeyId> keys, Map<String, String> params, List<String> steps) {
        return new Intent(id, kind, keys, params, steps, new TreeSet<>(), Map.of());
    }

    Intent withStepDone(int step, Map<String, String> stepNotes) {
        TreeSet<Integer> d = new TreeSet<>(done);
        d.add(step);
        Map<String, String> n = new LinkedHashMap<>(notes);
        n.putAll(stepNotes);
        return new Intent(id, kind, keys, params, steps, d, n);
    }

    /** How many steps, counted from the first, are recorded as finished. */
    public int stepsDone() {
        int n = 0;
        while (done.contains(n)) {
            n++;
        }
        return n;
    }

    public boolean isDone(int step) {
        return done.contains(step);
    }

    @Override
    public String toString() {
        return "Intent[" + kind + " " + id + ", keys=" + keys + ", steps=" + steps + ", done=" + done + "]";
    }
}
