package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/**
 * A private copy of the built distribution ({@code target/openkcm-keystore}, named by the system
 * property {@code openkcm.distribution}) for one test, in {@code target/it/<name>}, and the
 * ways to run its {@code bin/keystore} as a separate process with bounded waits.
 */
final class Distribution {

    /** Bound on one non-interactive run, start to exit. */
    static final Duration RUN_TIMEOUT = Duration.ofSeconds(60);
    /** JVM options for every run: a faster FileInstall poll than the shipped 1 s, to keep tests short. */
    static final String JAVA_OPTS = "-Dfelix.fileinstall.poll=250 -Xshare:auto";

    private final Path home;
    /** Variables added to the environment of every process started from this copy. */
    private final Map<String, String> environment = new java.util.HashMap<>();

    private Distribution(Path home) {
        this.home = home;
    }

    /** Sets a variable in the environment of every later run of this copy (e.g. a secret a .cfg references). */
    Distribution environment(String name, String value) {
        environment.put(name, value);
        return this;
    }

    /**
     * Copies a secret file into this copy's allow-listed secrets folder ({@code <home>/secrets/<name>},
     * owner-only) and returns the {@code file:} reference a configuration names it by.
     */
    String secretFile(String name, Path from) throws IOException {
        Path file = home.resolve("secrets").resolve(name);
        Files.createDirectories(file.getParent());
        Files.copy(from, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        return "file:" + file.toAbsolutePath();
    }

    static Path built() {
        String configured = System.getProperty("openkcm.distribution");
        Path built = configured != null ? Path.of(configured) : Path.of("target", "openkcm-keystore");
        if (!Files.isExecutable(built.resolve("bin/keystore"))) {
            fail("no built distribution at " + built.toAbsolutePath() + ": run mvn package first");
        }
        return built;
    }

    /** A fresh copy of the built distribution, replacing any earlier copy of the same name. */
    static Distribution copy(String name) throws IOException {
        Path target = built().toAbsolutePath().getParent().resolve("it").resolve(name);
        delete(target);
        Path source = built().toAbsolutePath();
        Files.walkFileTree(source, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                if (dir.equals(source.resolve("data"))) {
                    Files.createDirectories(target.resolve("data"));
                    return FileVisitResult.SKIP_SUBTREE; // never a cache or KEK file from an earlier run
                }
                Files.createDirectories(target.resolve(source.relativize(dir)));
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.copy(file, target.resolve(source.relativize(file)), StandardCopyOption.COPY_ATTRIBUTES);
                return FileVisitResult.CONTINUE;
            }
        });
        // Tests run side by side (and beside a runtime someone started): each copy's metrics
        // endpoint takes a free port rather than the shipped 9464.
        Path metrics = target.resolve("config/org.openkcm.keystore.metrics.cfg");
        if (Files.exists(metrics)) {
            Files.writeString(metrics, Files.readString(metrics).replace("port = I\"9464\"", "port = I\"0\""));
        }
        // The same for the gRPC server: a free port rather than the shipped 7443.
        Path grpc = target.resolve("config/org.openkcm.keystore.grpc.cfg");
        if (Files.exists(grpc)) {
            Files.writeString(grpc, Files.readString(grpc).replace("port = I\"7443\"", "port = I\"0\""));
        }
        return new Distribution(target);
    }

    Path home() {
        return home;
    }

    /**
     * Standard error without the one warning a home's first start prints when it creates its KEK
     * ({@code Created a fresh KEK file …}): for daemon tests on a fresh copy that expect nothing else.
     */
    static String withoutFreshKekWarning(String err) {
        return err.lines().filter(l -> !l.startsWith("warning: [org.openkcm.keystore.core] Created a fresh KEK file "))
                .map(l -> l + "\n").collect(java.util.stream.Collectors.joining());
    }

    /**
     * Keeps every tier in the in-memory backend, as the runtime did before its defaults became
     * persistent: the default instance accepts every tier again, and a route file names it for
     * every tier with a priority above any shipped route (a volatile backend takes L2/L3 keys only
     * when a route names it). For tests of the shell that want keys gone at the next start.
     */
    Distribution keepEveryTierInMemory() throws IOException {
        Files.writeString(path("config/org.openkcm.keystore.memory-default.cfg"),
                "keystore.name = \"memory\"\nkeystore.tiers = [ \"L2\", \"L3\", \"L4\" ]\n");
        Files.writeString(path("config/org.openkcm.keystore.route-test-every-tier.cfg"),
                "tiers = [ \"L2\", \"L3\", \"L4\" ]\ntarget = \"memory\"\npriority = I\"1000\"\n");
        return this;
    }

    Path path(String relative) {
        return home.resolve(relative);
    }

    /** Runs {@code bin/keystore} with the arguments to its end, at most {@link #RUN_TIMEOUT}. */
    Result run(String... args) throws IOException, InterruptedException {
        ProcessBuilder builder = processBuilder(args);
        Path out = Files.createTempFile(home, "stdout", ".txt");
        Path err = Files.createTempFile(home, "stderr", ".txt");
        builder.redirectInput(ProcessBuilder.Redirect.from(nullDevice()));
        builder.redirectOutput(out.toFile());
        builder.redirectError(err.toFile());
        Process process = builder.start();
        try {
            if (!process.waitFor(RUN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                fail("bin/keystore " + String.join(" ", args) + " did not exit within " + RUN_TIMEOUT
                        + "; stderr: " + Files.readString(err));
            }
            return new Result(process.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            process.destroyForcibly();
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** Starts {@code bin/keystore} with the arguments and leaves it running, its standard input a pipe. */
    Running start(String... args) throws IOException {
        return new Running(processBuilder(args).start());
    }

    /**
     * Starts {@code bin/keystore} with the arguments on a pseudo-terminal, as a person at a
     * terminal runs it: util-linux {@code script} allocates the terminal, what is written to the
     * process's input is typed there, and {@code -e} makes the keystore's exit status its own.
     */
    Running startOnTerminal(String... args) throws IOException {
        ProcessBuilder builder = processBuilder(args);
        String commandLine = builder.command().stream().map(word -> "'" + word.replace("'", "'\\''") + "'")
                .collect(java.util.stream.Collectors.joining(" "));
        // The terminal gets a size first: script's own input is a pipe, which has none.
        builder.command("script", "--quiet", "--flush", "--return", "--command",
                "stty cols 160 rows 50; exec " + commandLine, "/dev/null");
        builder.environment().put("TERM", "xterm");
        return new Running(builder.start());
    }

    ProcessBuilder processBuilder(String... args) {
        List<String> command = new ArrayList<>();
        command.add(home.resolve("bin/keystore").toString());
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).directory(home.toFile());
        Map<String, String> env = builder.environment();
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.put("JAVA_OPTS", JAVA_OPTS);
        env.putAll(environment);
        return builder;
    }

    private static java.io.File nullDevice() {
        return new java.io.File("/dev/null");
    }

    /**
     * Writes a minimal bundle (a manifest, no classes) and returns it; written beside the
     * destination and moved into place, so FileInstall never sees half a jar.
     */
    static Path writeBundle(Path destination, String symbolicName, String version) throws IOException {
        Manifest manifest = new Manifest();
        Attributes main = manifest.getMainAttributes();
        main.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        main.putValue("Bundle-ManifestVersion", "2");
        main.putValue("Bundle-SymbolicName", symbolicName);
        main.putValue("Bundle-Version", version);
        main.putValue("Bundle-Name", "OpenKCM runtime test bundle");
        Path temporary = destination.resolveSibling("." + destination.getFileName() + ".part");
        try (JarOutputStream jar = new JarOutputStream(Files.newOutputStream(temporary), manifest)) {
            jar.flush();
        }
        return Files.move(temporary, destination, StandardCopyOption.ATOMIC_MOVE);
    }

    static void delete(Path root) throws IOException {
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
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** What a finished run printed and returned. */
    record Result(int exit, String out, String err) {
        List<String> errLines() {
            return err.lines().toList();
        }

        @Override
        public String toString() {
            return "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    /** A long-lived {@code bin/keystore}: its output collected as it comes, its input a pipe. */
    static final class Running implements AutoCloseable {
        /** How much longer than its own bound the first shell command may take: it waits for the start. */
        private static final Duration FIRST_COMMAND_STARTUP = Duration.ofSeconds(90);

        private final Process process;
        private final Output out;
        private final Output err;
        private int markers;

        private Running(Process process) {
            this.process = process;
            this.out = new Output(process.getInputStream(), "stdout");
            this.err = new Output(process.getErrorStream(), "stderr");
        }

        Process process() {
            return process;
        }

        String out() {
            return out.text();
        }

        String err() {
            return err.text();
        }

        /** Waits until standard output contains the text; fails after the timeout. */
        void awaitOut(String text, Duration timeout) throws InterruptedException {
            if (out.await(text, 0, timeout) < 0) {
                fail("no '" + text + "' within " + timeout + "\n" + this);
            }
        }

        /**
         * Runs one command line in the interactive shell and returns what it printed: the command
         * is followed by an {@code echo} of a unique marker, and the output up to the marker is
         * the command's.
         */
        String shell(String command, Duration timeout) throws IOException, InterruptedException {
            // The first command also waits for the framework to start, which a loaded machine slows.
            Duration wait = markers == 0 ? timeout.plus(FIRST_COMMAND_STARTUP) : timeout;
            String marker = "~~done-" + (++markers) + "~~";
            int from = out.length();
            var stdin = process.getOutputStream();
            stdin.write((command + "\necho " + marker + "\n").getBytes(StandardCharsets.UTF_8));
            stdin.flush();
            int at = out.await(marker, from, wait);
            if (at < 0) {
                fail("'" + command + "' did not finish within " + wait + "\n" + this);
            }
            return out.text().substring(from, at);
        }

        /** Sends SIGTERM and waits for the exit; returns the exit status, or fails after the timeout. */
        int terminate(Duration timeout) throws InterruptedException {
            // Through the process handle: Process.destroy() would also close our end of its output.
            ProcessHandle.of(process.pid()).ifPresent(ProcessHandle::destroy);
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                fail("not stopped within " + timeout + " of SIGTERM\n" + this);
            }
            out.drain();
            err.drain();
            return process.exitValue();
        }

        @Override
        public void close() {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public String toString() {
            return "--- stdout\n" + out.text() + "\n--- stderr\n" + err.text();
        }
    }

    /** A stream read on a thread of its own into a growing text. */
    private static final class Output {
        private final StringBuilder text = new StringBuilder();
        private final Thread reader;

        Output(java.io.InputStream stream, String name) {
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
            }, "keystore-" + name);
            reader.setDaemon(true);
            reader.start();
        }

        synchronized String text() {
            return text.toString();
        }

        synchronized int length() {
            return text.length();
        }

        /** The index of the text at or after {@code from}, waiting at most the timeout; -1 if it did not come. */
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

    /** Polls until the check passes or the timeout ends; the last failure is reported. */
    static void eventually(Duration timeout, Check check) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                check.run();
                return;
            } catch (AssertionError e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(200);
            }
        }
    }

    /** A check that throws an {@link AssertionError} until it passes. */
    interface Check {
        void run() throws Exception;
    }
}
