package org.openkcm.keystore.core.saga;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import org.openkcm.keystore.core.log.Logs;
import org.osgi.service.log.Logger;

/**
 * Recovery at start, and again until nothing is left: the first pass runs when {@link #start()} is
 * called (at component activation); operations still open after it (their backend is not tracked
 * yet, or down) are tried again on a daemon thread, the first retry {@link #FIRST_RETRY} later, then
 * with a doubling delay up to {@link #MAX_RETRY}, until none is pending or {@link #close()} is
 * called. An operation a run leaves open while the runtime runs (a step or a compensation that keeps
 * failing) wakes it the same way ({@link SagaRunner#whenLeftOpen}). At most one pass is scheduled at
 * a time. Each pass's report goes to a listener (log, monitoring).
 */
public final class RecoveryScheduler implements AutoCloseable {
    static final Duration FIRST_RETRY = Duration.ofMillis(500);
    static final Duration MAX_RETRY = Duration.ofSeconds(30);

    private final SagaRunner runner;
    private final Collection<Saga> definitions;
    private final Logger logger;
    private final Consumer<RecoveryReport> listener;
    private final ScheduledExecutorService executor;
    private final Duration firstRetry;
    private final Duration maxRetry;
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private volatile RecoveryReport last = new RecoveryReport(List.of());
    private volatile boolean closed;

    public RecoveryScheduler(SagaRunner runner, Collection<Saga> definitions, Logger logger,
            Consumer<RecoveryReport> listener) {
        this(runner, definitions, logger, listener, FIRST_RETRY, MAX_RETRY);
    }

    RecoveryScheduler(SagaRunner runner, Collection<Saga> definitions, Logger logger, Consumer<RecoveryReport> listener,
            Duration firstRetry, Duration maxRetry) {
        if (firstRetry.isZero() || firstRetry.isNegative() || maxRetry.compareTo(firstRetry) < 0) {
            throw new IllegalArgumentException("the first retry must wait, and the bound must not be below it");
        }
        this.firstRetry = firstRetry;
        this.maxRetry = maxRetry;
        this.runner = runner;
        this.definitions = List.copyOf(definitions);
        this.logger = logger;
        this.listener = listener == null ? r -> {
        } : listener;
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "openkcm-recovery");
            t.setDaemon(true);
            return t;
        });
        runner.whenLeftOpen(this::wake);
    }

    /** Runs the first pass now, in the caller's thread; schedules the next ones if some stay open. */
    public RecoveryReport start() {
        RecoveryReport report = pass();
        if (report.pending() > 0) {
            schedule(firstRetry);
        }
        return report;
    }

    /** An operation was left open while the runtime runs: a pass is scheduled, a first retry later. */
    public void wake() {
        schedule(firstRetry);
    }

    /** Runs the first pass at once on the recovery thread (not the caller's), then as {@link #start()}. */
    public void startAsync() {
        schedule(Duration.ZERO);
    }

    /** What the last pass did. */
    public RecoveryReport last() {
        return last;
    }

    @Override
    public void close() {
        closed = true;
        runner.whenLeftOpen(null);
        executor.shutdownNow();
    }

    private RecoveryReport pass() {
        RecoveryReport report;
        try {
            report = runner.recover(definitions);
        } catch (RuntimeException e) {
            // the journal itself failed: nothing was finished; try again later
            Logs.error(logger, "Recovery of the intent journal failed: {}", e.getMessage());
            report = last;
        }
        last = report;
        listener.accept(report);
        return report;
    }

    /** Schedules a pass after the delay, unless one is scheduled already; then the next, twice as late. */
    private void schedule(Duration delay) {
        if (closed || !scheduled.compareAndSet(false, true)) {
            return;
        }
        try {
            executor.schedule(() -> {
                scheduled.set(false); // before the pass: an operation left open during it schedules the next
                RecoveryReport report = pass();
                if (report.pending() > 0) {
                    schedule(next(delay));
                }
            }, delay.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException closing) {
            scheduled.set(false); // closed meanwhile
        }
    }

    /** The delay after one: the first retry after the pass at start (which has none), then twice the last, bounded. */
    Duration next(Duration delay) {
        if (delay.compareTo(firstRetry) < 0) {
            return firstRetry; // never zero again: a zero delay doubled stays zero, and recovery would spin
        }
        Duration doubled = delay.multipliedBy(2);
        return doubled.compareTo(maxRetry) > 0 ? maxRetry : doubled;
    }
}
