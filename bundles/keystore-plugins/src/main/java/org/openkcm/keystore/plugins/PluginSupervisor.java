package org.openkcm.keystore.plugins;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Keeps one plugin running: starts it, and when it exits restarts it with a backoff that doubles
 * per failed or short-lived start. Meanwhile {@link #current()} is null and {@link #downReason()}
 * says why, so calls fail at once as unavailable instead of waiting. {@link #replace} swaps in a
 * new executable without a gap, as a bundle update does.
 */
final class PluginSupervisor implements AutoCloseable {
    private volatile PluginSettings settings;
    private final Map<String, String> environment;
    private final PluginLog log;
    private final ScheduledExecutorService restarts;
    private volatile PluginProcess current;
    private volatile String downReason = "not started";
    private volatile boolean closed;
    private Duration backoff;

    /**
     * Starts the plugin once, synchronously.
     *
     * @throws PluginStartException if that first start fails; nothing is left running
     */
    PluginSupervisor(PluginSettings settings, Map<String, String> environment, PluginLog log) {
        this.settings = settings;
        this.environment = environment;
        this.log = log;
        this.backoff = settings.restartBackoff();
        this.restarts = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, "keystore plugin " + settings.name() + " restarts");
            thread.setDaemon(true);
            return thread;
        });
        try {
            running(PluginProcess.start(settings, environment, log));
        } catch (RuntimeException e) {
            restarts.shutdownNow();
            throw e;
        }
    }

    /** The running plugin, or null while it is down. */
    PluginProcess current() {
        return current;
    }

    /** The settings the running plugin was started with. */
    PluginSettings settings() {
        return settings;
    }

    /**
     * Swaps in the plugin {@code next} describes (a new executable, arguments or settings): starts
     * it and waits until it serves, then makes it the current one in one step, then stops the old
     * one once the calls it is serving have finished. Calls never see a gap.
     *
     * @throws PluginStartException if the new plugin cannot start; the old one keeps serving then
     */
    void replace(PluginSettings next) {
        PluginProcess started = PluginProcess.start(next, environment, log);
        PluginProcess old;
        synchronized (this) {
            if (closed) {
                started.close();
                throw new PluginStartException("the plugin host is stopping");
            }
            old = current;
            settings = next;
            backoff = next.restartBackoff();
            running(started);
        }
        log.info("plugin " + next.name() + " swapped to " + next.executable() + " (pid " + started.pid() + ")"
                + (old == null ? "" : "; stopping pid " + old.pid() + " once its calls are done"));
        if (old != null) {
            old.retire(next.callTimeout().plus(next.shutdownTimeout()));
        }
    }

    String downReason() {
        return downReason;
    }

    private void running(PluginProcess process) {
        Instant since = Instant.now();
        current = process;
        process.onExit().thenRun(() -> exited(process, since));
    }

    private synchronized void exited(PluginProcess process, Instant since) {
        if (closed || process != current) {
            return; // stopped, or swapped out by replace
        }
        current = null;
        int code = process.onExit().join().exitValue();
        downReason = "plugin " + settings.name() + " exited with code " + code + "; restarting";
        log.warn(downReason);
        boolean shortLived = Duration.between(since, Instant.now()).compareTo(settings.restartBackoffMax()) < 0;
        scheduleRestart(shortLived);
    }

    private synchronized void scheduleRestart(boolean grow) {
        Duration wait = backoff;
        backoff = grow ? min(backoff.multipliedBy(2), settings.restartBackoffMax()) : settings.restartBackoff();
        if (!closed) {
            restarts.schedule(this::restart, wait.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private void restart() {
        if (closed || current != null) {
            return; // stopped, or a replace has started a plugin meanwhile
        }
        PluginSettings settings = this.settings;
        try {
            PluginProcess process = PluginProcess.start(settings, environment, log);
            synchronized (this) {
                if (closed || current != null) {
                    process.close();
                    return;
                }
                running(process);
            }
            log.info("plugin " + settings.name() + " restarted (pid " + process.pid() + ")");
        } catch (RuntimeException e) {
            downReason = "plugin " + settings.name() + " could not be restarted: " + e.getMessage();
            log.error(downReason);
            scheduleRestart(true);
        }
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /** Stops the plugin (shutdown, then a kill after the bound) and every restart. */
    @Override
    public void close() {
        PluginProcess process;
        synchronized (this) {
            closed = true;
            process = current;
            current = null;
        }
        restarts.shutdownNow();
        downReason = "plugin " + settings.name() + " is stopped";
        if (process != null) {
            process.close();
        }
    }
}
