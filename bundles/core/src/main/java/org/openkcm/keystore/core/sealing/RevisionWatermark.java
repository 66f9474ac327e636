package org.openkcm.keystore.core.sealing;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;

/**
 * The highest revision this runtime has seen (read or written) of each key version, so that
 * metadata rolled back to an earlier, authentic revision (e.g. ACTIVE again after RETIRED) is
 * refused while this runtime runs. A mark belongs to one incarnation of the id, told apart by its
 * created time: after a delete and a new store, the new key starts its own marks.
 * <p>
 * Bounded: past {@code capacity} entries, the oldest-added ones are dropped (their keys lose the
 * check until seen again). Lost on restart; detecting a rollback across restarts needs durable state
 * outside the backend, which this bundle does not keep.
 */
final class RevisionWatermark {
    /** The highest revision seen of one incarnation of a key. */
    record Mark(long createdMillis, long revision) {
    }

    private final ConcurrentHashMap<KeyId, Mark> marks = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<KeyId> order = new ConcurrentLinkedQueue<>();
    private final AtomicLong queued = new AtomicLong();
    private final int capacity;

    /** @param capacity how many keys to remember; 0 disables the check */
    RevisionWatermark(int capacity) {
        this.capacity = Math.max(0, capacity);
    }

    /**
     * What had been seen of a key, taken before a read of it starts. A linearizable backend must
     * return at least that revision; a write that finishes while the read runs cannot count against
     * the read, which comparing with the mark after the read would do (a false rollback under load).
     *
     * @return the mark, or null if nothing was seen
     */
    Mark seen(KeyId id) {
        return marks.get(id);
    }

    /** The revision in {@code before}, if it is of the metadata's incarnation and higher than its revision; else -1. */
    static long newerThan(Mark before, KeyMetadata m) {
        if (before != null && before.createdMillis == m.created().toEpochMilli() && before.revision > m.revision()) {
            return before.revision;
        }
        return -1;
    }

    /** The highest revision seen of this incarnation, if it is higher than the metadata's; else -1. */
    long newerThan(KeyMetadata m) {
        return newerThan(marks.get(m.id()), m);
    }

    void observe(KeyMetadata m) {
        // A first revision can be rolled back to nothing, so its mark could never refuse a read; not
        // keeping one spares the churn that reading more never-updated keys than the capacity caused
        // (a mark, a queue node and an eviction per read, which at a million keys filled the old
        // generation and multiplied GC time). A mark of an earlier incarnation stays: it names its own
        // created time, so it never counts against this one.
        if (capacity == 0 || m.revision() <= 1) {
            return;
        }
        Mark seen = new Mark(m.created().toEpochMilli(), m.revision());
        boolean[] added = new boolean[1];
        marks.compute(m.id(), (id, old) -> {
            if (old == null) {
                added[0] = true;
                return seen;
            }
            return old.createdMillis != seen.createdMillis || seen.revision > old.revision ? seen : old;
        });
        if (added[0]) {
            order.add(m.id());
            if (queued.incrementAndGet() > 2L * capacity + 1024) {
                rebuildOrder(); // forgotten ids pile up in the queue: start it again from the marks
            }
            // past capacity, the oldest-added marks go first: amortised O(1), where a fresh iterator
            // per observation cost O(n) once the map was full (and made reading a million keys slow)
            while (marks.size() > capacity) {
                KeyId oldest = order.poll();
                if (oldest == null) {
                    break;
                }
                queued.decrementAndGet();
                marks.remove(oldest);
            }
        }
    }

    void forget(KeyId id) {
        marks.remove(id); // its place in the queue stays until polled or rebuilt
    }

    private synchronized void rebuildOrder() {
        if (queued.get() <= 2L * capacity + 1024) {
            return;
        }
        order.clear();
        queued.set(0);
        for (KeyId id : marks.keySet()) {
            order.add(id);
            queued.incrementAndGet();
        }
    }

    long queuedForTest() {
        return queued.get();
    }

    int size() {
        return marks.size();
    }
}
