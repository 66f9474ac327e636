package org.openkcm.keystore.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.openkcm.keystore.secrets.BoundedRead;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.ServiceReference;

/**
 * The entry point of {@code bin/keystore}: starts the embedded framework in the {@link Mode} the
 * arguments ask for, and for {@code -c} and scripts runs the commands through Gogo and exits with
 * their status.
 * <p>
 * Before anything in the home is written, the launcher takes the {@link HomeLock}: a second
 * daemon on a home that a running runtime holds prints one line and exits with
 * {@link #NOT_STARTED}; the interactive shell, {@code -c} and scripts then run on the running one
 * over gRPC, in client mode ({@link ClientRuntime}), as they do on any daemon with
 * {@code --connect HOST:PORT}.
 * A shutdown hook stops the framework, waiting at most {@code openkcm.stop.timeout} seconds, so a
 * SIGTERM (or Ctrl-C) stops every bundle before the process exits.
 * <p>
 * This is a command-line program, so it writes to the console: command output on standard
 * output, the lifecycle of a long-lived runtime on standard output, warnings and errors on
 * standard error. It never prints what the commands do not print themselves.
 */
public final class Main {

    static final int USAGE = 2;
    static final int NOT_STARTED = 3;
    /** {@link #run} returns this when the process is already exiting through the shutdown hook. */
    private static final int EXITING = -1;
    /** A script is a list of shell commands: past this size it is a wrong file, refused before it is read. */
    static final int MAX_SCRIPT_BYTES = 1 << 20;

    private final Home home;
    private final Invocation invocation;
    private final InputStream in;
    private final PrintStream out;
    private final PrintStream err;
    private volatile KeystoreRuntime current;
    private volatile ClientRuntime client;
    /** Held until the process exits (see {@link HomeLock}): never released by the launcher itself. */
    private HomeLock homeLock;
    private volatile boolean exiting;

    Main(Home home, Invocation invocation, InputStream in, PrintStream out, PrintStream err) {
        this.home = home;
        this.invocation = invocation;
        this.in = in;
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        // The console as it is now: Gogo's runtime replaces System.out/err/in once it starts.
        PrintStream out = System.out;
        PrintStream err = System.err;
        InputStream in = System.in;
        Invocation invocation;
        try {
            invocation = Invocation.parse(args);
        } catch (IllegalArgumentException e) {
            err.println("error: " + e.getMessage());
            err.println(Invocation.USAGE);
            System.exit(USAGE);
            return;
        }
        if (invocation.help()) {
            out.println(Invocation.USAGE);
            return;
        }
        int status = new Main(Home.locate(), invocation, in, out, err).run();
        if (status != EXITING) {
            System.exit(status);
        }
    }

    int run() {
        List<String> script = null;
        if (invocation.mode() == Mode.SCRIPT) {
            try {
                script = BoundedRead.lines(invocation.script(), MAX_SCRIPT_BYTES, BoundedRead.Links.FOLLOW,
                        StandardCharsets.UTF_8);
            } catch (IOException e) {
                err.println("error: cannot read the script " + invocation.script() + ": " + Messages.oneLine(e));
                return USAGE;
            }
        }
        if (invocation.connect() != null) {
            return runOnDaemon(DaemonEndpoint.given(invocation.connect(), home), script);
        }
        try {
            homeLock = HomeLock.acquire(home);
        } catch (HomeLock.HeldException e) {
            if (invocation.mode() == Mode.DAEMON) {
                err.println("error: not started: " + e.getMessage());
                return NOT_STARTED;
            }
            return runOnHoldingDaemon(e, script);
        } catch (IOException e) {
            err.println("error: the runtime did not start: " + Messages.oneLine(e));
            return NOT_STARTED;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(this::shutdown, "openkcm-keystore-shutdown"));
        return invocation.mode().longLived() ? serve() : runCommands(script);
    }

    /** A runtime holds the home: the shell, {@code -c} and scripts run on it over gRPC, where its gRPC server says. */
    private int runOnHoldingDaemon(HomeLock.HeldException held, List<String> script) {
        DaemonEndpoint endpoint;
        try {
            endpoint = DaemonEndpoint.of(home);
        } catch (IOException e) {
            err.println("error: not connected: a runtime runs on this home"
                    + (held.pid().isPresent() ? " (pid " + held.pid().getAsLong() + ")" : "") + " but "
                    + Messages.oneLine(e));
            return NOT_STARTED;
        }
        return runOnDaemon(endpoint, script);
    }

    /**
     * Client mode: the shell or the commands run in a framework of their own ({@link ClientRuntime})
     * on the daemon's services, reached over gRPC; nothing in the home is written.
     */
    private int runOnDaemon(DaemonEndpoint endpoint, List<String> script) {
        ClientRuntime runtime = new ClientRuntime(home, endpoint, invocation.mode(), err);
        client = runtime;
        Runtime.getRuntime().addShutdownHook(new Thread(this::shutdownClient, "openkcm-keystore-client-shutdown"));
        try {
            ServiceReference<?> processor = runtime.start(Readiness.timeout());
            if (invocation.mode() == Mode.INTERACTIVE) {
                out.println("openkcm-keystore: connected to the keystore daemon at " + endpoint.target()
                        + " (client mode: the commands run there)");
                runtime.openConsole();
                runtime.framework().waitForStop(0);
                return exiting ? EXITING : runtime.requestedExitStatus();
            }
            return runCommands(runtime.framework().getBundleContext(), processor, script);
        } catch (ClientRuntime.NotConnectedException e) {
            err.println("error: not connected: " + e.getMessage());
            return NOT_STARTED;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return exiting ? EXITING : NOT_STARTED;
        } catch (Exception e) {
            if (exiting) {
                return EXITING;
            }
            err.println("error: not connected: " + Messages.oneLine(Messages.cause(e)));
            return NOT_STARTED;
        } finally {
            if (!exiting) {
                runtime.close();
            }
        }
    }

    /** The shutdown hook of client mode: stops the client framework and removes its cache. */
    private void shutdownClient() {
        exiting = true;
        ClientRuntime runtime = client;
        if (runtime != null) {
            runtime.close();
        }
    }

    /** Interactive and daemon modes: runs until the framework stops, restarting it when it asks to. */
    private int serve() {
        while (true) {
            long begin = System.nanoTime();
            KeystoreRuntime runtime = start();
            if (runtime == null) {
                return NOT_STARTED;
            }
            if (invocation.mode() == Mode.DAEMON && !announce(runtime, begin)) {
                runtime.stop(KeystoreRuntime.stopTimeout());
                return exiting ? EXITING : NOT_STARTED;
            }
            if (invocation.mode() == Mode.INTERACTIVE) {
                warnInBackground(runtime);
            }
            FrameworkEvent stopped;
            try {
                stopped = runtime.framework().waitForStop(0);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return EXITING;
            }
            if (exiting) {
                return EXITING;
            }
            if (stopped.getType() != FrameworkEvent.STOPPED_UPDATE) {
                return stopped.getType() == FrameworkEvent.ERROR ? NOT_STARTED : runtime.requestedExitStatus();
            }
            out.println("openkcm-keystore: restarting");
        }
    }

    /** @return false if the start failed (a configuration refused at start): the daemon stops with status 3 */
    private boolean announce(KeystoreRuntime runtime, long begin) {
        try {
            Readiness.Report report = Readiness.await(runtime, Readiness.timeout());
            if (report.failed()) {
                notStarted(report, runtime);
                return false;
            }
            if (!report.ready()) {
                err.println("warning: not ready after " + report.waited().toSeconds() + " s: " + report.missing());
            }
            out.println("openkcm-keystore: started in " + Duration.ofNanos(System.nanoTime() - begin).toMillis()
                    + " ms (home " + home.root() + ", pid " + ProcessHandle.current().pid() + ")");
            announcePlacement(runtime);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IllegalStateException e) {
            // stopped while waiting
        }
        return true;
    }

    /** Where each tier's keys live, as the running routes and backends say ({@link Placement}). */
    private void announcePlacement(KeystoreRuntime runtime) {
        try {
            Placement.describe(runtime.framework().getBundleContext(), home.root())
                    .ifPresent(placement -> out.println("openkcm-keystore: keys: " + placement));
        } catch (ReflectiveOperationException | ClassCastException e) {
            err.println("warning: cannot tell where keys are kept: " + Messages.oneLine(e));
        }
    }

    /** The start failed: its causes (unless the console log printed them already), then one line saying so. */
    private void notStarted(Readiness.Report report, KeystoreRuntime runtime) {
        awaitShellJob(Duration.ofSeconds(3));
        List<String> printed = runtime.closeConsoleLog();
        if (!report.printed()) {
            // Declarative Services may record a failure before the console log prints it: say each once
            report.failures().stream().filter(line -> printed.stream().noneMatch(p -> p.endsWith(line)))
                    .forEach(line -> err.println("error: " + line));
        }
        err.println("error: not started: the starting configuration is invalid (" + report.failures().size()
                + (report.failures().size() == 1 ? " error" : " errors") + " above); fix it and start again");
    }

    /**
     * Waits (bounded) until the Gogo shell's start job has run: stopping the framework while it is
     * still to run makes Gogo print a stack trace ("Command not found: gosh").
     */
    private static void awaitShellJob(Duration bound) {
        long start = System.nanoTime();
        long deadline = start + bound.toNanos();
        boolean seen = false;
        while (System.nanoTime() < deadline) {
            boolean running = false;
            for (StackTraceElement[] stack : Thread.getAllStackTraces().values()) {
                for (StackTraceElement frame : stack) {
                    if (frame.getClassName().startsWith("org.apache.felix.gogo.shell.Activator$StartShellJob")) {
                        running = true;
                        break;
                    }
                }
            }
            seen |= running;
            if (!running && (seen || System.nanoTime() - start > Duration.ofMillis(500).toNanos())) {
                return; // it ran, or it was never queued (no Gogo shell)
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * The interactive console starts at once; a start that failed is said on the console as soon as
     * it is known (the console log prints each cause), and the shell stays up to inspect it. A
     * start that worked says where each tier's keys live.
     */
    private void warnInBackground(KeystoreRuntime runtime) {
        Thread t = new Thread(() -> {
            try {
                Readiness.Report report = Readiness.await(runtime, Readiness.timeout());
                if (report.failed()) {
                    if (!report.printed()) {
                        report.failures().forEach(line -> err.println("error: " + line));
                    }
                } else {
                    announcePlacement(runtime);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException stopped) {
                // the framework stopped meanwhile
            }
        }, "openkcm-keystore-readiness");
        t.setDaemon(true);
        t.start();
    }

    /** Command and script modes: start, wait until ready, run, stop, return the status. */
    private int runCommands(List<String> script) {
        KeystoreRuntime runtime = start();
        if (runtime == null) {
            return NOT_STARTED;
        }
        try {
            Readiness.Report report = Readiness.await(runtime, Readiness.timeout());
            if (report.failed()) {
                notStarted(report, runtime);
                return NOT_STARTED;
            }
            if (report.commandProcessor() == null) {
                err.println("error: the runtime is not ready: " + report.missing());
                return NOT_STARTED;
            }
            if (!report.ready()) {
                err.println("warning: not ready after " + report.waited().toSeconds() + " s: " + report.missing()
                        + "; running anyway");
            }
            return runCommands(runtime.framework().getBundleContext(), report.commandProcessor(), script);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return exiting ? EXITING : NOT_STARTED;
        } catch (Exception e) {
            if (exiting) {
                return EXITING;
            }
            err.println("error: " + Messages.oneLine(e));
            return NOT_STARTED;
        } finally {
            if (!exiting && !runtime.stop(KeystoreRuntime.stopTimeout())) {
                err.println("warning: the runtime did not stop within " + KeystoreRuntime.stopTimeout().toSeconds()
                        + " s");
            }
        }
    }

    /** Runs the command line or the script in a Gogo session of the framework; returns the exit status. */
    private int runCommands(BundleContext context, ServiceReference<?> processor, List<String> script)
            throws Exception {
        try (GogoSession session = GogoSession.open(context, processor, in, out, err)) {
            CommandRunner runner = new CommandRunner(session, out, err);
            if (script == null) {
                return runner.run(invocation.command().lines().toList(), null);
            }
            session.put("0", invocation.script().toString());
            session.put("args", invocation.scriptArgs());
            for (int i = 0; i < invocation.scriptArgs().size(); i++) {
                session.put(Integer.toString(i + 1), invocation.scriptArgs().get(i));
            }
            return runner.run(script, invocation.script().toString());
        }
    }

    private KeystoreRuntime start() {
        KeystoreRuntime runtime = new KeystoreRuntime(home, invocation.mode(), err);
        current = runtime;
        try {
            runtime.start();
            return runtime;
        } catch (Exception e) {
            err.println("error: the runtime did not start: " + Messages.oneLine(e));
            runtime.stop(KeystoreRuntime.stopTimeout());
            return null;
        }
    }

    /** The shutdown hook: stops the framework with a bounded wait. */
    private void shutdown() {
        exiting = true;
        KeystoreRuntime runtime = current;
        if (runtime == null || !runtime.running()) {
            return;
        }
        boolean announce = invocation.mode().longLived();
        long begin = System.nanoTime();
        if (announce) {
            out.println("openkcm-keystore: stopping");
        }
        boolean stopped = runtime.stop(KeystoreRuntime.stopTimeout());
        long millis = Duration.ofNanos(System.nanoTime() - begin).toMillis();
        if (!stopped) {
            err.println("warning: the runtime did not stop within " + KeystoreRuntime.stopTimeout().toSeconds() + " s");
        } else if (announce) {
            out.println("openkcm-keystore: stopped in " + millis + " ms");
        }
        out.flush();
    }
}
