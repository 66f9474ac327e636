package org.openkcm.keystore.testing.distribution;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A program of an unpacked distribution (the runtime's {@code bin/keystore}, Karaf's
 * {@code bin/karaf} and {@code bin/client}) run by a test as a separate process: started in the
 * distribution's home with the test JVM's Java, its output collected as it comes or written to a
 * log file, every wait bounded, and always ended (by {@link #close()}, and at the latest when the
 * test JVM exits). The runtime's and Karaf's test launchers are thin layers on top.
 * JDK classes only.
 */
public final class DistributionProcess implements AutoCloseable {
    private static final Set<Process> RUNNING = ConcurrentHashMap.newKeySet();

    static {
        // If the test JVM is stopped early, its programs go with it.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> RUNNING.forEach(Process::destroyForcibly),
                "distribution-processes-stopper"));
    }

    private final Process process;
    private final Output out;
    private final Output err;

    private DistributionProcess(Process process, boolean collectOutput) {
        this.process = process;
        this.out = collectOutput ? new Output(process.getInputStream(), "stdout") : null;
        this.err = collectOutput ? new Output(process.getErrorStream(), "stderr") : null;
        RUNNING.add(process);
    }

    /** A builder for {@code command} run in {@code home}, with the test JVM's Java as its JAVA_HOME. */
    public static ProcessBuilder builder(Path home, List<String> command) {
        ProcessBuilder builder = new ProcessBuilder(command).directory(home.toFile());
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        return builder;
    }

    /** Starts the program and collects its standard output and error as they come; its input is a pipe. */
    public static DistributionProcess start(ProcessBuilder builder) throws IOException {
        return new DistributionProcess(builder.start(), true);
    }

    /** Starts the program with its standard output and error written to {@code log}; its input closed. */
    public static DistributionProcess startLogged(ProcessBuilder builder, Path log) throws IOException {
        Process process = builder.redirectErrorStream(true).redirectOutput(log.toFile()).start();
        process.getOutputStream().close();
        return new DistributionProcess(process, false);
    }

    /**
     * Runs the program to its end, at most {@code timeout}, its output captured in temporary files
     * in {@code scratch} (and its standard error in the output if the builder merges them). An
     * input left a pipe stays open, and empty, until the program ends: some programs end their
     * session when their input ends. A program still running at the timeout is killed and the
     * result says so.
     */
    public static Finished run(ProcessBuilder builder, Path scratch, Duration timeout)
            throws IOException, InterruptedException {
        Path outFile = Files.createTempFile(scratch, "stdout-", ".txt");
        Path errFile = Files.createTempFile(scratch, "stderr-", ".txt");
        try {
            builder.redirectOutput(outFile.toFile());
            if (!builder.redirectErrorStream()) {
                builder.redirectError(errFile.toFile());
            }
            Process process = builder.start();
            try {
                boolean ended = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
                if (!ended) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
                return new Finished(ended ? process.exitValue() : -1, !ended, Files.readString(outFile),
                        Files.readString(errFile));
            } finally {
                process.getOutputStream().close();
                process.destroyForcibly();
            }
        } finally {
            Files.deleteIfExists(outFile);
            Files.deleteIfExists(errFile);
        }
    }

    /** What a program run to its end printed and returned; {@code timedOut} if it was killed at the bound. */
    public record Finished(int exit, boolean timedOut, String out, String err) {
    }

    public Process process() {
        return process;
    }

    /** The standard output so far (a started, not a logged, program). */
    public String out() {
        return collected(out).text();
    }

    /** The standard error so far (a started, not a logged, program). */
    public String err() {
        return collected(err).text();
    }

    /** How many characters of standard output have come so far. */
    public int outLength() {
        return collected(out).length();
    }

    /** The index of {@code text} in standard output at or after {@code from}, waiting at most the timeout; -1 if it did not come. */
    public int awaitOut(String text, int from, Duration timeout) throws InterruptedException {
        return collected(out).await(text, from, timeout);
    }

    /** Writes the text to the program's standard input. */
    public void write(String text) throws IOException {
        OutputStream stdin = process.getOutputStream();
        stdin.write(text.getBytes(StandardCharsets.UTF_8));
        stdin.flush();
    }

    /**
     * Sends SIGTERM and waits at most {@code timeout} for the exit; returns whether it exited. The
     * output collected so far stays readable.
     */
    public boolean terminate(Duration timeout) throws InterruptedException {
        // Through the process handle: Process.destroy() would also close our end of its output.
        ProcessHandle.of(process.pid()).ifPresent(ProcessHandle::destroy);
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            return false;
        }
        RUNNING.remove(process);
        if (out != null) {
            out.drain();
            err.drain();
        }
        return true;
    }

    /**
     * Stops the program cleanly, SIGTERM, and kills it if it has not exited within {@code grace};
     * then kills what it started and left behind.
     */
    public void stop(Duration grace) throws InterruptedException {
        List<ProcessHandle> children = process.descendants().toList();
        if (!terminate(grace)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        children.forEach(ProcessHandle::destroyForcibly);
        RUNNING.remove(process);
    }

    /** Kills the program at once and waits, briefly, for it to go. */
    @Override
    public void close() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            RUNNING.remove(process);
        }
    }

    @Override
    public String toString() {
        return out == null ? "process " + process.pid() : "--- stdout\n" + out.text() + "\n--- stderr\n" + err.text();
    }

    /** Deletes a folder and everything in it, if it exists. */
    public static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                if (exc != null) {
                    throw exc;
                }
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    private static Output collected(Output output) {
        if (output == null) {
            throw new IllegalStateException("the output of a logged program is in its log file");
        }
        return output;
    }

    /** A stream read on a thread of its own into a growing text. */
    private static final class Output {
        private final StringBuilder text = new StringBuilder();
        private final Thread reader;

        Output(InputStream stream, String name) {
            reader = new Thread(() -> {
                byte[] buffer = new byte[8192];
                try (stream) {
                    int n;
                    while ((n = stream.read(buffer)) >= 0) {
                        synchronized (this) {
                            text.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
                            notifyAll();
                        }
                    }
                } catch (IOException e) {
                    // the process is gone
                }
            }, "distribution-" + name);
            reader.setDaemon(true);
            reader.start();
        }

        synchronized String text() {
            return text.toString();
        }

        synchronized int length() {
            return text.length();
        }

        synchronized int await(String wanted, int from, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            int at;
            while ((at = text.indexOf(wanted, from)) < 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return -1;
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            return at;
        }

        void drain() throws InterruptedException {
            reader.join(5_000);
        }
    }
}
