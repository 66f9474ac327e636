package org.openkcm.keystore.features;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.openkcm.keystore.testing.distribution.DistributionProcess;

/**
 * A real Apache Karaf, unpacked from its distribution, run as a separate process and driven
 * through its own {@code bin/client} (SSH), as an administrator would.
 * <p>
 * {@link #prepare} writes the few settings a test needs into {@code etc/}: free SSH and RMI
 * ports on the loopback address, the {@code karaf} user (commented out in a stock
 * distribution), and a Maven resolver that looks in this build's staged bundles first, then in
 * Karaf's {@code system/} folder, then in the local Maven repository, then on Maven Central.
 * Every wait is bounded; {@link #close} always ends the process.
 */
final class Karaf implements AutoCloseable {

    private static final Pattern ANSI = Pattern.compile("\u001B\\[[0-9;?]*[A-Za-z]");
    private static final String USER = "karaf";
    private static final String PASSWORD = "karaf";
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(60);

    /** What one {@code bin/client} call printed (stdout and stderr, colours removed) and its exit status. */
    record Result(String command, int exitCode, String output) {
        boolean ok() {
            return exitCode == 0;
        }

        @Override
        public String toString() {
            return "'" + command + "' exited " + exitCode + ", printed:\n" + output;
        }
    }

    private final Path home;
    private final int sshPort;
    private final Path consoleLog;
    private DistributionProcess program;

    private Karaf(Path home, int sshPort) {
        this.home = home;
        this.sshPort = sshPort;
        this.consoleLog = home.resolve("karaf-console.log");
    }

    /**
     * Configures the unpacked distribution at {@code home} for a test run.
     *
     * @param stagedRepository a folder in Maven layout with this build's bundles and features.xml
     * @param localRepository  the local Maven repository (its cache for anything not staged)
     */
    static Karaf prepare(Path home, Path stagedRepository, Path localRepository) throws IOException {
        if (!Files.isRegularFile(home.resolve("bin/karaf"))) {
            throw new IllegalStateException("no Karaf distribution at " + home
                    + " (maven-dependency-plugin unpacks org.apache.karaf:apache-karaf:tar.gz there in pre-integration-test)");
        }
        for (String script : List.of("karaf", "client", "inc", "setenv", "start", "stop", "status")) {
            Path file = home.resolve("bin").resolve(script);
            if (Files.exists(file)) {
                Set<PosixFilePermission> perms = EnumSet.copyOf(Files.getPosixFilePermissions(file));
                perms.add(PosixFilePermission.OWNER_EXECUTE);
                perms.add(PosixFilePermission.OWNER_READ);
                Files.setPosixFilePermissions(file, perms);
            }
        }
        // A fresh Karaf every run: the unpack restores the distribution's files but would leave
        // the state (data/) and the configuration files (etc/) of a previous run in place.
        DistributionProcess.deleteTree(home.resolve("data"));
        DistributionProcess.deleteTree(home.resolve("instances"));
        try (Stream<Path> files = Files.list(home.resolve("etc"))) {
            for (Path file : files.filter(f -> f.getFileName().toString().startsWith("org.openkcm.")).toList()) {
                Files.delete(file);
            }
        }
        int ssh = freePort();
        int rmiRegistry = freePort();
        int rmiServer = freePort();
        Path etc = home.resolve("etc");
        edit(etc.resolve("org.apache.karaf.shell.cfg"),
                line -> line.startsWith("sshPort") ? "sshPort = " + ssh
                        : line.startsWith("sshHost") ? "sshHost = 127.0.0.1" : line);
        edit(etc.resolve("org.apache.karaf.management.cfg"),
                line -> line.startsWith("rmiRegistryPort") ? "rmiRegistryPort = " + rmiRegistry
                        : line.startsWith("rmiServerPort") ? "rmiServerPort = " + rmiServer : line);
        // A stock Karaf 4.4 ships without any user: enable the documented default one.
        edit(etc.resolve("users.properties"),
                line -> line.startsWith("#karaf = karaf,") || line.startsWith("#_g_\\:admingroup") ? line.substring(1) : line);
        Files.writeString(etc.resolve("org.ops4j.pax.url.mvn.cfg"), String.join("\n",
                "# Written by the OpenKCM Karaf test: this build's bundles first, never a remote snapshot.",
                "org.ops4j.pax.url.mvn.localRepository = " + localRepository.toAbsolutePath(),
                "org.ops4j.pax.url.mvn.useFallbackRepositories = false",
                "org.ops4j.pax.url.mvn.defaultRepositories = \\",
                "    " + stagedRepository.toAbsolutePath().toUri() + "@id=openkcm.build@snapshots, \\",
                "    ${karaf.home.uri}${karaf.default.repository}@id=system.repository@snapshots, \\",
                "    ${karaf.data.uri}kar@id=kar.repository@multi@snapshots",
                "org.ops4j.pax.url.mvn.repositories = https://repo1.maven.org/maven2@id=central",
                "org.ops4j.pax.url.mvn.timeout = 5000",
                "org.ops4j.pax.url.mvn.socket.connectionTimeout = 5000",
                "org.ops4j.pax.url.mvn.socket.readTimeout = 30000",
                ""), UTF_8);
        return new Karaf(home, ssh);
    }

    /** Puts the built features.xml where mvn:…/xml/features resolves, next to the staged bundles. */
    static void stageFeatures(Path features, Path staged, String group, String version) throws IOException {
        if (!Files.isRegularFile(features)) {
            throw new IllegalStateException("no built features.xml at " + features);
        }
        Path dir = staged.resolve(group.replace('.', '/')).resolve("features").resolve(version);
        Files.createDirectories(dir);
        Files.copy(features, dir.resolve("features-" + version + "-features.xml"), StandardCopyOption.REPLACE_EXISTING);
        // Every bundle the features name is staged (is a dependency of this module), so the test
        // runs what this build made and needs no download.
        Matcher bundle = Pattern.compile("<bundle[^>]*>\\s*mvn:([^/<]+)/([^/<]+)/([^/<]+)\\s*</bundle>")
                .matcher(Files.readString(features, UTF_8));
        int count = 0;
        while (bundle.find()) {
            count++;
            Path jar = staged.resolve(bundle.group(1).replace('.', '/')).resolve(bundle.group(2)).resolve(bundle.group(3))
                    .resolve(bundle.group(2) + "-" + bundle.group(3) + ".jar");
            if (!Files.isRegularFile(jar)) {
                throw new IllegalStateException("features.xml names " + bundle.group(0).replaceAll("<[^>]*>", "").trim()
                        + ", which is not staged at " + jar + ": add it to the dependencies of features/pom.xml");
            }
        }
        if (count < 6) {
            throw new IllegalStateException("features.xml names " + count + " bundles");
        }
    }

    Path home() {
        return home;
    }

    Path etc() {
        return home.resolve("etc");
    }

    /** Starts {@code bin/karaf daemon} (which execs the JVM, so this process is Karaf itself). */
    void start() throws IOException {
        ProcessBuilder builder = DistributionProcess.builder(home, List.of(home.resolve("bin/karaf").toString(), "daemon"));
        builder.environment().put("JAVA_MIN_MEM", "128m");
        builder.environment().put("JAVA_MAX_MEM", "512m");
        builder.environment().remove("JAVA_OPTS");
        builder.environment().remove("EXTRA_JAVA_OPTS");
        builder.environment().remove("KARAF_OPTS");
        program = DistributionProcess.startLogged(builder, consoleLog);
    }

    /**
     * Waits, at most {@code timeout}, until Karaf has reached start level 100 and installed its
     * boot features; throws {@link AssertionError} with Karaf's own output otherwise.
     */
    void awaitReady(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Result last = null;
        while (System.nanoTime() < deadline) {
            if (!program.process().isAlive()) {
                throw new AssertionError("Karaf exited with status " + program.process().exitValue()
                        + " before it was ready.\n" + diagnostics());
            }
            last = run("system:start-level; feature:list -i");
            if (last.ok() && last.output().contains("Level 100") && Pattern.compile("(?m)^config\\s").matcher(last.output()).find()
                    && Pattern.compile("(?m)^kar\\s").matcher(last.output()).find()) {
                return;
            }
            Thread.sleep(1000);
        }
        throw new AssertionError("Karaf was not ready within " + timeout.toSeconds() + " s (SSH port " + sshPort + ")."
                + (last == null ? "" : "\nLast probe: " + last) + "\n" + diagnostics());
    }

    /** Runs one command line in Karaf through {@code bin/client}; bounded by {@link #COMMAND_TIMEOUT}. */
    Result run(String command) {
        ProcessBuilder builder = DistributionProcess.builder(home, List.of(home.resolve("bin/client").toString(),
                "-a", Integer.toString(sshPort), "-h", "127.0.0.1", "-u", USER, "-p", PASSWORD, command))
                .redirectErrorStream(true);
        builder.environment().put("JAVA_OPTS", "-Xmx64m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC");
        try {
            // The client ends its SSH channel when its standard input ends: run keeps the pipe open
            // (and empty) until the command is done.
            DistributionProcess.Finished finished = DistributionProcess.run(builder, home, COMMAND_TIMEOUT);
            if (finished.timedOut()) {
                return new Result(command, -1, clean(finished.out())
                        + "\n[bin/client did not finish within " + COMMAND_TIMEOUT.toSeconds() + " s]");
            }
            return new Result(command, finished.exit(), clean(finished.out()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + command, e);
        }
    }

    /** Runs a command that must succeed; returns what it printed. */
    String ok(String command) {
        Result result = run(command);
        if (!result.ok() || result.output().startsWith("Error executing command")) {
            throw new AssertionError("Karaf command failed: " + result + "\n" + logTail(30));
        }
        return result.output();
    }

    /**
     * Repeats {@code command} until its output satisfies {@code condition}, at most
     * {@code timeout}; returns the last output.
     */
    String await(String command, Predicate<String> condition, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Result last;
        do {
            last = run(command);
            if (last.ok() && condition.test(last.output())) {
                return last.output();
            }
            Thread.sleep(500);
        } while (System.nanoTime() < deadline);
        throw new AssertionError(what + " did not happen within " + timeout.toSeconds() + " s; last " + last + "\n" + logTail(30));
    }

    /** The last lines of {@code data/log/karaf.log}. */
    String logTail(int lines) {
        Path log = home.resolve("data/log/karaf.log");
        if (!Files.isRegularFile(log)) {
            return "(no data/log/karaf.log)";
        }
        try (Stream<String> all = Files.lines(log, UTF_8)) {
            List<String> list = all.toList();
            return "--- karaf.log, last " + lines + " lines ---\n"
                    + String.join("\n", list.subList(Math.max(0, list.size() - lines), list.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(cannot read karaf.log: " + e + ")";
        }
    }

    String diagnostics() {
        String console;
        try {
            console = Files.isRegularFile(consoleLog) ? Files.readString(consoleLog, UTF_8) : "";
        } catch (IOException e) {
            console = "(cannot read: " + e + ")";
        }
        return "--- bin/karaf output ---\n" + console + "\n" + logTail(40);
    }

    /** Stops Karaf: SIGTERM (a clean framework shutdown), then a kill after 30 s. */
    @Override
    public void close() throws InterruptedException {
        if (program == null) {
            return;
        }
        program.stop(Duration.ofSeconds(30));
    }

    private static String clean(String output) {
        return ANSI.matcher(output).replaceAll("").replace("\r", "").strip();
    }

    private static void edit(Path file, UnaryOperator<String> change) throws IOException {
        List<String> lines = new ArrayList<>();
        for (String line : Files.readAllLines(file, UTF_8)) {
            lines.add(change.apply(line));
        }
        Files.write(file, lines, UTF_8);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        }
    }
}
