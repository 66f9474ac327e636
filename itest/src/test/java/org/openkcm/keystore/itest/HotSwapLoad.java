package org.openkcm.keystore.itest;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.api.Owner;

/**
 * Four threads that store a key and read one back, over and over, through KeystoreOperations:
 * threads 0 and 2 on the first tier, 1 and 3 on the second (each routed to its own backend); reads
 * stay on the thread's own tier. Every call's start and end are kept, to find the longest stall in
 * a window, and every failure is kept.
 */
final class HotSwapLoad {
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final List<KeyId> acknowledged = Collections.synchronizedList(new ArrayList<>());
    private final Map<KeyType, List<KeyId>> byTier = new EnumMap<>(KeyType.class);
    private final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<long[]> calls = new ConcurrentLinkedQueue<>(); // start, end, tier
    private final AtomicInteger counter = new AtomicInteger();
    private final List<Thread> workers = new ArrayList<>();

    HotSwapLoad(KeystoreOperations ops, KeyType swapped, KeyType other, String prefix) {
        byTier.put(swapped, Collections.synchronizedList(new ArrayList<>()));
        byTier.put(other, Collections.synchronizedList(new ArrayList<>()));
        for (int t = 0; t < 4; t++) {
            KeyType type = t % 2 == 0 ? swapped : other;
            Thread worker = new Thread(() -> {
                while (running.get()) {
                    long start = System.nanoTime();
                    try {
                        KeyId id = ops.generate(KeySpec.builder().name(prefix + counter.incrementAndGet()).type(type)
                                .algorithm("AES").keySize(256).owner(Owner.tenant("t")).build()).id();
                        acknowledged.add(id);
                        List<KeyId> mine = byTier.get(type);
                        mine.add(id);
                        KeyId any = mine.get(ThreadLocalRandom.current().nextInt(mine.size()));
                        try (KeyMaterial m = ops.get(any)) {
                            m.copyBytes();
                        }
                    } catch (RuntimeException e) {
                        failures.add(e.toString());
                    }
                    calls.add(new long[] {start, System.nanoTime(), type.ordinal()});
                }
            }, "hotswap-worker-" + t);
            worker.start();
            workers.add(worker);
        }
    }

    /** Stops the workers; one still busy after the bound is a failure, reported with its stack. */
    void stop() throws InterruptedException {
        running.set(false);
        for (Thread w : workers) {
            w.join(TimeUnit.SECONDS.toMillis(10));
            if (w.isAlive()) {
                StringBuilder stack = new StringBuilder(w.getName() + " still busy after 10 s at");
                for (StackTraceElement e : w.getStackTrace()) {
                    stack.append("\n    ").append(e);
                }
                failures.add(stack.toString());
            }
        }
    }

    List<String> failures() {
        return new ArrayList<>(failures);
    }

    List<KeyId> acknowledged() {
        return new ArrayList<>(acknowledged);
    }

    int calls() {
        return calls.size();
    }

    /** The longest call (ms) that overlapped the window, of the given tier (null: any). */
    long longestMs(long from, long to, KeyType tier) {
        long longest = 0;
        for (long[] c : calls) {
            if (c[1] >= from && c[0] <= to && (tier == null || c[2] == tier.ordinal())) {
                longest = Math.max(longest, c[1] - c[0]);
            }
        }
        return TimeUnit.NANOSECONDS.toMillis(longest);
    }
}
