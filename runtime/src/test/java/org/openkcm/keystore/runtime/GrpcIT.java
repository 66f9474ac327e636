package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;
import org.openkcm.keystore.grpc.v1.AdminServiceGrpc;
import org.openkcm.keystore.grpc.v1.GenerateRequest;
import org.openkcm.keystore.grpc.v1.GetMaterialRequest;
import org.openkcm.keystore.grpc.v1.GetMetadataRequest;
import org.openkcm.keystore.grpc.v1.ImportRequest;
import org.openkcm.keystore.grpc.v1.KeyFilter;
import org.openkcm.keystore.grpc.v1.KeyId;
import org.openkcm.keystore.grpc.v1.KeyMetadata;
import org.openkcm.keystore.grpc.v1.KeyServiceGrpc;
import org.openkcm.keystore.grpc.v1.KeySpec;
import org.openkcm.keystore.grpc.v1.KeyType;
import org.openkcm.keystore.grpc.v1.ListBackendsRequest;
import org.openkcm.keystore.grpc.v1.ListRequest;
import org.openkcm.keystore.grpc.v1.Owner;
import org.openkcm.keystore.grpc.v1.OwnerKind;
import org.openkcm.keystore.grpc.v1.SetTagsRequest;
import org.openkcm.keystore.grpc.v1.DeleteRequest;

import com.google.protobuf.ByteString;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;

/**
 * The gRPC server of the built runtime, as it ships: loopback only, mutual TLS with the local CA it
 * creates under data/tls/ on first start, the admin certificate granted everything, an
 * application's certificate (issued by keystore:grpcclient) only what its grant says, health per
 * backend, and a reconfiguration under load that drains.
 */
@Timeout(300)
class GrpcIT {
    private static final Duration START = Duration.ofSeconds(90);
    private static final Duration COMMAND = Duration.ofSeconds(60);

    private final List<ManagedChannel> channels = new ArrayList<>();
    private Distribution.Running runtime;
    private Distribution distribution;
    private int port;

    @AfterEach
    void stop() {
        channels.forEach(ManagedChannel::shutdownNow);
        if (runtime != null) {
            runtime.close();
        }
    }

    private void start(TestInfo test) throws Exception {
        distribution = Distribution.copy("grpc-" + test.getTestMethod().orElseThrow().getName());
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        Path config = distribution.path("config/org.openkcm.keystore.grpc.cfg");
        String shipped = Files.readString(config);
        assertTrue(shipped.contains("address = \"127.0.0.1\""), shipped);
        Files.writeString(config, shipped.replace("port = I\"0\"", "port = I\"" + port + "\""));
        runtime = distribution.start();
        runtime.shell("keystore:backends", START);
        Distribution.eventually(START, () -> {
            try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
                assertTrue(socket.isConnected());
            } catch (IOException notYet) {
                throw new AssertionError("nothing listens on " + port + " yet\n" + runtime, notYet);
            }
        });
    }

    private Path tls(String file) {
        return distribution.path("data/tls/" + file);
    }

    /** A channel presenting this certificate (or none, with nulls), trusting the runtime's CA. */
    private ManagedChannel channel(Path certificate, Path key) throws IOException {
        SslContextBuilder tls = GrpcSslContexts.forClient().trustManager(tls("ca.pem").toFile());
        if (certificate != null) {
            tls.keyManager(certificate.toFile(), key.toFile());
        }
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port).sslContext(tls.build()).build();
        channels.add(channel);
        return channel;
    }

    private ManagedChannel admin() throws IOException {
        return channel(tls("admin.pem"), tls("admin.key"));
    }

    private static KeyServiceGrpc.KeyServiceBlockingStub keys(ManagedChannel channel) {
        return KeyServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    private static GenerateRequest generate(String name, KeyType type, OwnerKind kind, String owner) {
        return GenerateRequest.newBuilder().setSpec(KeySpec.newBuilder().setName(name).setType(type)
                .setAlgorithm("AES").setKeySize(256)
                .setOwner(Owner.newBuilder().setKind(kind).setId(owner))).build();
    }

    private static KeyId id(String name, int version) {
        return KeyId.newBuilder().setName(name).setVersion(version).build();
    }

    private static Status.Code code(Runnable call) {
        return assertThrows(StatusRuntimeException.class, call::run).getStatus().getCode();
    }

    @Test
    void theShippedRuntimeServesLoopbackOnlyWithTheCertificatesItCreated(TestInfo test) throws Exception {
        start(test);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(tls(""))));
        for (String file : List.of("ca.pem", "ca.key", "server.pem", "server.key", "admin.pem", "admin.key")) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(tls(file))), file);
        }
        assertEquals(Set.of("127.0.0.1"), listeningAddresses(port));

        KeyServiceGrpc.KeyServiceBlockingStub admin = keys(admin());
        KeyMetadata created = admin.generate(generate("orders", KeyType.KEY_TYPE_L3, OwnerKind.OWNER_KIND_TENANT,
                "acme"));
        assertEquals(id("orders", 1), created.getId());
        assertEquals(1, created.getRevision());
        assertEquals(32, admin.getMaterial(GetMaterialRequest.newBuilder().setId(id("orders", 1)).build())
                .getMaterial().size());
        KeyMetadata tagged = admin.setTags(SetTagsRequest.newBuilder().setId(id("orders", 1))
                .putTags("team", "billing").setExpectedRevision(1).build());
        assertEquals(2, tagged.getRevision());
        assertEquals(Status.Code.ABORTED, code(() -> admin.setTags(SetTagsRequest.newBuilder()
                .setId(id("orders", 1)).setExpectedRevision(1).build())));
        assertEquals(Status.Code.NOT_FOUND,
                code(() -> admin.getMetadata(GetMetadataRequest.newBuilder().setId(id("nosuch", 1)).build())));
        StatusRuntimeException invalid = assertThrows(StatusRuntimeException.class,
                () -> admin.generate(generate("", KeyType.KEY_TYPE_L3, OwnerKind.OWNER_KIND_TENANT, "acme")));
        assertEquals(Status.Code.INVALID_ARGUMENT, invalid.getStatus().getCode());
        assertTrue(invalid.getStatus().getDescription().contains("name"), invalid.getStatus().getDescription());
        assertEquals(1, admin.list(ListRequest.getDefaultInstance()).getKeysCount());

        ManagedChannel healthChannel = admin();
        // Health is refreshed every health.refresh.seconds: a runtime just started may not have
        // seen its backends yet, so each service gets a bounded wait to turn SERVING.
        for (String service : List.of("", "openkcm.keystore.v1.KeyService", "openkcm.keystore.backend.file",
                "openkcm.keystore.backend.memory")) {
            ServingStatus status = null;
            for (int attempt = 0; attempt < 60 && status != ServingStatus.SERVING; attempt++) {
                if (attempt > 0) {
                    Thread.sleep(500);
                }
                status = HealthGrpc.newBlockingStub(healthChannel).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus();
            }
            assertEquals(ServingStatus.SERVING, status, service);
        }
        assertEquals(1, admin.delete(DeleteRequest.newBuilder().setId(id("orders", 1)).build()).getDeleted());

        String audit = Files.readString(distribution.path("data/audit/audit.log"));
        assertTrue(audit.contains("\"caller\":\"CN=keystore-admin,O=OpenKCM Keystore\",\"channel\":\"grpc\","
                + "\"operation\":\"get\",\"keyId\":\"orders:1\",\"outcome\":\"ok\""), audit);
        assertFalse(audit.contains(ByteString.copyFromUtf8("material").toStringUtf8() + "\":"), audit);
    }

    @Test
    void aCallWithoutAValidClientCertificateIsUnauthenticatedAndChangesNothing(TestInfo test) throws Exception {
        start(test);
        ManagedChannel none = channel(null, null);
        assertEquals(Status.Code.UNAUTHENTICATED,
                code(() -> keys(none).generate(generate("k", KeyType.KEY_TYPE_L4, OwnerKind.OWNER_KIND_NODE, "n1"))));
        assertEquals(Status.Code.UNAUTHENTICATED, code(() -> HealthGrpc.newBlockingStub(none)
                .withDeadlineAfter(10, TimeUnit.SECONDS).check(HealthCheckRequest.getDefaultInstance())));

        Path other = distribution.path("other-ca");
        OtherCertificateAuthority.writeClient(other, "CN=keystore-admin,O=OpenKCM Keystore");
        ManagedChannel impostor = channel(other.resolve("impostor.pem"), other.resolve("impostor.key"));
        assertEquals(Status.Code.UNAUTHENTICATED,
                code(() -> keys(impostor).generate(generate("k", KeyType.KEY_TYPE_L4, OwnerKind.OWNER_KIND_NODE,
                        "n1"))));
        assertEquals(Status.Code.UNAUTHENTICATED,
                code(() -> AdminServiceGrpc.newBlockingStub(impostor).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .listBackends(ListBackendsRequest.getDefaultInstance())));

        assertEquals(0, keys(admin()).list(ListRequest.getDefaultInstance()).getKeysCount());
    }

    @Test
    void anApplicationGetsOnlyWhatItsGrantAllowsAndARefusalChangesNothing(TestInfo test) throws Exception {
        start(test);
        String issued = runtime.shell(
                "keystore:grpcclient --owners 'tenant:acme-*' --tiers L3 --classes metadata orders-app", COMMAND);
        assertTrue(issued.contains("issued"), issued);
        Path certificate = tls("clients/orders-app.pem");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(
                tls("clients/orders-app.key"))));

        KeyServiceGrpc.KeyServiceBlockingStub admin = keys(admin());
        admin.generate(generate("eu", KeyType.KEY_TYPE_L3, OwnerKind.OWNER_KIND_TENANT, "acme-eu"));
        admin.generate(generate("eu-root", KeyType.KEY_TYPE_L2, OwnerKind.OWNER_KIND_TENANT, "acme-eu"));
        admin.generate(generate("beta", KeyType.KEY_TYPE_L3, OwnerKind.OWNER_KIND_TENANT, "beta"));

        KeyServiceGrpc.KeyServiceBlockingStub app = keys(channel(certificate, tls("clients/orders-app.key")));
        // FileInstall applies the grant file the command wrote within its poll interval
        Distribution.eventually(COMMAND, () -> {
            try {
                assertEquals(id("eu", 1), app.getMetadata(GetMetadataRequest.newBuilder().setId(id("eu", 1)).build())
                        .getId());
            } catch (StatusRuntimeException notYet) {
                throw new AssertionError(notYet.getStatus().toString(), notYet);
            }
        });

        assertEquals(Status.Code.PERMISSION_DENIED,
                code(() -> app.getMaterial(GetMaterialRequest.newBuilder().setId(id("eu", 1)).build())));
        assertEquals(Status.Code.PERMISSION_DENIED,
                code(() -> app.getMetadata(GetMetadataRequest.newBuilder().setId(id("beta", 1)).build())),
                "another tenant");
        assertEquals(Status.Code.PERMISSION_DENIED,
                code(() -> app.getMetadata(GetMetadataRequest.newBuilder().setId(id("eu-root", 1)).build())),
                "another tier");
        assertEquals(Status.Code.PERMISSION_DENIED,
                code(() -> app.generate(generate("new", KeyType.KEY_TYPE_L3, OwnerKind.OWNER_KIND_TENANT, "acme-eu"))));
        assertEquals(Status.Code.NOT_FOUND,
                code(() -> admin.getMetadata(GetMetadataRequest.newBuilder().setId(id("new", 1)).build())));
        assertEquals(Status.Code.PERMISSION_DENIED, code(() -> app.setTags(SetTagsRequest.newBuilder()
                .setId(id("eu", 1)).putTags("x", "y").setExpectedRevision(1).build())));
        assertEquals(1, admin.getMetadata(GetMetadataRequest.newBuilder().setId(id("eu", 1)).build()).getRevision());
        assertEquals(Status.Code.PERMISSION_DENIED, code(() -> app.import_(ImportRequest.newBuilder()
                .setSpec(generate("imported", KeyType.KEY_TYPE_L3, OwnerKind.OWNER_KIND_TENANT, "acme-eu").getSpec())
                .setMaterial(ByteString.copyFrom(new byte[32])).build())));
        assertEquals(Status.Code.PERMISSION_DENIED, code(() -> AdminServiceGrpc.newBlockingStub(app.getChannel())
                .withDeadlineAfter(10, TimeUnit.SECONDS).listBackends(ListBackendsRequest.getDefaultInstance())));

        List<KeyId> visible = app.list(ListRequest.newBuilder().setFilter(KeyFilter.newBuilder().setPageSize(1))
                .build()).getKeysList().stream().map(KeyMetadata::getId).toList();
        assertEquals(List.of(id("eu", 1)), visible);
        assertEquals(3, admin.list(ListRequest.getDefaultInstance()).getKeysCount());

        String audit = Files.readString(distribution.path("data/audit/audit.log"));
        assertTrue(audit.contains("\"caller\":\"CN=orders-app,O=OpenKCM Keystore clients\",\"channel\":\"grpc\","
                + "\"operation\":\"get\",\"keyId\":\"eu:1\",\"outcome\":\"denied\""), audit);
    }

    /**
     * Several clients call without pause while the server's configuration changes (its maximum
     * message size). The server drains and restarts with the new configuration. Precisely: every
     * call either succeeds or fails UNAVAILABLE (refused while draining, or no listener during the
     * restart); no call fails with any other status or runs into its deadline; calls succeed before
     * the change and again after it; and the new configuration is in force afterwards (a message
     * above the new bound is refused RESOURCE_EXHAUSTED, which it was not before).
     */
    @Test
    void aReconfigurationUnderLoadDrainsAndNothingFailsButUnavailable(TestInfo test) throws Exception {
        start(test);
        KeyServiceGrpc.KeyServiceBlockingStub admin = keys(admin());
        admin.generate(generate("loaded", KeyType.KEY_TYPE_L4, OwnerKind.OWNER_KIND_NODE, "n1"));
        ImportRequest big = ImportRequest.newBuilder()
                .setSpec(generate("big", KeyType.KEY_TYPE_L4, OwnerKind.OWNER_KIND_NODE, "n1").getSpec())
                .setMaterial(ByteString.copyFrom(new byte[64 * 1024])).build();
        assertTrue(code(() -> admin.import_(big)) != Status.Code.RESOURCE_EXHAUSTED, "64 KiB is within 4 MiB");

        AtomicBoolean running = new AtomicBoolean(true);
        AtomicBoolean changed = new AtomicBoolean(false);
        AtomicLong okBefore = new AtomicLong();
        AtomicLong okAfter = new AtomicLong();
        AtomicInteger unavailable = new AtomicInteger();
        Map<String, Integer> unexpected = new ConcurrentHashMap<>();
        List<Thread> clients = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            ManagedChannel channel = admin();
            Thread client = new Thread(() -> {
                while (running.get()) {
                    try {
                        KeyServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
                                .getMaterial(GetMaterialRequest.newBuilder().setId(id("loaded", 1)).build());
                        (changed.get() ? okAfter : okBefore).incrementAndGet();
                    } catch (StatusRuntimeException e) {
                        if (e.getStatus().getCode() == Status.Code.UNAVAILABLE) {
                            unavailable.incrementAndGet();
                        } else {
                            unexpected.merge(e.getStatus().getCode() + ": " + e.getStatus().getDescription(), 1,
                                    Integer::sum);
                        }
                    }
                }
            });
            client.start();
            clients.add(client);
        }
        Distribution.eventually(COMMAND, () -> assertTrue(okBefore.get() >= 50, "calls before: " + okBefore));

        Path config = distribution.path("config/org.openkcm.keystore.grpc.cfg");
        Files.writeString(config, Files.readString(config) + "max.message.size = I\"16384\"\n");
        changed.set(true);
        Distribution.eventually(COMMAND, () -> assertEquals(Status.Code.RESOURCE_EXHAUSTED,
                code(() -> keys(channels.get(0)).import_(big)), "the new bound in force"));
        long okAtRestart = okAfter.get();
        Distribution.eventually(COMMAND, () -> assertTrue(okAfter.get() >= okAtRestart + 50,
                "calls after the restart: " + okAfter));
        running.set(false);
        for (Thread client : clients) {
            client.join(30_000);
        }

        assertEquals(Map.of(), unexpected, "failures other than UNAVAILABLE");
        assertTrue(okBefore.get() >= 50 && okAfter.get() >= okAtRestart + 50,
                "before " + okBefore + ", after " + okAfter + ", unavailable " + unavailable);
    }

    /** The local addresses on which something listens on the port, from the kernel's socket tables. */
    private static Set<String> listeningAddresses(int port) throws IOException {
        Set<String> addresses = new TreeSet<>();
        String hexPort = String.format(":%04X", port);
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            for (String line : Files.readAllLines(Path.of(table))) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 3 && f[1].endsWith(hexPort) && f[3].equals("0A")) {
                    addresses.add(address(f[1].substring(0, f[1].indexOf(':'))));
                }
            }
        }
        return addresses;
    }

    /** 0100007F → 127.0.0.1; an IPv4-mapped IPv6 address the same way; any other IPv6 as its hex. */
    private static String address(String hex) {
        String v4 = hex.length() == 8 ? hex : hex.startsWith("0000000000000000FFFF0000") ? hex.substring(24) : null;
        if (v4 == null) {
            return hex;
        }
        return Integer.parseInt(v4.substring(6, 8), 16) + "." + Integer.parseInt(v4.substring(4, 6), 16) + "."
                + Integer.parseInt(v4.substring(2, 4), 16) + "." + Integer.parseInt(v4.substring(0, 2), 16);
    }
}
