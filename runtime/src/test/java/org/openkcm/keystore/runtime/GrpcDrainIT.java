package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;
import org.openkcm.keystore.grpc.v1.GenerateRequest;
import org.openkcm.keystore.grpc.v1.GetMetadataRequest;
import org.openkcm.keystore.grpc.v1.KeyFilter;
import org.openkcm.keystore.grpc.v1.KeyId;
import org.openkcm.keystore.grpc.v1.KeyServiceGrpc;
import org.openkcm.keystore.grpc.v1.KeySpec;
import org.openkcm.keystore.grpc.v1.KeyType;
import org.openkcm.keystore.grpc.v1.ListRequest;
import org.openkcm.keystore.grpc.v1.ListResponse;
import org.openkcm.keystore.grpc.v1.Owner;
import org.openkcm.keystore.grpc.v1.OwnerKind;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;

/**
 * The gRPC server of the built runtime under calls that do not finish: a client that stops reading
 * a response (a List larger than its flow-control window, which it never reads) holds a call slot
 * only until its deadline; {@code max.concurrent.calls} refuses calls beyond it; and a
 * reconfiguration under load drains: the stalled call, read again during the drain, completes; new
 * calls meanwhile are UNAVAILABLE; every write acknowledged before, during or after is there; the
 * clients recover on the new server; and the drain is bounded by {@code drain.seconds} for a call
 * that never finishes.
 */
@Timeout(600)
class GrpcDrainIT {
    private static final Duration START = Duration.ofSeconds(90);
    private static final Duration WAIT = Duration.ofSeconds(60);
    /** The client's HTTP/2 window: the smallest HTTP/2 allows, well below one List response of the big keys. */
    private static final int WINDOW = 65_535;
    private static final int BIG_KEYS = 12;

    private final List<ManagedChannel> channels = new CopyOnWriteArrayList<>();
    private Distribution distribution;
    private Distribution.Running runtime;
    /** JVM options for the runtime besides {@link Distribution#JAVA_OPTS}. */
    private String distributionOptions = "";

    @AfterEach
    void stop() {
        channels.forEach(ManagedChannel::shutdownNow);
        if (runtime != null) {
            runtime.close();
        }
    }

    private void start(TestInfo test, String settings) throws Exception {
        distribution = Distribution.copy("grpc-drain-" + test.getTestMethod().orElseThrow().getName());
        Path config = distribution.path("config/org.openkcm.keystore.grpc.cfg");
        int port;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        // a fixed free port: the server listens on the same one again after a reconfiguration
        Files.writeString(config, Files.readString(config).replace("port = I\"0\"", "port = I\"" + port + "\"")
                + settings);
        distribution.environment("JAVA_OPTS", Distribution.JAVA_OPTS + distributionOptions);
        runtime = distribution.start();
        runtime.shell("keystore:backends", START);
        Distribution.eventually(START, () -> {
            assertTrue(Files.exists(distribution.path("data/grpc.endpoint")), "not serving yet\n" + runtime);
            try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port())) {
                assertTrue(socket.isConnected());
            } catch (IOException notYet) {
                throw new AssertionError("nothing listens yet\n" + runtime, notYet);
            }
        });
    }

    private int port() throws IOException {
        Properties endpoint = new Properties();
        try (var in = Files.newBufferedReader(distribution.path("data/grpc.endpoint"))) {
            endpoint.load(in);
        }
        String target = endpoint.getProperty("target");
        return Integer.parseInt(target.substring(target.lastIndexOf(':') + 1));
    }

    /** An admin channel; with a window, one whose reads the test controls. */
    private ManagedChannel channel(Integer window) throws IOException {
        NettyChannelBuilder builder = NettyChannelBuilder.forAddress("127.0.0.1", port())
                .sslContext(GrpcSslContexts.forClient().trustManager(distribution.path("data/tls/ca.pem").toFile())
                        .keyManager(distribution.path("data/tls/admin.pem").toFile(),
                                distribution.path("data/tls/admin.key").toFile())
                        .build());
        if (window != null) {
            builder.flowControlWindow(window);
        }
        ManagedChannel channel = builder.build();
        channels.add(channel);
        return channel;
    }

    private static KeyServiceGrpc.KeyServiceBlockingStub keys(ManagedChannel channel) {
        return KeyServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    private static GenerateRequest generate(String name, int tags) {
        KeySpec.Builder spec = KeySpec.newBuilder().setName(name).setType(KeyType.KEY_TYPE_L4).setAlgorithm("AES")
                .setKeySize(256).setOwner(Owner.newBuilder().setKind(OwnerKind.OWNER_KIND_NODE).setId("n1"));
        for (int i = 0; i < tags; i++) {
            spec.putTags("t" + i, "v".repeat(256));
        }
        return GenerateRequest.newBuilder().setSpec(spec).build();
    }

    /** Keys whose metadata (32 tags of 256 characters each) make one List response larger than {@link #WINDOW}. */
    private void bigKeys(ManagedChannel channel) throws Exception {
        for (int i = 0; i < BIG_KEYS; i++) {
            GenerateRequest request = generate("big" + i, 32);
            // with max.concurrent.calls = 1 the previous call may still hold the slot for a moment
            Distribution.eventually(WAIT, () -> served(() -> keys(channel).generate(request)));
        }
    }

    /** Runs the call; a refusal is an AssertionError, so that {@link Distribution#eventually} retries it. */
    private static void served(Runnable call) {
        try {
            call.run();
        } catch (StatusRuntimeException e) {
            throw new AssertionError("refused: " + e.getStatus(), e);
        }
    }

    private static GetMetadataRequest metadataOf(String name) {
        return GetMetadataRequest.newBuilder().setId(KeyId.newBuilder().setName(name).setVersion(1)).build();
    }

    /** A List call whose response the client does not read until {@link #read} is called. */
    private static final class StalledList {
        final ClientCall<ListRequest, ListResponse> call;
        final AtomicReference<ListResponse> response = new AtomicReference<>();
        final AtomicReference<Status> status = new AtomicReference<>();
        final CountDownLatch closed = new CountDownLatch(1);
        /** The server's response headers: it has taken the call (they come without a read). */
        final CountDownLatch taken = new CountDownLatch(1);

        StalledList(ManagedChannel channel, Duration deadline) {
            call = channel.newCall(KeyServiceGrpc.getListMethod(),
                    CallOptions.DEFAULT.withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS));
            call.start(new ClientCall.Listener<>() {
                @Override
                public void onHeaders(Metadata headers) {
                    taken.countDown();
                }

                @Override
                public void onMessage(ListResponse message) {
                    response.set(message);
                }

                @Override
                public void onClose(Status s, Metadata trailers) {
                    status.set(s);
                    closed.countDown();
                }
            }, new Metadata());
            call.sendMessage(ListRequest.newBuilder()
                    .setFilter(KeyFilter.newBuilder().setPageSize(1000).setType(KeyType.KEY_TYPE_L4)).build());
            call.halfClose(); // and no call.request(): the response stays unread
        }

        void awaitTaken() throws InterruptedException {
            assertTrue(taken.await(WAIT.toMillis(), TimeUnit.MILLISECONDS) || closed.getCount() == 0,
                    "the server did not take the call");
            assertEquals(1, closed.getCount(), () -> "the stalled call ended: " + status.get());
        }

        void read() {
            call.request(1);
        }

        Status awaitClose(Duration timeout) throws InterruptedException {
            assertTrue(closed.await(timeout.toMillis(), TimeUnit.MILLISECONDS), "the call did not end");
            return status.get();
        }
    }

    private static void pause() {
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Status.Code code(Runnable call) {
        return assertThrows(StatusRuntimeException.class, call::run).getStatus().getCode();
    }

    @Test
    void aClientThatStopsReadingHoldsItsCallOnlyUntilItsDeadlineAndMaxConcurrentCallsHolds(TestInfo test)
            throws Exception {
        start(test, "max.concurrent.calls = I\"1\"\n");
        ManagedChannel admin = channel(null);
        bigKeys(admin);

        StalledList stalled = new StalledList(channel(WINDOW), Duration.ofSeconds(20));
        stalled.awaitTaken();
        // the one call slot is the stalled call's: every other call is refused, not queued
        Distribution.eventually(WAIT, () -> {
            StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
                    () -> keys(admin).getMetadata(metadataOf("big0")));
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, refused.getStatus().getCode(), refused::toString);
            assertEquals("more than 1 calls in flight; retry", refused.getStatus().getDescription());
        });
        assertEquals(1, stalled.closed.getCount(), "the stalled call is still open");

        // its deadline ends it, and with it its hold on the server
        assertEquals(Status.Code.DEADLINE_EXCEEDED, stalled.awaitClose(WAIT).getCode());
        Distribution.eventually(WAIT, () -> served(() -> assertEquals("big0",
                keys(admin).getMetadata(metadataOf("big0")).getId().getName())));
        assertEquals(null, stalled.response.get(), "the stalled client read nothing");
    }

    @Test
    void aReconfigurationUnderLoadDrainsTheCallsInFlightAndLosesNoAcknowledgedCall(TestInfo test) throws Exception {
        start(test, "drain.seconds = I\"120\"\n");
        ManagedChannel admin = channel(null);
        bigKeys(admin);

        AtomicBoolean running = new AtomicBoolean(true);
        List<String> acknowledged = new CopyOnWriteArrayList<>();
        AtomicInteger unavailable = new AtomicInteger();
        Map<String, Integer> unexpected = new ConcurrentHashMap<>();
        AtomicInteger names = new AtomicInteger();
        List<Thread> writers = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            ManagedChannel channel = channel(null);
            Thread writer = new Thread(() -> {
                while (running.get()) {
                    String name = "w" + names.incrementAndGet();
                    try {
                        keys(channel).generate(generate(name, 0));
                        acknowledged.add(name);
                    } catch (StatusRuntimeException e) {
                        if (e.getStatus().getCode() == Status.Code.UNAVAILABLE) {
                            unavailable.incrementAndGet();
                            pause(); // a client's retry delay: no busy loop while the server restarts
                        } else {
                            unexpected.merge(e.getStatus().getCode() + ": " + e.getStatus().getDescription(), 1,
                                    Integer::sum);
                        }
                    }
                }
            }, "writer-" + i);
            writer.start();
            writers.add(writer);
        }
        Distribution.eventually(WAIT, () -> assertTrue(acknowledged.size() >= 20, "writes before: " + acknowledged.size()));

        StalledList stalled = new StalledList(channel(WINDOW), Duration.ofSeconds(300));
        stalled.awaitTaken();

        Path config = distribution.path("config/org.openkcm.keystore.grpc.cfg");
        Files.writeString(config, Files.readString(config) + "keepalive.time.seconds = I\"61\"\n");

        // draining: the old server waits for the stalled call; new calls are answered UNAVAILABLE
        ManagedChannel fresh = channel(null);
        Distribution.eventually(WAIT, () -> assertEquals(Status.Code.UNAVAILABLE,
                code(() -> keys(fresh).getMetadata(metadataOf("big0")))));
        int acknowledgedAtDrain = acknowledged.size();
        Thread.sleep(1000);
        assertEquals(1, stalled.closed.getCount(), "the drain left the call in flight alone\n" + runtime);
        assertEquals(Status.Code.UNAVAILABLE, code(() -> keys(fresh).getMetadata(metadataOf("big0"))),
                "still draining");

        // the call in flight completes when its client reads again
        stalled.read();
        Status finished = stalled.awaitClose(WAIT);
        assertTrue(finished.isOk(), finished::toString);
        assertEquals(BIG_KEYS, stalled.response.get().getKeysList().stream()
                .filter(k -> k.getId().getName().startsWith("big")).count());

        // then the new server serves, and the writers recover on it
        Distribution.eventually(WAIT, () -> served(() -> assertEquals("big0",
                keys(fresh).getMetadata(metadataOf("big0")).getId().getName())));
        Distribution.eventually(WAIT, () -> assertTrue(acknowledged.size() >= acknowledgedAtDrain + 20,
                "writes after the restart: " + acknowledged.size() + " (at the drain " + acknowledgedAtDrain + ")"));
        running.set(false);
        for (Thread writer : writers) {
            writer.join(30_000);
            assertFalse(writer.isAlive(), writer.getName());
        }

        assertEquals(Map.of(), unexpected, "failures other than UNAVAILABLE");
        assertNotEquals(0, unavailable.get(), "some writes met the drain");
        for (String name : acknowledged) {
            assertEquals(name, keys(fresh).getMetadata(metadataOf(name)).getId().getName(),
                    "an acknowledged write is there");
        }
    }

    @Test
    void theDrainIsBoundedForACallThatNeverFinishes(TestInfo test) throws Exception {
        distributionOptions = " -Dopenkcm.log.console=warn";
        start(test, "drain.seconds = I\"2\"\n");
        ManagedChannel admin = channel(null);
        bigKeys(admin);
        StalledList stalled = new StalledList(channel(WINDOW), Duration.ofSeconds(300));
        stalled.awaitTaken();

        Path config = distribution.path("config/org.openkcm.keystore.grpc.cfg");
        Files.writeString(config, Files.readString(config) + "keepalive.time.seconds = I\"61\"\n");

        // after drain.seconds the old server cancels it and the new one serves, though its client never read
        // (gRPC tells the client of the cancellation only once it reads what came before it)
        ManagedChannel fresh = channel(null);
        Distribution.eventually(WAIT, () -> served(() -> assertEquals("big0",
                keys(fresh).getMetadata(metadataOf("big0")).getId().getName())));
        assertEquals(null, stalled.response.get(), "the stalled client read nothing");
        Distribution.eventually(WAIT, () -> assertTrue(runtime.err().contains(
                "call(s) were still running after 2 s and were cancelled"), runtime::toString));
    }
}
