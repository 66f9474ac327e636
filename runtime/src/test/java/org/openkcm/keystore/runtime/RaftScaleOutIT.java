package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openkcm.keystore.grpc.v1.GenerateRequest;
import org.openkcm.keystore.grpc.v1.GetMaterialRequest;
import org.openkcm.keystore.grpc.v1.KeyId;
import org.openkcm.keystore.grpc.v1.KeyServiceGrpc;
import org.openkcm.keystore.grpc.v1.KeySpec;
import org.openkcm.keystore.grpc.v1.KeyType;
import org.openkcm.keystore.grpc.v1.Owner;
import org.openkcm.keystore.grpc.v1.OwnerKind;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;

import com.google.protobuf.ByteString;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;

/**
 * Scale-out: a three-node OpenBao cluster on integrated storage (Raft, not dev mode), two runtime
 * processes in front of it, each given every node ({@code address} and {@code failover.addresses},
 * in a different order, so B starts on a standby that forwards), and four gRPC clients (two per
 * runtime) generating keys and reading them back while the Raft leader is killed with SIGKILL and,
 * once a new leader serves writes, started again. Every acknowledged generate is readable at the end
 * with the same material from both runtimes; every error a client saw is UNAVAILABLE; each runtime
 * acknowledged writes after the kill, before the old leader came back. The longest unavailability a
 * client saw (from its last success before a failure to its next success) is measured and reported
 * in target/raft-scale-out.txt and the test log, not asserted.
 */
@Timeout(300)
class RaftScaleOutIT {
    private static final Duration START = Duration.ofSeconds(90);
    private static final Duration CALL = Duration.ofSeconds(30);
    /** How long the clients run before the kill, after the new leader serves, and after the restart. */
    private static final long PHASE_MILLIS = 4000;
    private static final int CLIENTS = 4;

    static RaftCluster cluster;
    static final List<Distribution> distributions = new ArrayList<>();
    static final List<Distribution.Running> runtimes = new ArrayList<>();
    static final List<ManagedChannel> channels = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void setUp() throws Exception {
        cluster = RaftCluster.start(OpenBaoDevServer.bundleFile().toPath().getParent());
        List<String> nodes = cluster.nodes.stream().map(n -> n.address).toList();
        String prefix = "scale-out-" + System.nanoTime();
        Distribution a = configured("raft-scale-out-a", List.of(nodes.get(0), nodes.get(1), nodes.get(2)), prefix);
        Distribution b = configured("raft-scale-out-b", List.of(nodes.get(1), nodes.get(2), nodes.get(0)), prefix);
        distributions.add(a);
        distributions.add(b);
        runtimes.add(a.start());
        TwoRuntimesIT.awaitOpenBao(runtimes.get(0));
        // one KEK for both replicas, as in TwoRuntimesIT
        Path ring = a.path("data/kek/local.kek");
        TwoRuntimesIT.awaitFile(ring);
        Files.createDirectories(b.path("data/kek"));
        Files.copy(ring, b.path("data/kek/local.kek"), StandardCopyOption.COPY_ATTRIBUTES);
        runtimes.add(b.start());
        TwoRuntimesIT.awaitOpenBao(runtimes.get(1));
        for (Distribution d : distributions) {
            Distribution.eventually(START, () -> assertTrue(Files.exists(d.path("data/grpc.endpoint")), "not serving"));
        }
    }

    /** A copy whose every tier goes to the cluster, with a retry budget that answers within a client's deadline. */
    static Distribution configured(String name, List<String> nodes, String prefix) throws IOException {
        Distribution d = Distribution.copy(name);
        Files.writeString(d.path("config/org.openkcm.keystore.openbao-cluster.cfg"),
                "address = \"" + nodes.get(0) + "\"\n"
                        + "failover.addresses = [ \"" + nodes.get(1) + "\", \"" + nodes.get(2) + "\" ]\n"
                        + "token.source = \"" + d.secretFile("bao-token", cluster.tokenFile) + "\"\n"
                        + "path.prefix = \"" + prefix + "\"\n"
                        + "keystore.name = \"openbao\"\n"
                        + "keystore.tiers = [ \"L2\", \"L3\", \"L4\" ]\n"
                        + "connect.timeout.seconds = L\"1\"\n"
                        + "read.timeout.seconds = L\"5\"\n"
                        + "retry.max.attempts = L\"6\"\n"
                        + "retry.initial.backoff.ms = L\"50\"\n"
                        + "retry.max.backoff.ms = L\"1000\"\n");
        Files.writeString(d.path("config/org.openkcm.keystore.router.cfg"), "default.target = \"openbao\"\n");
        Files.delete(d.path("config/org.openkcm.keystore.route-l4-to-memory.cfg"));
        return d;
    }

    @AfterAll
    static void tearDown() throws IOException {
        channels.forEach(ManagedChannel::shutdownNow);
        runtimes.forEach(Distribution.Running::close);
        if (cluster != null) {
            cluster.close();
        }
        for (Distribution d : distributions) {
            Distribution.delete(d.path(""));
        }
    }

    @Test
    void killingTheRaftLeaderLosesNoAcknowledgedKeyAndServiceResumesUnderANewLeader() throws Exception {
        List<LoadClient> clients = new ArrayList<>();
        for (int i = 0; i < CLIENTS; i++) {
            clients.add(new LoadClient("c" + i, keys(distributions.get(i % 2))));
        }
        clients.forEach(LoadClient::start);
        // under way on every client (the first calls pay for TLS and a cold JIT), then a while longer
        Distribution.eventually(START, () -> {
            for (LoadClient c : clients) {
                assertTrue(c.acknowledged.size() >= 3, c.name + " acknowledged too little before the kill: "
                        + c.acknowledged.size() + " " + c.errors);
            }
        });
        Thread.sleep(PHASE_MILLIS);

        RaftCluster.Node leader = cluster.leader();
        long killed = System.nanoTime();
        leader.kill();
        // service resumes under a new leader: every client has a write acknowledged after the kill
        Distribution.eventually(START, () -> {
            for (LoadClient c : clients) {
                assertTrue(c.lastGenerated() > killed, c.name + " has had no write acknowledged since the kill");
            }
        });
        long resumed = System.nanoTime();
        RaftCluster.Node newLeader = cluster.leader();
        assertNotEquals(leader.id, newLeader.id);
        String peersWithoutOldLeader = cluster.peers();
        Thread.sleep(PHASE_MILLIS);

        cluster.restart(leader);
        long restarted = System.nanoTime();
        Thread.sleep(PHASE_MILLIS);
        for (LoadClient c : clients) {
            c.stop();
        }
        for (LoadClient c : clients) {
            assertTrue(c.lastGenerated() > restarted, c.name + " has had no write acknowledged since the restart");
        }

        // every error any client saw is UNAVAILABLE
        List<String> errors = new ArrayList<>();
        clients.forEach(c -> errors.addAll(c.errors));
        for (String error : errors) {
            assertTrue(error.startsWith("UNAVAILABLE"), "an error other than UNAVAILABLE: " + error + "\nall: " + errors);
        }

        // zero lost acknowledged keys: each one has the same material on both runtimes, and as first read
        List<KeyServiceGrpc.KeyServiceBlockingStub> readers = List.of(keys(distributions.get(0)),
                keys(distributions.get(1)));
        int acknowledged = 0;
        for (LoadClient c : clients) {
            for (Map.Entry<String, byte[]> key : c.acknowledged.entrySet()) {
                acknowledged++;
                byte[] onA = materialOf(readers.get(0), key.getKey());
                byte[] onB = materialOf(readers.get(1), key.getKey());
                assertArrayEquals(onA, onB, key.getKey() + ": the runtimes serve different material");
                if (key.getValue().length > 0) {
                    assertArrayEquals(key.getValue(), onA, key.getKey() + ": not the material first read");
                }
            }
        }

        long longest = clients.stream().mapToLong(LoadClient::longestUnavailableMillis).max().orElse(0);
        StringBuilder report = new StringBuilder("Raft scale-out: 3 OpenBao nodes (integrated storage), 2 runtimes, "
                + CLIENTS + " gRPC clients; leader " + leader.id + " killed with SIGKILL, new leader " + newLeader.id
                + "\n");
        report.append(String.format("acknowledged generates: %d, all readable with the same material on both"
                + " runtimes; client errors: %d, all UNAVAILABLE%n", acknowledged, errors.size()));
        report.append(String.format("kill -> every client had a write acknowledged: %d ms%n",
                TimeUnit.NANOSECONDS.toMillis(resumed - killed)));
        report.append(String.format("longest unavailability a client saw: %d ms%n", longest));
        for (LoadClient c : clients) {
            report.append(String.format("  %s: %d acknowledged, %d errors, longest unavailability %d ms%n", c.name,
                    c.acknowledged.size(), c.errors.size(), c.longestUnavailableMillis()));
        }
        errors.forEach(error -> report.append("  error: ").append(error).append('\n'));
        report.append("peers under the new leader, before the restart (a killed node stays a member):\n")
                .append(peersWithoutOldLeader);
        report.append("peers at the end:\n").append(cluster.peers());
        Files.writeString(Path.of("target", "raft-scale-out.txt"), report.toString());
        System.out.println(report);
        assertTrue(acknowledged > CLIENTS * 3, "too little load to mean anything: " + acknowledged);
    }

    /** The material of version 1 of the key; UNAVAILABLE is asked again (the cluster has just healed). */
    private static byte[] materialOf(KeyServiceGrpc.KeyServiceBlockingStub keys, String name) throws Exception {
        GetMaterialRequest request = GetMaterialRequest.newBuilder()
                .setId(KeyId.newBuilder().setName(name).setVersion(1)).build();
        byte[][] material = new byte[1][];
        Distribution.eventually(START, () -> {
            try {
                material[0] = keys.withDeadlineAfter(CALL.toMillis(), TimeUnit.MILLISECONDS).getMaterial(request)
                        .getMaterial().toByteArray();
            } catch (StatusRuntimeException e) {
                assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), name + " is lost: " + e.getStatus());
                throw new AssertionError(name + ": " + e.getStatus(), e);
            }
        });
        return material[0];
    }

    /** An admin client of one runtime: its CA and admin certificate, at the port it published. */
    private static KeyServiceGrpc.KeyServiceBlockingStub keys(Distribution d) throws IOException {
        Properties endpoint = new Properties();
        try (var in = Files.newBufferedReader(d.path("data/grpc.endpoint"))) {
            endpoint.load(in);
        }
        String target = endpoint.getProperty("target");
        ManagedChannel channel = NettyChannelBuilder
                .forAddress("127.0.0.1", Integer.parseInt(target.substring(target.lastIndexOf(':') + 1)))
                .sslContext(GrpcSslContexts.forClient().trustManager(d.path("data/tls/ca.pem").toFile())
                        .keyManager(d.path("data/tls/admin.pem").toFile(), d.path("data/tls/admin.key").toFile())
                        .build())
                .build();
        channels.add(channel);
        return KeyServiceGrpc.newBlockingStub(channel);
    }

    /**
     * One client on its own thread: generates a key of a new name, reads its material, reads an
     * earlier key again, over and over. A failed generate is not repeated under the same name (it
     * may have been applied): the next one takes a fresh name.
     */
    private static final class LoadClient implements Runnable {
        final String name;
        /** Acknowledged key names and the material first read (empty until read). */
        final Map<String, byte[]> acknowledged = new ConcurrentHashMap<>();
        final List<String> errors = new CopyOnWriteArrayList<>();
        private final KeyServiceGrpc.KeyServiceBlockingStub keys;
        private final Thread thread;
        private volatile boolean running = true;
        private volatile long lastGenerated;
        private long lastSuccess = System.nanoTime();
        private boolean failing;
        private volatile long longestUnavailable;
        private int next;

        LoadClient(String name, KeyServiceGrpc.KeyServiceBlockingStub keys) {
            this.name = name;
            this.keys = keys;
            this.thread = new Thread(this, "scale-out-" + name);
        }

        void start() {
            thread.start();
        }

        void stop() throws InterruptedException {
            running = false;
            thread.join(CALL.toMillis() * 3);
        }

        long lastGenerated() {
            return lastGenerated;
        }

        long longestUnavailableMillis() {
            return TimeUnit.NANOSECONDS.toMillis(longestUnavailable);
        }

        @Override
        public void run() {
            List<String> names = new ArrayList<>();
            while (running) {
                String key = name + "-k" + (next++);
                if (call(() -> keys.withDeadlineAfter(CALL.toMillis(), TimeUnit.MILLISECONDS).generate(
                        GenerateRequest.newBuilder().setSpec(KeySpec.newBuilder().setName(key)
                                .setType(KeyType.KEY_TYPE_L3).setAlgorithm("AES").setKeySize(256)
                                .setOwner(Owner.newBuilder().setKind(OwnerKind.OWNER_KIND_TENANT).setId("acme")))
                                .build()))) {
                    acknowledged.put(key, new byte[0]);
                    names.add(key);
                    lastGenerated = System.nanoTime();
                    read(key);
                }
                if (names.size() > 1) {
                    read(names.get((next * 7) % (names.size() - 1)));
                }
                if (failing) {
                    pause();
                }
            }
        }

        /** Reads a key's material: the first read records it, every later one must match it. */
        private void read(String key) {
            ByteString[] material = new ByteString[1];
            if (call(() -> material[0] = keys.withDeadlineAfter(CALL.toMillis(), TimeUnit.MILLISECONDS)
                    .getMaterial(GetMaterialRequest.newBuilder()
                            .setId(KeyId.newBuilder().setName(key).setVersion(1)).build())
                    .getMaterial())) {
                byte[] first = acknowledged.get(key);
                if (first.length == 0) {
                    acknowledged.put(key, material[0].toByteArray());
                } else if (!material[0].equals(ByteString.copyFrom(first))) {
                    errors.add("MATERIAL CHANGED: " + key);
                }
            }
        }

        /** Runs one call; false (and the status recorded) if it failed. Tracks the unavailability. */
        private boolean call(Runnable call) {
            try {
                call.run();
            } catch (StatusRuntimeException e) {
                errors.add(e.getStatus().getCode() + ": " + e.getStatus().getDescription());
                failing = true;
                return false;
            }
            long now = System.nanoTime();
            if (failing) {
                longestUnavailable = Math.max(longestUnavailable, now - lastSuccess);
                failing = false;
            }
            lastSuccess = now;
            return true;
        }

        private void pause() {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                running = false;
                Thread.currentThread().interrupt();
            }
        }
    }
}
