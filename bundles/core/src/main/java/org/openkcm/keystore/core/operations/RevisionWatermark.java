package org.openkcm.keystore.core.operations;

import java.util.Iterator;
import java.util.concurrent.ConcurrentHashMap;

import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;

/**
 * The highest revision this runtime has seen (read or written) of each key version, so that
 * metadata rolled back to an earlier, authentic revision (e.g. ACTIVE again after RETIRED) is
 * refused while this runtime runs. A mark belongs to one incarnation of the id, told apart by its
 * created time: after a delete and a new store, the new key starts its own marks.
 * <p>
 * Bounded: past {@code capacity} entries, arbitrary ones are dropped (their keys lose the check
 * until seen again). Lost on restart; detecting a rollback across restarts needs durable state
 * outside the backend, which this bundle does not keep.
 */
final class RevisionWatermark {
    private record Mark(long createdMillis, long revision) {
    }

    private final ConcurrentHashMap<KeyId, Mark> marks = new ConcurrentHashMap<>();
    private final int capacity;

    /** @param capacity how many keys to remember; 0 disables the check */
    RevisionWatermark(int capacity) {
        this.capacity = Math.max(0, capacity);
    }

    /** The highest revision seen of this incarnation, if it is higher than the metadata's; else -1. */
    long newerThan(KeyMetadata m) {
        Mark mark = marks.get(m.id());
        if (mark != null && mark.createdMillis == m.created().toEpochMilli() && mark.revision > m.revision()) {
            return mark.revision;
        }
        return -1;
    }

    void observe(KeyMetadata m) {
        if (capacity == 0) {
            return;
        }
        long created = m.created().toEpochMilli();
        marks.merge(m.id(), new Mark(created, m.revision()), (old, seen) ->
                old.createdMillis != seen.createdMillis || seen.revision > old.revision ? seen : old);
        if (marks.size() > capacity) {
            Iterator<KeyId> it = marks.keySet().iterator();
            for (int drop = marks.size() - capacity; drop > 0 && it.hasNext(); drop--) {
                it.next();
                it.remove();
            }
        }
    }

    void forget(KeyId id) {
        marks.remove(id);
    }

    int size() {
        return marks.size();
    }
}
