package org.openkcm.keystore.postgres.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermission;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real PostgreSQL server for tests: {@code initdb} into a fresh directory under
 * {@code target/}, then {@code postgres} on loopback, on a free port, with password
 * (scram-sha-256) authentication for TCP connections. Debian's server binaries are used
 * ({@code /usr/lib/postgresql/N/bin}, the newest; or the directory in the system property
 * {@code openkcm.pg.bin} or the environment variable {@code OPENKCM_PG_BIN}); the build installs
 * them when they are missing (src/test/sh/ensure-postgres.sh).
 * <p>
 * {@code initdb} and {@code postgres} refuse to run as root. When the tests run as root (as CI
 * does), both are run as the user {@code nobody} through {@code setpriv}, which execs the command
 * itself, so {@link #pid()} is the postmaster's own process id; the data directory is handed to
 * that user. If {@code nobody} cannot reach the work directory (a checkout below a private home
 * directory), the server's directory is made in {@code java.io.tmpdir} instead; it is removed the
 * same way.
 */
public final class PostgresServer implements AutoCloseable {
    /** The superuser the tests log in as. */
    public static final String USER = "openkcm";
    /** Its password; the surefire configuration also sets OPENKCM_TEST_PG_PASSWORD to it. */
    public static final String PASSWORD = "openkcm-test-password";
    public static final String DATABASE = "keystore";
    private static final String RUN_AS = "nobody";

    private final Path directory;
    private final Path data;
    private final Path bin;
    private final int port;
    private final boolean asRoot;
    private Process process;

    private PostgresServer(Path directory, Path bin, int port) {
        this.directory = directory;
        this.data = directory.resolve("data");
        this.bin = bin;
        this.port = port;
        this.asRoot = "root".equals(System.getProperty("user.name"));
    }

    /**
     * Initialises and starts a server in a fresh directory below {@code openkcm.pg.workdir}
     * (default {@code target/pg-servers}) and creates the database {@value #DATABASE}.
     */
    public static PostgresServer start() {
        Path workdir = Paths.get(System.getProperty("openkcm.pg.workdir", "target/pg-servers")).toAbsolutePath();
        try {
            Files.createDirectories(workdir);
            if ("root".equals(System.getProperty("user.name")) && !traversableByOthers(workdir)) {
                // The server runs as nobody, who cannot reach a tree checked out under, say, /root (mode 700).
                workdir = Paths.get(System.getProperty("java.io.tmpdir"));
            }
            Path directory = Files.createTempDirectory(workdir, "openkcm-pg-");
            PostgresServer server = new PostgresServer(directory, binaries(), freePort());
            server.initialise();
            server.launch();
            server.createDatabase();
            return server;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The JDBC URL of the test database. */
    public String url() {
        return url(DATABASE);
    }

    public String url(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    public int port() {
        return port;
    }

    /** The postmaster's process id. */
    public long pid() {
        return process.pid();
    }

    public boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** A plain JDBC connection (pgjdbc's Driver through DriverManager) as {@value #USER}. */
    public Connection connect() throws SQLException {
        Properties properties = new Properties();
        properties.setProperty("user", USER);
        properties.setProperty("password", PASSWORD);
        return DriverManager.getConnection(url(), properties);
    }

    /**
     * {@code kill -9} on the postmaster, then waits until every server process it had started
     * has gone (backends exit when they see their postmaster die), so that {@link #restart()} finds
     * the data directory free. No shutdown checkpoint is written: the restart runs crash recovery.
     */
    public void kill() {
        List<ProcessHandle> children = process.toHandle().descendants().toList();
        process.destroyForcibly();
        waitFor(process.toHandle(), Duration.ofSeconds(10));
        for (ProcessHandle child : children) {
            if (!waitFor(child, Duration.ofSeconds(10))) {
                child.destroyForcibly();
                waitFor(child, Duration.ofSeconds(5));
            }
        }
    }

    /** Starts the server again on the same data directory and port. */
    public void restart() {
        launch();
    }

    /** Stops the server (fast shutdown: SIGINT) and waits for it. */
    public void stop() {
        if (process == null || !process.isAlive()) {
            return;
        }
        try {
            new ProcessBuilder("kill", "-INT", Long.toString(process.pid())).inheritIO().start().waitFor();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                kill();
            }
        } catch (IOException e) {
            kill();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            kill();
        }
    }

    /** Stops the server and removes its directory. */
    @Override
    public void close() {
        stop();
        try (Stream<Path> files = Files.walk(directory)) {
            files.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        } catch (IOException e) {
            // Leaving a test directory under target/ behind is harmless.
        }
    }

    private void initialise() throws IOException {
        Path passwordFile = directory.resolve("pwfile");
        Files.writeString(passwordFile, PASSWORD + "\n", StandardCharsets.UTF_8);
        Files.createDirectories(data);
        if (asRoot) {
            run(List.of("chown", "-R", RUN_AS, directory.toString()));
        }
        run(command(bin.resolve("initdb").toString(), "-D", data.toString(), "-U", USER, "--pwfile="
                + passwordFile, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
                "--no-sync"));
        Files.delete(passwordFile);
    }

    private void launch() {
        List<String> command = command(bin.resolve("postgres").toString(), "-D", data.toString(), "-p",
                Integer.toString(port), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
                "-c", "max_connections=200", "-c", "fsync=on", "-c", "logging_collector=off");
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(directory.resolve("postgres.log").toFile()));
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        SQLException last = null;
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("postgres exited with " + process.exitValue() + ": " + log());
            }
            try (Connection connection = DriverManager.getConnection(url("postgres"), USER, PASSWORD)) {
                return;
            } catch (SQLException e) {
                last = e;
            }
            sleep(100);
        }
        throw new IllegalStateException("postgres did not accept connections within 60 s: " + last + "\n" + log());
    }

    private void createDatabase() {
        try (Connection connection = DriverManager.getConnection(url("postgres"), USER, PASSWORD)) {
            connection.createStatement().execute("CREATE DATABASE " + DATABASE);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create the test database", e);
        }
    }

    /** The server's log so far. */
    public String log() {
        try {
            return Files.readString(directory.resolve("postgres.log"));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    private List<String> command(String... args) {
        List<String> command = new ArrayList<>();
        if (asRoot) {
            command.addAll(List.of("setpriv", "--reuid=" + RUN_AS, "--regid=nogroup", "--clear-groups", "--"));
        }
        command.addAll(List.of(args));
        return command;
    }

    private void run(List<String> command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).directory(directory.toFile()).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (p.waitFor() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed with " + p.exitValue() + ":\n"
                        + output);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static Path binaries() throws IOException {
        String configured = Optional.ofNullable(System.getProperty("openkcm.pg.bin"))
                .orElse(System.getenv("OPENKCM_PG_BIN"));
        if (configured != null && !configured.isBlank()) {
            return Paths.get(configured);
        }
        Path root = Paths.get("/usr/lib/postgresql");
        if (Files.isDirectory(root)) {
            try (Stream<Path> versions = Files.list(root)) {
                Optional<Path> newest = versions.map(v -> v.resolve("bin"))
                        .filter(b -> Files.isExecutable(b.resolve("postgres")) && Files.isExecutable(b.resolve("initdb")))
                        .max(Comparator.comparingInt(b -> major(b.getParent().getFileName().toString())));
                if (newest.isPresent()) {
                    return newest.get();
                }
            }
        }
        throw new IllegalStateException("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin: install the"
                + " postgresql package (the build does it as root on Debian), or set OPENKCM_PG_BIN");
    }

    private static int major(String version) {
        try {
            return Integer.parseInt(version.split("\\.")[0]);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** Whether every directory from the root down to {@code dir} lets other users through (o+x). */
    private static boolean traversableByOthers(Path dir) {
        for (Path p = dir; p != null; p = p.getParent()) {
            try {
                if (!Files.getPosixFilePermissions(p).contains(PosixFilePermission.OTHERS_EXECUTE)) {
                    return false;
                }
            } catch (IOException | UnsupportedOperationException e) {
                return false;
            }
        }
        return true;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static boolean waitFor(ProcessHandle handle, Duration timeout) {
        try {
            handle.onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (Exception e) {
            return !handle.isAlive();
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
