package org.openkcm.keystore.features;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestInstance.Lifecycle;
import org.openkcm.keystore.grpc.v1.GenerateRequest;
import org.openkcm.keystore.grpc.v1.GetMaterialRequest;
import org.openkcm.keystore.grpc.v1.GetMetadataRequest;
import org.openkcm.keystore.grpc.v1.KeyId;
import org.openkcm.keystore.grpc.v1.KeyMetadata;
import org.openkcm.keystore.grpc.v1.KeyServiceGrpc;
import org.openkcm.keystore.grpc.v1.KeySpec;
import org.openkcm.keystore.grpc.v1.KeyType;
import org.openkcm.keystore.grpc.v1.ListRequest;
import org.openkcm.keystore.grpc.v1.Owner;
import org.openkcm.keystore.grpc.v1.OwnerKind;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;

/**
 * The {@code openkcm-keystore-grpc} feature in a stock Apache Karaf 4.4.x (see {@link KarafFeaturesIT}):
 * {@code feature:install} brings up the gRPC server with the configuration the feature ships (its
 * port only moved to a free one), the server creates its certificates under
 * {@code ${karaf.data}/openkcm/tls} owner-only, and a grpc-java client outside Karaf reaches it over
 * mutual TLS with the admin certificate: it generates and reads a key that Karaf's own
 * {@code keystore:list} then shows. Without a client certificate a call is UNAUTHENTICATED; a
 * certificate whose grant does not cover an owner is PERMISSION_DENIED.
 */
@TestInstance(Lifecycle.PER_CLASS)
class KarafGrpcFeatureIT {

    private static final String GROUP = "org.openkcm.keystore";
    private static final String GRPC = GROUP + ".grpc";
    private static final Duration READY = Duration.ofSeconds(300);
    private static final Duration SETTLE = Duration.ofSeconds(60);

    private final String version = property("project.version");
    private Karaf karaf;
    private ManagedChannel channel;

    @BeforeAll
    void startKaraf() throws Exception {
        Path staged = Path.of(property("karaf.repo.dir"));
        Path features = Path.of(property("features.file"));
        Path dir = staged.resolve(GROUP.replace('.', '/')).resolve("features").resolve(version);
        Files.createDirectories(dir);
        Files.copy(features, dir.resolve("features-" + version + "-features.xml"), StandardCopyOption.REPLACE_EXISTING);
        karaf = Karaf.prepare(Path.of(property("karaf.home")), staged, Path.of(property("maven.local.repository")));
        karaf.start();
        karaf.awaitReady(READY);
    }

    @AfterAll
    void stopKaraf() throws Exception {
        if (channel != null) {
            channel.shutdownNow();
        }
        if (karaf != null) {
            karaf.close();
        }
    }

    /** The server configuration the feature ships, verbatim but for its port (tests never take a fixed one). */
    private String shippedServerConfig(int port) throws Exception {
        String xml = Files.readString(Path.of(property("features.file")), UTF_8);
        Matcher config = Pattern.compile("<config name=\"" + Pattern.quote(GRPC) + "\">(.*?)</config>", Pattern.DOTALL)
                .matcher(xml);
        assertTrue(config.find(), "the grpc feature ships " + GRPC);
        String text = config.group(1).strip().replaceAll("(?m)^\\s+", "");
        assertTrue(text.contains("port = I\"7443\"") && text.contains("tls.directory = \"${karaf.data}/openkcm/tls\""),
                text);
        return text.replace("port = I\"7443\"", "port = I\"" + port + "\"") + "\n";
    }

    private ManagedChannel channel(Path tls, int port, boolean admin) throws Exception {
        SslContextBuilder context = GrpcSslContexts.forClient().trustManager(tls.resolve("ca.pem").toFile());
        if (admin) {
            context.keyManager(tls.resolve("admin.pem").toFile(), tls.resolve("admin.key").toFile());
        }
        return NettyChannelBuilder.forAddress("127.0.0.1", port).sslContext(context.build()).build();
    }

    private static KeyServiceGrpc.KeyServiceBlockingStub keys(ManagedChannel channel) {
        return KeyServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    private static GenerateRequest generate(String name, String tenant) {
        return GenerateRequest.newBuilder().setSpec(KeySpec.newBuilder().setName(name).setType(KeyType.KEY_TYPE_L4)
                .setAlgorithm("AES").setKeySize(256)
                .setOwner(Owner.newBuilder().setKind(OwnerKind.OWNER_KIND_TENANT).setId(tenant))).build();
    }

    @Test
    void theGrpcFeatureServesOverMutualTlsWithTheCertificatesItCreates() throws Exception {
        int port = freePort();
        // Before the install: Karaf then keeps this file and writes the feature's other configurations.
        Files.writeString(karaf.etc().resolve(GRPC + ".cfg"), shippedServerConfig(port), UTF_8);
        karaf.ok("feature:repo-add mvn:" + GROUP + "/features/" + version + "/xml/features");
        // on a loaded machine the install may outlast one bin/client call: it goes on in Karaf, so wait for its end
        Karaf.Result install = karaf.run("feature:install openkcm-keystore openkcm-keystore-memory openkcm-keystore-grpc");
        assertFalse(install.output().startsWith("Error executing command"), install::toString);
        karaf.await("feature:list -i", out -> Pattern.compile("(?m)^openkcm-keystore-grpc\\s").matcher(out).find(),
                READY, "the grpc feature installed");

        karaf.await("bundle:list -s", out -> Pattern.compile("(?m)Active.*\\b" + Pattern.quote(GRPC) + "\\s*$")
                .matcher(out.replace('│', ' ')).find(), SETTLE, "the grpc bundle active");
        assertTrue(Files.readString(karaf.etc().resolve(GRPC + ".client-admin.cfg"), UTF_8)
                .contains("CN=keystore-admin,O=OpenKCM Keystore"), "the feature writes the admin grant to etc/");
        Path grpcJar = Path.of(property("karaf.repo.dir")).resolve(GROUP.replace('.', '/')).resolve("grpc").resolve(version)
                .resolve("grpc-" + version + ".jar");
        try (JarFile jar = new JarFile(grpcJar.toFile())) {
            String imports = jar.getManifest().getMainAttributes().getValue("Import-Package");
            assertFalse(imports.contains("io.grpc") || imports.contains("com.google.protobuf"), imports);
        }

        Path tls = karaf.home().resolve("data/openkcm/tls");
        long deadline = System.nanoTime() + SETTLE.toNanos();
        while (!Files.isRegularFile(tls.resolve("admin.key")) && System.nanoTime() < deadline) {
            Thread.sleep(250);
        }
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(tls)));
        for (String file : List.of("ca.pem", "ca.key", "server.pem", "server.key", "admin.pem", "admin.key")) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(tls.resolve(file))), file);
        }

        channel = channel(tls, port, true);
        KeyServiceGrpc.KeyServiceBlockingStub admin = keys(channel);
        KeyMetadata created = null;
        for (int attempt = 0; created == null; attempt++) {
            try {
                created = admin.generate(generate("karaf-k1", "acme"));
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() == Status.Code.ALREADY_EXISTS) {
                    // an earlier attempt ran out of its deadline on a loaded machine but was done
                    created = keys(channel).getMetadata(GetMetadataRequest.newBuilder()
                            .setId(KeyId.newBuilder().setName("karaf-k1").setVersion(1)).build());
                    break;
                }
                // the memory backend may register a moment after the server listens
                if (attempt > 100 || e.getStatus().getCode() == Status.Code.UNAUTHENTICATED) {
                    throw e;
                }
                Thread.sleep(300);
                admin = keys(channel);
            }
        }
        KeyId id = created.getId();
        assertEquals("karaf-k1", id.getName());
        assertEquals(32, keys(channel).getMaterial(GetMaterialRequest.newBuilder().setId(id).build()).getMaterial().size());
        assertEquals(1, keys(channel).list(ListRequest.getDefaultInstance()).getKeysCount());
        String listed = karaf.ok("echo (keystore:list)");
        assertTrue(listed.contains("karaf-k1:1") && listed.contains("tenant/acme"), listed);

        // no certificate: refused before anything runs
        ManagedChannel anonymous = channel(tls, port, false);
        try {
            StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
                    () -> keys(anonymous).generate(generate("karaf-k2", "acme")));
            assertEquals(Status.Code.UNAUTHENTICATED, refused.getStatus().getCode(), refused.toString());
        } finally {
            anonymous.shutdownNow();
        }

        // a certificate granted tenant:acme only, issued in Karaf's shell: another tenant's key is refused
        String issued = karaf.ok("echo (keystore:grpcclient --owners tenant:acme --classes material,metadata,lifecycle orders)");
        assertTrue(issued.contains("issued "), issued);
        Path clients = tls.resolve("clients");
        SslContextBuilder orders = GrpcSslContexts.forClient().trustManager(tls.resolve("ca.pem").toFile())
                .keyManager(clients.resolve("orders.pem").toFile(), clients.resolve("orders.key").toFile());
        ManagedChannel app = NettyChannelBuilder.forAddress("127.0.0.1", port).sslContext(orders.build()).build();
        try {
            Status.Code code = null;
            for (int attempt = 0; attempt < 100; attempt++) {
                // the grant arrives through etc/ and ConfigAdmin: until then the certificate is granted nothing
                try {
                    keys(app).generate(generate("orders-k" + attempt, "acme"));
                    code = Status.Code.OK;
                    break;
                } catch (StatusRuntimeException e) {
                    code = e.getStatus().getCode();
                    Thread.sleep(300);
                }
            }
            assertEquals(Status.Code.OK, code, "the granted tenant");
            StatusRuntimeException denied = assertThrows(StatusRuntimeException.class,
                    () -> keys(app).generate(generate("other-k1", "globex")));
            assertEquals(Status.Code.PERMISSION_DENIED, denied.getStatus().getCode(), denied.toString());
        } finally {
            app.shutdownNow();
        }
        assertFalse(karaf.ok("echo (keystore:list)").contains("other-k1"), "the refused call changed nothing");
    }

    private static int freePort() throws Exception {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static String property(String name) {
        String value = System.getProperty(name);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("system property " + name + " is not set (failsafe sets it in features/pom.xml)");
        }
        return value;
    }
}
