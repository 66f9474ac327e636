package org.openkcm.keystore.core.cache;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

import com.github.benmanes.caffeine.cache.Ticker;

/**
 * A clock for the caches' time to live that costs a volatile read: one daemon thread copies
 * {@link System#nanoTime()} into a field every {@code resolution}. A cache with expiry reads its
 * ticker on every hit, and a real clock read costs more than the rest of a hit on some virtual
 * machines; times to live are seconds, so a few milliseconds of resolution change nothing.
 * Closed with the cache (the thread ends).
 */
final class CoarseTicker implements Ticker, AutoCloseable {
    static final Duration RESOLUTION = Duration.ofMillis(10);

    private volatile long nanos = System.nanoTime();
    private volatile boolean closed;
    private final Thread thread;

    CoarseTicker(Duration resolution) {
        long step = resolution.toNanos();
        thread = new Thread(() -> {
            while (!closed) {
                LockSupport.parkNanos(step);
                nanos = System.nanoTime();
            }
        }, "openkcm-cache-ticker");
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public long read() {
        return nanos;
    }

    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(thread);
    }
}
