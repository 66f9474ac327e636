package org.openkcm.keystore.core.health;

import java.time.Duration;
import java.util.Collection;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreHealth;

/**
 * Calls each backend's {@link Keystore#health()} at a fixed delay, on worker threads of its own,
 * each call bounded by a timeout, and hands every outcome to {@link Results}. A backend whose
 * previous call is still running is not called again: that round counts as a failure ("still
 * running"), so a backend that hangs cannot pile up threads. What a run of failures means (when a
 * backend is down) is decided by whoever hears the results, not here.
 * <p>
 * Framework-free: what to probe, where the results go and the scheduler are given.
 */
public final class BackendProber implements AutoCloseable {
    /** A backend to probe: its service id and its service object. */
    public record Target(long serviceId, Keystore keystore) {
    }

    /** Hears one probe's outcome: the health answered, or why there is none; called on a worker thread. */
    @FunctionalInterface
    public interface Results {
        void probed(long serviceId, KeystoreHealth health, String failure, Duration latency);
    }

    private final ScheduledExecutorService scheduler;
    private final Supplier<? extends Collection<Target>> targets;
    private final Results results;
    private final ExecutorService workers = Executors.newCachedThreadPool(daemons("openkcm-health-probe"));
    /** Per service id: whether its last call to health() is still running. */
    private final Map<Long, AtomicBoolean> running = new ConcurrentHashMap<>();
    private ScheduledFuture<?> task;
    private volatile long timeoutMillis;

    public BackendProber(ScheduledExecutorService scheduler, Supplier<? extends Collection<Target>> targets,
            Results results) {
        this.scheduler = scheduler;
        this.targets = targets;
        this.results = results;
    }

    /** Probes every {@code interval} (at least 10 ms), each call bounded by {@code timeout} (at least 1 ms); replaces the previous schedule. */
    public synchronized void schedule(Duration interval, Duration timeout) {
        timeoutMillis = Math.max(1, timeout.toMillis());
        if (task != null) {
            task.cancel(false);
        }
        long every = Math.max(10, interval.toMillis());
        task = scheduler.scheduleWithFixedDelay(this::probeAll, every, every, TimeUnit.MILLISECONDS);
    }

    /** One round: starts a call to health() of every target whose previous call has finished. */
    void probeAll() {
        long timeout = timeoutMillis;
        Collection<Target> now = targets.get();
        Set<Long> ids = new HashSet<>();
        for (Target target : now) {
            ids.add(target.serviceId());
            AtomicBoolean busy = running.computeIfAbsent(target.serviceId(), id -> new AtomicBoolean());
            if (!busy.compareAndSet(false, true)) {
                results.probed(target.serviceId(), null, "health() still running after " + timeout + " ms", null);
                continue;
            }
            long start = System.nanoTime();
            CompletableFuture.supplyAsync(() -> {
                try {
                    return target.keystore().health();
                } finally {
                    busy.set(false);
                }
            }, workers).orTimeout(timeout, TimeUnit.MILLISECONDS).whenComplete((health, failure) -> {
                Duration latency = Duration.ofNanos(System.nanoTime() - start);
                results.probed(target.serviceId(), health, failure == null ? null : reason(failure, timeout), latency);
            });
        }
        running.keySet().retainAll(ids); // backends gone since the last round
    }

    /** Stops the schedule and interrupts the calls under way. */
    @Override
    public synchronized void close() {
        if (task != null) {
            task.cancel(false);
        }
        workers.shutdownNow();
    }

    static String reason(Throwable failure, long timeout) {
        Throwable t = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause()
                : failure;
        if (t instanceof TimeoutException) {
            return "health() did not answer within " + timeout + " ms";
        }
        return "health() failed: " + t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }

    private static java.util.concurrent.ThreadFactory daemons(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
