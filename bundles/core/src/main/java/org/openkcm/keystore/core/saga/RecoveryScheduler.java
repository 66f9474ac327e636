package org.openkcm.keystore.core.saga;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.openkcm.keystore.core.log.Logs;
import org.osgi.service.log.Logger;

/**
 * Recovery at start, and again until nothing is left: the first pass runs when {@link #start()} is
 * called (at component activation); operations still open after it (their backend is not tracked
 * yet, or down) are tried again on a daemon thread, with a growing delay up to a bound, until none
 * is pending or {@link #close()} is called. Each pass's report goes to a listener (log, monitoring).
 */
public final class RecoveryScheduler implements AutoCloseable {
    static final Duration FIRST_RETRY = Duration.ofMillis(500);
    static final Duration MAX_RETRY = Duration.ofSeconds(30);

    private final SagaRunner runner;
    private final Collection<Saga> definitions;
    private final Logger logger;
    private final Consumer<RecoveryReport> listener;
    private final ScheduledExecutorService executor;
    private volatile RecoveryReport last = new RecoveryReport(List.of());
    private volatile boolean closed;

    public RecoveryScheduler(SagaRunner runner, Collection<Saga> definitions, Logger logger,
            Consumer<RecoveryReport> listener) {
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
    }

    /** Runs the first pass now, in the caller's thread; schedules the next ones if some stay open. */
    public RecoveryReport start() {
        RecoveryReport report = pass();
        if (report.pending() > 0) {
            schedule(FIRST_RETRY);
        }
        return report;
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

    private void schedule(Duration delay) {
        if (closed) {
            return;
        }
        try {
            executor.schedule(() -> {
                RecoveryReport report = pass();
                if (report.pending() > 0) {
                    Duration next = delay.multipliedBy(2);
                    schedule(next.compareTo(MAX_RETRY) > 0 ? MAX_RETRY : next);
                }
            }, delay.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            // closed meanwhile
        }
    }
}
