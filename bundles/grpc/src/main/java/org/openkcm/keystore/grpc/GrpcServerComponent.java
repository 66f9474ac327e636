package org.openkcm.keystore.grpc;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.X509TrustManager;

import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.audit.AuditLog;
import org.openkcm.keystore.grpc.v1.AdminServiceGrpc;
import org.openkcm.keystore.grpc.v1.KeyServiceGrpc;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;

/**
 * The gRPC server: KeyService and AdminService over the keystore's {@link KeystoreOperations} and
 * {@link KeystoreAdministration}, gRPC health and server reflection, on one TLS port that requires
 * a client certificate of the client CA for every call.
 * <p>
 * A new configuration (or stopping the bundle) deactivates it: new calls are answered UNAVAILABLE
 * at once, calls in flight have up to the drain time to finish, then the server stops and, with a
 * new configuration, starts again.
 */
@Component(name = GrpcServerComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE, immediate = true,
        service = GrpcServerComponent.class)
@Designate(ocd = GrpcServerComponent.Config.class)
public final class GrpcServerComponent {
    public static final String PID = "org.openkcm.keystore.grpc";
    public static final int DEFAULT_PORT = 7443;

    @ObjectClassDefinition(name = "OpenKCM Keystore: gRPC server",
            description = "Serves openkcm.keystore.v1 (KeyService, AdminService), gRPC health and reflection over"
                    + " mutual TLS.")
    public @interface Config {
        @AttributeDefinition(name = "Listen address",
                description = "The address to listen on; the default is loopback only.")
        String address() default "127.0.0.1";

        @AttributeDefinition(name = "Port", description = "The TCP port (0 picks a free one).")
        int port() default DEFAULT_PORT;

        @AttributeDefinition(name = "TLS folder", required = false,
                description = "Where the local CA, the server and the admin certificates live; created on first start"
                        + " when 'Create local certificates' is on. Empty: <openkcm.home>/data/tls, or the bundle's"
                        + " data area.")
        String tls_directory() default "";

        @AttributeDefinition(name = "Create local certificates",
                description = "On first start, create a local CA, a loopback server certificate and an admin client"
                        + " certificate in the TLS folder (used only where the files below are left empty).")
        boolean tls_generate() default true;

        @AttributeDefinition(name = "Server certificate", required = false,
                description = "PEM certificate chain; empty: server.pem in the TLS folder.")
        String tls_certificate() default "";

        @AttributeDefinition(name = "Server key", required = false,
                description = "PEM PKCS#8 private key; empty: server.key in the TLS folder.")
        String tls_key() default "";

        @AttributeDefinition(name = "Client CA", required = false,
                description = "PEM certificates of the CAs whose client certificates are accepted; empty: ca.pem in"
                        + " the TLS folder.")
        String tls_client_ca() default "";

        @AttributeDefinition(name = "Max message size (bytes)")
        int max_message_size() default 4 * 1024 * 1024;

        @AttributeDefinition(name = "Max concurrent calls",
                description = "Calls in flight beyond this are answered RESOURCE_EXHAUSTED.")
        int max_concurrent_calls() default 256;

        @AttributeDefinition(name = "Keepalive time (seconds)",
                description = "Ping an idle connection after this long.")
        int keepalive_time_seconds() default 60;

        @AttributeDefinition(name = "Keepalive timeout (seconds)",
                description = "Close a connection whose ping is not answered within this.")
        int keepalive_timeout_seconds() default 20;

        @AttributeDefinition(name = "Minimum client keepalive (seconds)",
                description = "Clients pinging more often are disconnected.")
        int keepalive_min_client_seconds() default 10;

        @AttributeDefinition(name = "Drain time (seconds)",
                description = "On stop or reconfiguration, how long calls in flight may take to finish.")
        int drain_seconds() default 10;

        @AttributeDefinition(name = "Health refresh (seconds)")
        int health_refresh_seconds() default 2;
    }

    /** The keystore's own services, never those of another daemon reached over gRPC ({@link RemoteKeystore}). */
    static final String LOCAL = "(!(" + RemoteKeystore.REMOTE_PROPERTY + "=*))";
    /** In {@code <openkcm.home>/data/}: where this server listens and its TLS folder, for {@code bin/keystore -c}. */
    static final String ENDPOINT_FILE = "grpc.endpoint";

    @Reference(target = LOCAL)
    private KeystoreOperations operations;

    @Reference(target = LOCAL)
    private KeystoreAdministration administration;

    @Reference(service = LoggerFactory.class, cardinality = ReferenceCardinality.OPTIONAL)
    private Logger logger;

    /**
     * The local audit log only: a client component of this bundle in the same framework registers
     * one that records nothing (its daemon keeps the records), which must never satisfy this one.
     */
    @Reference(target = LOCAL, cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile AuditLog auditLog;

    private final List<ClientGrantComponent> grants = new CopyOnWriteArrayList<>();

    private Path tlsFolder;
    private Path endpointFile;
    private int drainSeconds;
    private DrainGate gate;
    private HealthReporter health;
    private Server server;
    private EventLoopGroup boss;
    private EventLoopGroup workers;
    private ExecutorService calls;
    private ScheduledExecutorService healthRefresh;

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void addGrant(ClientGrantComponent grant) {
        grants.add(grant);
    }

    void removeGrant(ClientGrantComponent grant) {
        grants.remove(grant);
    }

    @Activate
    void activate(BundleContext context, Config config) throws IOException, GeneralSecurityException {
        InetAddress address = address(config.address());
        require(config.port() >= 0 && config.port() <= 65535, "port", "must be 0 to 65535");
        require(config.max_message_size() >= 1024, "max.message.size", "must be at least 1024");
        require(config.max_concurrent_calls() >= 1, "max.concurrent.calls", "must be at least 1");
        require(config.keepalive_time_seconds() >= 1, "keepalive.time.seconds", "must be at least 1");
        require(config.keepalive_timeout_seconds() >= 1, "keepalive.timeout.seconds", "must be at least 1");
        require(config.keepalive_min_client_seconds() >= 1, "keepalive.min.client.seconds", "must be at least 1");
        require(config.drain_seconds() >= 0, "drain.seconds", "must not be negative");
        require(config.health_refresh_seconds() >= 1, "health.refresh.seconds", "must be at least 1");

        tlsFolder = tlsFolder(context, config.tls_directory());
        boolean defaults = config.tls_certificate().isBlank() && config.tls_key().isBlank()
                && config.tls_client_ca().isBlank();
        if (defaults && config.tls_generate()) {
            LocalCertificateAuthority.openOrCreate(tlsFolder);
        }
        Path certificate = file(config.tls_certificate(), LocalCertificateAuthority.SERVER_CERTIFICATE);
        Path key = file(config.tls_key(), LocalCertificateAuthority.SERVER_KEY);
        Path clientCa = file(config.tls_client_ca(), LocalCertificateAuthority.CA_CERTIFICATE);
        for (Path p : List.of(certificate, key, clientCa)) {
            if (!Files.isReadable(p)) {
                throw new IOException("gRPC server not started: cannot read " + p);
            }
        }
        List<X509Certificate> clientCas = LocalCertificateAuthority.readCertificates(clientCa);
        // The JDK's TLS (no native OpenSSL): nothing to load from the bundle's native code.
        // Read through the bounded reader (regular files, capped), not by the TLS library from the paths.
        SslContext tls = GrpcSslContexts.configure(SslContextBuilder.forServer(
                new java.io.ByteArrayInputStream(LocalCertificateAuthority.readPem(certificate)),
                new java.io.ByteArrayInputStream(LocalCertificateAuthority.readPem(key))),
                SslProvider.JDK).trustManager(new ClientCaHint(clientCas)).clientAuth(ClientAuth.OPTIONAL).build();

        drainSeconds = config.drain_seconds();
        gate = new DrainGate(config.max_concurrent_calls());
        GrpcAudit audit = new GrpcAudit(() -> auditLog, Clock.systemUTC());
        ClientAuthentication authentication = new ClientAuthentication(clientCas,
                () -> grants.stream().map(ClientGrantComponent::grant).toList());
        HealthStatusManager healthStatus = new HealthStatusManager();
        health = new HealthReporter(administration,
                List.of(KeyServiceGrpc.SERVICE_NAME, AdminServiceGrpc.SERVICE_NAME), healthStatus::setStatus);

        boss = new NioEventLoopGroup(1, threads("openkcm-grpc-accept"));
        workers = new NioEventLoopGroup(2, threads("openkcm-grpc-io"));
        calls = Executors.newCachedThreadPool(threads("openkcm-grpc-call"));
        Server built = NettyServerBuilder.forAddress(new InetSocketAddress(address, config.port()))
                .channelType(NioServerSocketChannel.class).bossEventLoopGroup(boss).workerEventLoopGroup(workers)
                .executor(calls).sslContext(tls).maxInboundMessageSize(config.max_message_size())
                .maxInboundMetadataSize(64 * 1024)
                .keepAliveTime(config.keepalive_time_seconds(), TimeUnit.SECONDS)
                .keepAliveTimeout(config.keepalive_timeout_seconds(), TimeUnit.SECONDS)
                .permitKeepAliveTime(config.keepalive_min_client_seconds(), TimeUnit.SECONDS)
                .permitKeepAliveWithoutCalls(true)
                .addService(ServerInterceptors.intercept(new KeyServiceEndpoint(operations, audit), authentication,
                        gate))
                .addService(ServerInterceptors.intercept(new AdminServiceEndpoint(administration, audit),
                        authentication, gate))
                .addService(ServerInterceptors.intercept(healthStatus.getHealthService(), authentication, gate))
                .addService(ServerInterceptors.intercept(ProtoReflectionServiceV1.newInstance(), authentication,
                        gate))
                .build();
        try {
            health.refresh();
            server = built.start();
        } catch (IOException | RuntimeException e) {
            stopThreads();
            throw new IOException("gRPC server not started on " + address.getHostAddress() + ":" + config.port()
                    + ": " + e.getMessage(), e);
        }
        healthRefresh = Executors.newSingleThreadScheduledExecutor(threads("openkcm-grpc-health"));
        healthRefresh.scheduleWithFixedDelay(this::refreshHealth, config.health_refresh_seconds(),
                config.health_refresh_seconds(), TimeUnit.SECONDS);
        if (logger != null) {
            logger.info("gRPC server listening on {}:{} (mutual TLS, certificates in {})",
                    address.getHostAddress(), server.getPort(), tlsFolder);
        }
        String home = context.getProperty("openkcm.home");
        if (home != null && !home.isBlank()) {
            endpointFile = Path.of(home, "data", ENDPOINT_FILE);
            writeEndpoint(address, server.getPort());
        }
    }

    /**
     * Says where this server listens (an address to connect to: loopback when it listens on every
     * address) and where its TLS folder is, so that {@code bin/keystore -c} on the same home reaches
     * it with the admin certificate, whatever port (0 included) and folder the configuration chose.
     * A failure to write it is logged: the server serves regardless.
     */
    private void writeEndpoint(InetAddress address, int port) {
        InetAddress reachable = address.isAnyLocalAddress() ? InetAddress.getLoopbackAddress() : address;
        String host = reachable.getHostAddress();
        String target = (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
        String text = "# written by the gRPC server while it runs; read by bin/keystore -c\n"
                + "target=" + target + "\n" + "tls.directory=" + tlsFolder.toAbsolutePath() + "\n";
        Path temporary = endpointFile.resolveSibling(ENDPOINT_FILE + ".tmp");
        try {
            Files.writeString(temporary, text);
            Files.move(temporary, endpointFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            endpointFile = null;
            if (logger != null) {
                logger.warn("gRPC server: {} not written, bin/keystore -c will need --connect: {}",
                        ENDPOINT_FILE, e.getMessage());
            }
        }
    }

    /**
     * Drains: new calls are answered UNAVAILABLE from now on, calls in flight get up to the drain
     * time, then whatever is left is cancelled.
     */
    @Deactivate
    void deactivate() throws InterruptedException {
        gate.close();
        if (endpointFile != null) {
            try {
                Files.deleteIfExists(endpointFile);
            } catch (IOException e) {
                // a stale file names a port nobody answers on: the client says so
            }
        }
        healthRefresh.shutdownNow();
        health.stopping();
        server.shutdown();
        boolean drained = server.awaitTermination(drainSeconds, TimeUnit.SECONDS);
        if (!drained) {
            server.shutdownNow();
            server.awaitTermination(5, TimeUnit.SECONDS);
            if (logger != null) {
                logger.warn("gRPC server stopped; {} call(s) were still running after {} s and were cancelled",
                        gate.inFlight(), drainSeconds);
            }
        }
        stopThreads();
    }

    /** The TLS folder in use (the local CA, server and admin certificates). */
    Path tlsFolder() {
        return tlsFolder;
    }

    private void refreshHealth() {
        try {
            health.refresh();
        } catch (RuntimeException e) {
            if (logger != null) {
                logger.warn("gRPC health not refreshed: {}", e.getMessage());
            }
        }
    }

    private void stopThreads() {
        if (calls != null) {
            calls.shutdownNow();
        }
        if (boss != null) {
            boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
        if (workers != null) {
            workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    private Path file(String configured, String inTlsFolder) {
        return configured.isBlank() ? tlsFolder.resolve(inTlsFolder) : Path.of(configured.trim());
    }

    private static Path tlsFolder(BundleContext context, String configured) {
        if (!configured.isBlank()) {
            return Path.of(configured.trim());
        }
        String home = context.getProperty("openkcm.home");
        if (home != null && !home.isBlank()) {
            return Path.of(home, "data", "tls");
        }
        return context.getDataFile("tls").toPath();
    }

    private static InetAddress address(String text) {
        try {
            return InetAddress.getByName(text.trim());
        } catch (UnknownHostException e) {
            throw new InvalidInputException("address", "must be an IP address or a resolvable host name");
        }
    }

    private static void require(boolean holds, String attribute, String rule) {
        if (!holds) {
            throw new InvalidInputException(attribute, rule);
        }
    }

    private static ThreadFactory threads(String prefix) {
        AtomicInteger count = new AtomicInteger();
        return runnable -> {
            Thread thread = new Thread(runnable, prefix + "-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }

    /**
     * Names the client CAs in the TLS handshake (so a client picks the right certificate) but leaves
     * the verdict to {@link ClientAuthentication}, which answers UNAUTHENTICATED to a call without a
     * valid certificate instead of a failed handshake that gives the client no reason.
     */
    private static final class ClientCaHint implements X509TrustManager {
        private final X509Certificate[] issuers;

        ClientCaHint(List<X509Certificate> cas) {
            this.issuers = cas.toArray(X509Certificate[]::new);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
            // Verified per call by ClientAuthentication.
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType)
                throws java.security.cert.CertificateException {
            throw new java.security.cert.CertificateException("a server does not verify servers");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return issuers.clone();
        }
    }
}
