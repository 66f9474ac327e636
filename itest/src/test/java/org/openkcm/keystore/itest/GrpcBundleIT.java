package org.openkcm.keystore.itest;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.options;

import java.lang.reflect.Method;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.KeystoreException;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.UnavailableException;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.osgi.framework.Bundle;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

/**
 * The grpc bundle in a real Felix framework, beside the core and the in-memory backend: it resolves
 * without any {@code io.grpc} or protobuf import (all embedded), serves over mutual TLS with the
 * certificates it generates, and the grpc bundle's own client component ({@code RemoteKeystore}),
 * configured in the same framework, reaches it over loopback: with the admin certificate it
 * generates and reads a key; with a certificate granted one tenant, another tenant's key is
 * refused as not granted (PERMISSION_DENIED) and nothing is created.
 * The server audits those calls in the framework's audit log. A ConfigAdmin update of the server's
 * PID to another port rebinds it: the old port stops
 * answering and the new one serves.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class GrpcBundleIT extends RoutingTestSupport {
    private static final String SERVER_PID = "org.openkcm.keystore.grpc";
    private static final String GRANT_PID = "org.openkcm.keystore.grpc.client";
    private static final String REMOTE_PID = "org.openkcm.keystore.grpc.remote";
    private static final String GRPC_BSN = "org.openkcm.keystore.grpc";

    @Configuration
    public Option[] configuration() {
        return options(routingConfiguration(), buildBundle("log"), buildBundle("jackson-core"),
                buildBundle("audit"), buildBundle("bcprov"), buildBundle("bcutil"), buildBundle("bcpkix"),
                buildBundle("grpc"));
    }

    private static int freePort() throws Exception {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return probe.getLocalPort();
        }
    }

    private Path serve(Path tls, int port) throws Exception {
        Map<String, Object> server = new HashMap<>();
        server.put("address", "127.0.0.1");
        server.put("port", port);
        server.put("tls.directory", tls.toString());
        org.osgi.service.cm.Configuration c = configurationAdmin.getConfiguration(SERVER_PID, "?");
        c.update(dictionary(server));
        awaitCondition("the server's admin certificate in " + tls, () -> Files.isRegularFile(tls.resolve("admin.key")));
        awaitListening(port);
        return tls;
    }

    private void grant(String name, String subject, String... owners) throws Exception {
        org.osgi.service.cm.Configuration c = configurationAdmin.getFactoryConfiguration(GRANT_PID, name, "?");
        c.update(dictionary(Map.of("subject", subject, "owners", owners, "tiers", new String[] {"L2", "L3", "L4"},
                "classes", new String[] {"material", "metadata", "lifecycle", "admin"})));
    }

    /**
     * The grpc bundle's client, (re)configured to the server with the certificate given: its
     * KeystoreOperations, once the registration of any earlier configuration is replaced.
     */
    private KeystoreOperations remote(int port, Path tls, String certificate, String key) throws Exception {
        String filter = "(openkcm.keystore.remote=127.0.0.1:" + port + ")";
        ServiceReference<?> earlier = first(KeystoreOperations.class.getName(), filter);
        org.osgi.service.cm.Configuration c = configurationAdmin.getConfiguration(REMOTE_PID, "?");
        c.update(dictionary(Map.of("target", "127.0.0.1:" + port, "tls.directory", tls.toString(),
                "tls.certificate", certificate, "tls.key", key, "connect.timeout.seconds", 60)));
        // connecting includes a TLS handshake and a health call: longer than a local registration
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (true) {
            ServiceReference<?> now = first(KeystoreOperations.class.getName(), filter);
            if (now != null && !now.equals(earlier)) {
                break;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no client of " + certificate + " registered: " + remoteFailures());
            }
            Thread.sleep(100);
        }
        @SuppressWarnings("unchecked")
        ServiceReference<KeystoreOperations> reference =
                (ServiceReference<KeystoreOperations>) first(KeystoreOperations.class.getName(), filter);
        return awaitService(reference);
    }

    /** Why the client component is not active, as Declarative Services says. */
    private String remoteFailures() {
        StringBuilder why = new StringBuilder();
        for (ComponentDescriptionDTO description : serviceComponentRuntime.getComponentDescriptionDTOs()) {
            if (description.name.equals(REMOTE_PID)) {
                for (ComponentConfigurationDTO c : serviceComponentRuntime.getComponentConfigurationDTOs(description)) {
                    why.append("state ").append(c.state).append(": ").append(c.failure).append("; ");
                }
            }
        }
        return why.length() == 0 ? "no configuration of " + REMOTE_PID : why.toString();
    }

    private ServiceReference<?> first(String type, String filter) {
        try {
            ServiceReference<?>[] found = bundleContext.getAllServiceReferences(type, filter);
            return found == null ? null : found[0];
        } catch (org.osgi.framework.InvalidSyntaxException e) {
            throw new IllegalArgumentException(filter, e);
        }
    }

    private static byte[] read(KeystoreOperations ops, KeyId id) {
        try (KeyMaterial m = ops.get(id)) {
            return m.copyBytes();
        }
    }

    @Test
    public void theBundleServesOverMutualTlsAndAuthorizesEachCaller() throws Exception {
        Bundle grpc = installedBundle(GRPC_BSN);
        assertEquals(Bundle.ACTIVE, grpc.getState());
        String imports = grpc.getHeaders().get("Import-Package");
        assertFalse(imports, imports.contains("io.grpc") || imports.contains("com.google.protobuf")
                || imports.contains("io.netty"));

        memoryBackend("memory", 0);
        KeystoreOperations local = operations();
        Path audit = Files.createTempDirectory("grpc-it-audit-");
        configurationAdmin.getConfiguration("org.openkcm.keystore.audit", "?")
                .update(dictionary(Map.of("directory", audit.toString())));
        int port = freePort();
        Path tls = serve(Files.createTempDirectory("grpc-it-").resolve("tls"), port);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(tls)));
        for (String file : List.of("ca.key", "server.key", "admin.key")) {
            assertEquals(file, "rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(tls.resolve(file))));
        }
        grant("admin", "CN=keystore-admin,O=OpenKCM Keystore", "*");
        grant("acme", "CN=acme-app,O=OpenKCM Keystore clients", "tenant:acme");

        // the admin certificate: generate and read over gRPC; the core holds the key
        KeystoreOperations admin = remote(port, tls, "admin.pem", "admin.key");
        KeyMetadata created = awaitGenerate(admin, "g1", Owner.tenant("globex"));
        assertArrayEquals(read(local, created.id()), read(admin, created.id()));
        assertEquals(created, local.metadata(created.id()));

        // a certificate granted tenant acme only (issued by the server's CA): acme's keys, not globex's
        awaitCondition("keystore:grpcclient", () -> first(null, "(osgi.command.function=grpcclient)") != null);
        Object command = awaitService(first(null, "(osgi.command.function=grpcclient)"));
        Method issue = command.getClass().getMethod("grpcclient", String.class, String.class, String.class, String.class);
        assertTrue(String.valueOf(issue.invoke(command, "tenant:acme", "L2,L3,L4", "material,metadata,lifecycle",
                "acme-app")).startsWith("issued "));
        KeystoreOperations acme = remote(port, tls, "clients/acme-app.pem", "clients/acme-app.key");
        KeyMetadata own = awaitGenerate(acme, "a1", Owner.tenant("acme"));
        assertEquals(Owner.tenant("acme"), own.owner());
        KeystoreException refused = assertThrows(KeystoreException.class,
                () -> acme.generate(spec("g2", KeyType.L4, Owner.tenant("globex"), null)));
        assertTrue(refused.getMessage(), refused.getMessage().startsWith("not granted by the keystore daemon"));
        KeystoreException notGranted = assertThrows(KeystoreException.class, () -> acme.get(created.id()));
        assertTrue(notGranted.getMessage(), notGranted.getMessage().startsWith("not granted by the keystore daemon"));
        assertFalse("the refused generate created nothing", local.list(org.openkcm.keystore.api.KeyFilter.all()).keys()
                .stream().anyMatch(m -> m.id().name().equals("g2")));

        // the server audited through the framework's audit log, not the client component's (which records nothing)
        String lines = Files.readString(audit.resolve("audit.log"));
        assertTrue(lines, lines.contains("\"caller\":\"CN=keystore-admin,O=OpenKCM Keystore\",\"channel\":\"grpc\","
                + "\"operation\":\"get\",\"keyId\":\"" + created.id() + "\",\"outcome\":\"ok\""));
        assertTrue(lines, lines.lines().anyMatch(l -> l.contains("\"caller\":\"CN=acme-app,O=OpenKCM Keystore clients\","
                + "\"channel\":\"grpc\",\"operation\":\"generate\"") && l.contains("\"outcome\":\"denied\"")));

    }

    @Test
    public void aConfigAdminUpdateRebindsTheServer() throws Exception {
        memoryBackend("memory", 0);
        KeystoreOperations local = operations();
        int first = freePort();
        Path tls = serve(Files.createTempDirectory("grpc-it-").resolve("tls"), first);
        grant("admin", "CN=keystore-admin,O=OpenKCM Keystore", "*");
        KeystoreOperations before = remote(first, tls, "admin.pem", "admin.key");
        KeyMetadata k = awaitGenerate(before, "r1", Owner.tenant("acme"));

        int second = freePort();
        Map<String, Object> moved = new HashMap<>();
        moved.put("address", "127.0.0.1");
        moved.put("port", second);
        moved.put("tls.directory", tls.toString());
        configurationAdmin.getConfiguration(SERVER_PID, "?").update(dictionary(moved));
        awaitListening(second);
        awaitCondition("the old port " + first + " closed", () -> !listening(first));
        assertThrows(UnavailableException.class, () -> before.metadata(k.id()));

        KeystoreOperations after = remote(second, tls, "admin.pem", "admin.key");
        assertEquals(local.metadata(k.id()), after.metadata(k.id()));
        assertArrayEquals(read(local, k.id()), read(after, k.id()));
    }

    /** Waits (bounded, generously: a first start loads Netty and Bouncy Castle) until the server listens. */
    private static void awaitListening(int port) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (!listening(port)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("nothing listens on port " + port);
            }
            Thread.sleep(100);
        }
    }

    private static boolean listening(int port) {
        try (java.net.Socket socket = new java.net.Socket()) {
            socket.connect(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
            return true;
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /** Generates through the client, waiting (bounded) for the route and grants to arrive through ConfigAdmin. */
    private static KeyMetadata awaitGenerate(KeystoreOperations ops, String name, Owner owner) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000L * 3;
        while (true) {
            try {
                return ops.generate(spec(name, KeyType.L4, owner, null));
            } catch (KeystoreException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }
}
