package org.openkcm.keystore.core.cache;

import java.util.Collection;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Wipes opened material whose record the backend has not confirmed for {@value #UNCONFIRMED_BOUNDS}
 * revocation bounds, whether or not the key is read: a key RETIRED or deleted by another runtime
 * sharing the backend, and never read here again, does not keep its bytes in this runtime until the
 * material's time to live. A key that is read keeps its material: a read past one bound revalidates
 * the record, and the confirmation is noted on the record the material was opened from (or last served
 * for), which the entry holds ({@link CachedRecord#confirmed}, {@link CachedMaterial#servedFor}).
 * <p>
 * Two bounds rather than one: a read revalidates only once a bound has passed, so with one bound every
 * key read steadily would lose its material at each revalidation and be opened again (a KEK call per
 * record for a remote KEK); with two, a key read at least once per bound keeps it. A sweep over the
 * entries rather than a per-entry expiry, so that the hit path stays as it was (Caffeine's variable
 * expiry would also fire only to about a second).
 */
final class UnconfirmedMaterial implements AutoCloseable {
    /** How many revocation bounds a record may go unconfirmed before its material is wiped. */
    static final int UNCONFIRMED_BOUNDS = 2;
    /** Sweeps per bound: material leaves at most a quarter bound after its deadline. */
    static final int SWEEPS_PER_BOUND = 4;

    private final long revalidateNanos;
    private ScheduledExecutorService sweeper;

    /** @param revalidateNanos the revocation bound; 0: material keeps its time to live alone */
    UnconfirmedMaterial(long revalidateNanos) {
        this.revalidateNanos = revalidateNanos;
    }

    boolean active() {
        return revalidateNanos != 0;
    }

    /** Removes (and so wipes, through the caches' removal listeners) every entry past its deadline at {@code now}. */
    void sweep(Collection<? extends Collection<CachedMaterial>> caches, long now) {
        if (!active()) {
            return;
        }
        long unconfirmedNanos = revalidateNanos * UNCONFIRMED_BOUNDS;
        for (Collection<CachedMaterial> entries : caches) {
            entries.removeIf(entry -> now - entry.confirmedAt() >= unconfirmedNanos);
        }
    }

    /** Runs {@code sweep} on a daemon thread of its own, {@value #SWEEPS_PER_BOUND} times per bound, until closed. */
    void start(Runnable sweep) {
        if (!active()) {
            return;
        }
        long period = Math.max(TimeUnit.MILLISECONDS.toNanos(10), revalidateNanos / SWEEPS_PER_BOUND);
        sweeper = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "openkcm-cache-material-sweep");
            thread.setDaemon(true);
            return thread;
        });
        sweeper.scheduleWithFixedDelay(sweep, period, period, TimeUnit.NANOSECONDS);
    }

    @Override
    public void close() {
        if (sweeper != null) {
            sweeper.shutdownNow();
        }
    }
}
