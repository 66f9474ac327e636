package org.openkcm.keystore.runtime;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;

/**
 * A real OpenBao cluster of three nodes on loopback, on integrated storage (Raft), not dev mode:
 * each node a {@code bao server} process on free ports; the first is initialised ({@code bao
 * operator init}, one unseal key) and unsealed, the others {@code bao operator raft join} it and are
 * unsealed; a KV v2 mount is enabled at {@code secret/}. Standbys forward reads too
 * ({@code disable_standby_reads}), as the README asks of a cluster behind several runtimes. A node
 * can be killed with SIGKILL and started again (same data, unsealed again): it rejoins the cluster
 * as a follower.
 */
final class RaftCluster implements AutoCloseable {
    private static final Duration START = Duration.ofSeconds(90);
    private static final Pattern JSON_STRING = Pattern.compile("\"%s\"\\s*:\\s*\\[?\\s*\"([^\"]*)\"");

    /** One node: its address, its files and its process while it runs. */
    final class Node {
        final String id;
        final String address;
        final Path dir;
        private Process process;

        Node(String id, int port, Path dir) {
            this.id = id;
            this.address = "http://127.0.0.1:" + port;
            this.dir = dir;
        }

        void start() throws IOException {
            ProcessBuilder builder = new ProcessBuilder(bao.toString(), "server", "-config=" + dir.resolve("node.hcl"))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("server.log").toFile()))
                    .directory(dir.toFile());
            clean(builder);
            process = builder.start();
        }

        /** kill -9: the node gets no chance to step down or flush. */
        void kill() throws InterruptedException {
            process.destroyForcibly(); // SIGKILL on Unix
            process.waitFor(10, TimeUnit.SECONDS);
        }

        boolean running() {
            return process != null && process.isAlive();
        }

        String log() throws IOException {
            return Files.readString(dir.resolve("server.log"));
        }

        @Override
        public String toString() {
            return id + " at " + address;
        }
    }

    final Path bao;
    final List<Node> nodes = new ArrayList<>();
    final Path tokenFile;
    private final Path root;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private String unsealKey;
    private String rootToken;

    private RaftCluster(Path bao, Path root) {
        this.bao = bao;
        this.root = root;
        this.tokenFile = root.resolve("root-token");
    }

    /** Three nodes, initialised, unsealed, joined, every one a voter, with KV v2 at secret/. */
    static RaftCluster start(Path bundleDir) throws Exception {
        Path target = Path.of("target").toAbsolutePath();
        Files.createDirectories(target);
        RaftCluster cluster = new RaftCluster(OpenBaoDevServer.binary(bundleDir),
                Files.createTempDirectory(target, "raft-cluster"));
        try {
            cluster.launch();
            return cluster;
        } catch (Exception | Error e) {
            cluster.close();
            throw e;
        }
    }

    private void launch() throws Exception {
        for (int i = 1; i <= 3; i++) {
            int port = OpenBaoDevServer.freePortPair(); // api port, cluster port next to it
            Path dir = Files.createDirectories(root.resolve("n" + i));
            Files.createDirectories(dir.resolve("raft"));
            Node node = new Node("n" + i, port, dir);
            Files.writeString(dir.resolve("node.hcl"), "storage \"raft\" {\n"
                    + "  path = \"" + dir.resolve("raft") + "\"\n"
                    + "  node_id = \"" + node.id + "\"\n"
                    // the quickest leader election OpenBao offers (the default multiplier is 5)
                    + "  performance_multiplier = 1\n"
                    + "}\n"
                    + "listener \"tcp\" {\n"
                    + "  address = \"127.0.0.1:" + port + "\"\n"
                    + "  cluster_address = \"127.0.0.1:" + (port + 1) + "\"\n"
                    + "  tls_disable = true\n"
                    + "}\n"
                    + "api_addr = \"" + node.address + "\"\n"
                    + "cluster_addr = \"http://127.0.0.1:" + (port + 1) + "\"\n"
                    // standbys forward every request, reads included: since OpenBao 2.5 a standby serves reads
                    // from its own copy by default, which may lag, and a runtime on a standby then misses keys it
                    // has just written (this test saw NOT_FOUND for acknowledged keys without it)
                    + "disable_standby_reads = true\n");
            nodes.add(node);
            node.start();
        }
        Node first = nodes.get(0);
        awaitStatus(first, 501, 200, 429, 503); // answering, whatever it says
        String init = cli(first, "operator", "init", "-key-shares=1", "-key-threshold=1", "-format=json");
        unsealKey = field(init, "unseal_keys_b64");
        rootToken = field(init, "root_token");
        Files.writeString(tokenFile, rootToken);
        cli(first, "operator", "unseal", unsealKey);
        awaitStatus(first, 200);
        for (Node node : nodes.subList(1, nodes.size())) {
            awaitStatus(node, 501, 503);
            cli(node, "operator", "raft", "join", first.address);
            cli(node, "operator", "unseal", unsealKey);
        }
        for (Node node : nodes) {
            awaitStatus(node, 200, 429);
        }
        cli(first, "secrets", "enable", "-path=secret", "kv-v2");
        awaitVoters();
    }

    /** The active node, as the nodes that run report it. */
    Node leader() throws Exception {
        long deadline = System.nanoTime() + START.toNanos();
        while (System.nanoTime() < deadline) {
            for (Node node : nodes) {
                if (node.running() && status(node) == 200) {
                    return node;
                }
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("no active node within " + START + ": " + peers());
    }

    /** Starts a killed node again on its own data and unseals it: it rejoins as a follower. */
    void restart(Node node) throws Exception {
        node.start();
        awaitStatus(node, 503);
        cli(node, "operator", "unseal", unsealKey);
        awaitStatus(node, 200, 429);
    }

    /** The Raft peers as {@code bao operator raft list-peers} prints them, asked of a running node. */
    String peers() throws Exception {
        for (Node node : nodes) {
            if (node.running()) {
                return cli(node, "operator", "raft", "list-peers");
            }
        }
        return "no node runs";
    }

    /** Waits until autopilot has made every node a voter: only then does losing one leave a quorum. */
    private void awaitVoters() throws Exception {
        long deadline = System.nanoTime() + START.toNanos();
        String peers = "";
        while (System.nanoTime() < deadline) {
            peers = peers();
            if (Pattern.compile("(?m)^n\\d\\s.*\\strue\\s*$").matcher(peers).results().count() == nodes.size()) {
                return;
            }
            Thread.sleep(500);
        }
        throw new IllegalStateException("not every node became a voter within " + START + ":\n" + peers);
    }

    /** {@code sys/health} of a node: 200 active, 429 standby, 503 sealed, 501 not initialised; -1 unreachable. */
    int status(Node node) throws InterruptedException {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(node.address + "/v1/sys/health"))
                    .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException unreachable) {
            return -1;
        }
    }

    private void awaitStatus(Node node, int... wanted) throws Exception {
        long deadline = System.nanoTime() + START.toNanos();
        int last = -1;
        while (System.nanoTime() < deadline) {
            if (!node.running()) {
                throw new IllegalStateException(node + " exited:\n" + node.log());
            }
            last = status(node);
            for (int w : wanted) {
                if (last == w) {
                    return;
                }
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException(node + " answered sys/health " + last + " after " + START + ":\n" + node.log());
    }

    /** Runs the bao CLI against a node and returns its output; fails on a non-zero exit. */
    private String cli(Node node, String... args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(bao.toString());
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).directory(root.toFile());
        clean(builder);
        builder.environment().put("BAO_ADDR", node.address);
        if (rootToken != null) {
            builder.environment().put("BAO_TOKEN", rootToken);
        }
        Process process = builder.start();
        String out = new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
            process.destroyForcibly();
            throw new IllegalStateException("bao " + String.join(" ", args) + " on " + node + " failed: " + out);
        }
        return out;
    }

    /** No BAO_ or VAULT_ variable of the build's environment reaches a node or the CLI. */
    private void clean(ProcessBuilder builder) {
        builder.environment().keySet().removeIf(k -> k.startsWith("BAO_") || k.startsWith("VAULT_"));
        builder.environment().put("HOME", root.toString());
    }

    private static String field(String json, String name) {
        Matcher m = Pattern.compile(String.format(JSON_STRING.pattern(), name)).matcher(json);
        if (!m.find()) {
            throw new IllegalStateException("no " + name + " in the output of bao operator init");
        }
        return m.group(1);
    }

    @Override
    public void close() {
        for (Node node : nodes) {
            if (node.process != null) {
                node.process.destroyForcibly();
            }
        }
    }
}
