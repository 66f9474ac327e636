package org.openkcm.keystore.plugins.testing;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real {@code redis-server} for tests: on loopback, on a free port, in a fresh directory under
 * {@code openkcm.redis.workdir} (default {@code target/redis-servers}). It keeps every acknowledged
 * write (append-only file, fsync always), so a {@link #kill()} and {@link #restart()} lose nothing.
 * The binary is the system property {@code openkcm.redis.server}, the environment variable
 * {@code OPENKCM_REDIS_SERVER}, or {@code redis-server} on the PATH; the build installs Debian's
 * package when it is missing (src/test/sh/ensure-redis.sh).
 */
public final class RedisServer implements AutoCloseable {
    private final Path binary;
    private final Path directory;
    private final int port;
    /** Arguments beyond the loopback, durability and logging ones, e.g. --requirepass. */
    private final List<String> extra;
    private volatile Process process;

    private RedisServer(Path binary, Path directory, int port, List<String> extra) {
        this.binary = binary;
        this.directory = directory;
        this.port = port;
        this.extra = List.copyOf(extra);
        // A server outlives nothing that started it, not even a test or benchmark that never closes it.
        Runtime.getRuntime().addShutdownHook(new Thread(this::kill, "redis-server " + port + " stop"));
    }

    /** Starts a server; a port taken between choosing and binding it is retried with another. */
    public static RedisServer start() {
        return start(List.of());
    }

    /** Starts a server that demands the password ({@code --requirepass}) of every client. */
    public static RedisServer startWithPassword(String password) {
        return start(List.of("--requirepass", password));
    }

    private static RedisServer start(List<String> extra) {
        Path workdir = Paths.get(System.getProperty("openkcm.redis.workdir", "target/redis-servers")).toAbsolutePath();
        IllegalStateException failure = null;
        for (int attempt = 0; attempt < 5; attempt++) {
            try {
                Files.createDirectories(workdir);
                RedisServer server = new RedisServer(binary(), Files.createTempDirectory(workdir, "redis-"), freePort(), extra);
                server.launch();
                return server;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (IllegalStateException e) {
                failure = e;
            }
        }
        throw failure;
    }

    /** host:port, as the Redis plugin's {@code address} setting takes it. */
    public String address() {
        return "127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    /** SIGKILL, as a crash would, and waits until the process is gone. */
    public synchronized void kill() {
        if (process != null) {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Starts the server again on the same port and directory (its append-only file). */
    public void restart() {
        launch();
    }

    @Override
    public void close() {
        kill();
        try (Stream<Path> files = Files.walk(directory)) {
            files.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        } catch (IOException e) {
            // Leaving a test directory under target/ behind is harmless.
        }
    }

    private void launch() {
        List<String> command = new java.util.ArrayList<>(List.of(binary.toString(), "--bind", "127.0.0.1", "--port",
                Integer.toString(port), "--dir", directory.toString(), "--save", "", "--appendonly", "yes",
                "--appendfsync", "always", "--daemonize", "no", "--logfile", "", "--loglevel", "warning"));
        command.addAll(extra);
        Path log = directory.resolve("redis.log");
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("redis-server exited with " + process.exitValue() + ": " + read(log));
            }
            if (answersPing()) {
                return;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        kill();
        throw new IllegalStateException("redis-server did not answer on " + address() + " within 30 s: " + read(log));
    }

    private boolean answersPing() {
        int auth = extra.indexOf("--requirepass");
        String login = auth < 0 ? "" : "AUTH " + extra.get(auth + 1) + "\r\n";
        String loggedIn = auth < 0 ? "" : "+OK\r\n";
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
            socket.setSoTimeout(1000);
            OutputStream out = socket.getOutputStream();
            out.write((login + "PING\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            String expected = loggedIn + "+PONG\r\n";
            byte[] reply = in.readNBytes(expected.length());
            // "+PONG\r\n" once loaded; "-LOADING ..." while it replays its append-only file
            return new String(reply, StandardCharsets.US_ASCII).equals(expected);
        } catch (IOException e) {
            return false;
        }
    }

    private static String read(Path log) {
        try {
            return Files.readString(log, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            return "(no log)";
        }
    }

    private static Path binary() {
        String configured = System.getProperty("openkcm.redis.server", System.getenv("OPENKCM_REDIS_SERVER"));
        if (configured != null && !configured.isEmpty()) {
            return Path.of(configured);
        }
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator)) {
            Path candidate = Path.of(dir, "redis-server");
            if (Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException("redis-server not found on the PATH: the build installs Debian's redis-server"
                + " package (src/test/sh/ensure-redis.sh); or set OPENKCM_REDIS_SERVER to the binary");
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
