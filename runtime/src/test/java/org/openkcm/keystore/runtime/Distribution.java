package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
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
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import org.openkcm.keystore.testing.distribution.DistributionProcess;

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
        ProcessBuilder builder = processBuilder(args).redirectInput(ProcessBuilder.Redirect.from(nullDevice()));
        DistributionProcess.Finished finished = DistributionProcess.run(builder, home, RUN_TIMEOUT);
        if (finished.timedOut()) {
            fail("bin/keystore " + String.join(" ", args) + " did not exit within " + RUN_TIMEOUT
                    + "; stderr: " + finished.err());
        }
        return new Result(finished.exit(), finished.out(), finished.err());
    }

    /** Starts {@code bin/keystore} with the arguments and leaves it running, its standard input a pipe. */
    Running start(String... args) throws IOException {
        return new Running(DistributionProcess.start(processBuilder(args)));
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
        return new Running(DistributionProcess.start(builder));
    }

    ProcessBuilder processBuilder(String... args) {
        List<String> command = new ArrayList<>();
        command.add(home.resolve("bin/keystore").toString());
        command.addAll(List.of(args));
        ProcessBuilder builder = DistributionProcess.builder(home, command);
        Map<String, String> env = builder.environment();
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
        DistributionProcess.deleteTree(root);
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

        private final DistributionProcess program;
        private int markers;

        private Running(DistributionProcess program) {
            this.program = program;
        }

        Process process() {
            return program.process();
        }

        String out() {
            return program.out();
        }

        String err() {
            return program.err();
        }

        /** Waits until standard output contains the text; fails after the timeout. */
        void awaitOut(String text, Duration timeout) throws InterruptedException {
            if (program.awaitOut(text, 0, timeout) < 0) {
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
            int from = program.outLength();
            program.write(command + "\necho " + marker + "\n");
            int at = program.awaitOut(marker, from, wait);
            if (at < 0) {
                fail("'" + command + "' did not finish within " + wait + "\n" + this);
            }
            return program.out().substring(from, at);
        }

        /** Sends SIGTERM and waits for the exit; returns the exit status, or fails after the timeout. */
        int terminate(Duration timeout) throws InterruptedException {
            if (!program.terminate(timeout)) {
                fail("not stopped within " + timeout + " of SIGTERM\n" + this);
            }
            return program.process().exitValue();
        }

        @Override
        public void close() {
            program.close();
        }

        @Override
        public String toString() {
            return program.toString();
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
