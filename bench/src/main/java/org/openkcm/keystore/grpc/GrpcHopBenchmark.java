package org.openkcm.keystore.grpc;

import java.lang.annotation.Annotation;
import java.lang.reflect.Field;
import java.lang.reflect.Proxy;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import javax.security.auth.x500.X500Principal;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.audit.file.FileAuditLog;
import org.openkcm.keystore.bench.BenchKeks;
import org.openkcm.keystore.core.admin.Administration;
import org.openkcm.keystore.core.cache.CacheSettings;
import org.openkcm.keystore.core.cache.KeyCache;
import org.openkcm.keystore.core.operations.DefaultKeystoreOperations;
import org.openkcm.keystore.core.routing.LocationIndex;
import org.openkcm.keystore.core.routing.Registration;
import org.openkcm.keystore.core.routing.RoutingTable;
import org.openkcm.keystore.grpc.v1.GetMaterialRequest;
import org.openkcm.keystore.grpc.v1.KeyServiceGrpc;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.osgi.framework.BundleContext;

import io.grpc.LoadBalancerRegistry;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.internal.PickFirstLoadBalancerProvider;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;

/**
 * The cost of the gRPC hop per call, in one run: a cached L4 {@code GetMaterial} through the
 * shipped gRPC server component (mutual TLS on loopback, its executor and interceptors, the
 * audit log as configured by {@code fsync}) from a grpc-java client in the same JVM, against
 * {@code KeystoreOperations.get} of the same key called in process, and against that get wrapped
 * in the same audit records the server writes (so hop and audit can be told apart). Sample time,
 * so JMH reports p50 and p99 too; {@code -t N} sets the concurrent callers.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class GrpcHopBenchmark {
    private static final X500Principal ADMIN = LocalCertificateAuthority.ADMIN_SUBJECT;

    /** The audit log's durability: always (shipped) or never. */
    @Param({"always", "never"})
    public String fsync;

    private Path folder;
    private DefaultKeystoreOperations operations;
    private FileAuditLog audit;
    private GrpcServerComponent component;
    private ManagedChannel channel;
    private KeyServiceGrpc.KeyServiceBlockingStub keys;
    private GetMaterialRequest request;
    private KeyId id;
    private GrpcAudit inProcessAudit;
    private Caller inProcessCaller;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        folder = Files.createTempDirectory("openkcm-grpc-hop-");
        // Routed, as in the runtime (the server's health reads the backends through the router).
        operations = DefaultKeystoreOperations.of(router(), List.of(new BenchKeks()))
                .cache(new KeyCache(CacheSettings.defaults()));
        id = operations.generate(KeySpec.builder().name("bench-l4").type(KeyType.L4).algorithm("AES").keySize(256)
                .owner(Owner.node("bench-node")).build()).id();
        audit = FileAuditLog.open(folder.resolve("audit"), "always".equals(fsync));

        ClientGrantComponent grant = new ClientGrantComponent();
        grant.activate(config(ClientGrantComponent.Config.class, Map.of("subject", ADMIN.getName(), "owners",
                new String[] {"*"}, "classes", new String[] {"material", "metadata", "lifecycle", "admin"})),
                Map.of("service.pid", "bench-admin"));
        component = new GrpcServerComponent();
        inject(component, "operations", operations);
        inject(component, "administration", Administration.of(operations));
        inject(component, "auditLog", audit);
        component.addGrant(grant);
        Path tls = folder.resolve("tls");
        component.activate(noHome(), config(GrpcServerComponent.Config.class,
                Map.of("port", 0, "tls_directory", tls.toString())));
        int port = ((Server) field(component, "server")).getPort();

        // The server bundle embeds grpc-java without its META-INF/services; the client names what it needs.
        LoadBalancerRegistry.getDefaultRegistry().register(new PickFirstLoadBalancerProvider());
        channel = NettyChannelBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
                .sslContext(GrpcSslContexts.forClient()
                        .trustManager(tls.resolve(LocalCertificateAuthority.CA_CERTIFICATE).toFile())
                        .keyManager(tls.resolve(LocalCertificateAuthority.ADMIN_CERTIFICATE).toFile(),
                                tls.resolve(LocalCertificateAuthority.ADMIN_KEY).toFile())
                        .build())
                .build();
        keys = KeyServiceGrpc.newBlockingStub(channel);
        request = GetMaterialRequest.newBuilder().setId(ProtoConversion.keyId(id)).build();

        inProcessAudit = new GrpcAudit(() -> audit, Clock.systemUTC());
        inProcessCaller = new Caller(ADMIN, List.of(grant.grant()));
        grpcGetMaterial(); // the first call opens the connection (TLS handshake), outside the measurement
    }

    /** A bundle context without openkcm.home: the server then writes no endpoint file for bin/keystore -c. */
    private static BundleContext noHome() {
        return (BundleContext) Proxy.newProxyInstance(BundleContext.class.getClassLoader(),
                new Class<?>[] {BundleContext.class}, (proxy, method, args) -> null);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        component.deactivate();
        audit.close();
        try (Stream<Path> files = Files.walk(folder)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Benchmark
    public int grpcGetMaterial() {
        return keys.getMaterial(request).getMaterial().size();
    }

    @Benchmark
    public int inProcessGet() {
        try (KeyMaterial material = operations.get(id)) {
            return material.length();
        }
    }

    /** The in-process get with the records the server writes for it (started, then ok). */
    @Benchmark
    public int inProcessGetAudited() {
        return inProcessAudit.read(inProcessCaller, "get", id.toString(), () -> {
            try (KeyMaterial material = operations.get(id)) {
                return material.length();
            }
        });
    }

    private static RoutingTable router() {
        RoutingTable router = new RoutingTable(new RoutingTable.Settings("memory", Duration.ofSeconds(5), Duration.ofMinutes(1), 3),
                LocationIndex.inMemory(), Runnable::run, new RoutingTable.Listener() {
                    @Override
                    public void namesChanged(Set<String> names) {
                    }

                    @Override
                    public void healthChanged(String name, boolean up, String reason) {
                    }

                    @Override
                    public void policyRefused(String error) {
                    }
                });
        router.put(Registration.of(1, Map.of("keystore.name", "memory"), "bench", "1", new MemoryKeystore()));
        return router;
    }

    /** An instance of a configuration annotation: the given values, else each attribute's default. */
    private static <A extends Annotation> A config(Class<A> type, Map<String, Object> values) {
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (proxy, method, args) -> {
            if (values.containsKey(method.getName())) {
                return values.get(method.getName());
            }
            if (method.getName().equals("annotationType")) {
                return type;
            }
            if (method.getDefaultValue() != null) {
                return method.getDefaultValue();
            }
            throw new IllegalStateException(type.getSimpleName() + "." + method.getName() + " has no value");
        }));
    }

    /** Sets a field that the component runtime would inject. */
    private static void inject(Object target, String name, Object value) throws ReflectiveOperationException {
        Field f = target.getClass().getDeclaredField(name);
        f.setAccessible(true);
        f.set(target, value);
    }

    private static Object field(Object target, String name) throws ReflectiveOperationException {
        Field f = target.getClass().getDeclaredField(name);
        f.setAccessible(true);
        return f.get(target);
    }
}
