package org.openkcm.keystore.plugins;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import org.openkcm.keystore.plugins.proto.goplugin.Empty;
import org.openkcm.keystore.plugins.proto.goplugin.GRPCControllerGrpc;
import org.openkcm.keystore.plugins.proto.v1.ConfigureRequest;
import org.openkcm.keystore.plugins.proto.v1.KeystorePluginGrpc;

import io.grpc.LoadBalancerRegistry;
import io.grpc.ManagedChannel;
import io.grpc.internal.PickFirstLoadBalancerProvider;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;

/**
 * One running plugin process, started with go-plugin's protocol: a clean environment holding the
 * magic cookie, {@code PLUGIN_PROTOCOL_VERSIONS}, {@code PLUGIN_CLIENT_CERT} and the variables the
 * configuration passes; the handshake line read from stdout within a bound; a mutual-TLS gRPC
 * channel to the address it names; the health service "plugin" SERVING; then Configure.
 * The plugin's stderr, and any stdout after the handshake, go to the log line by line.
 */
final class PluginProcess implements AutoCloseable {
    /** go-plugin's magic cookie of keystore plugins (the Go SDK's Handshake). */
    static final String MAGIC_COOKIE_KEY = "OPENKCM_KEYSTORE_PLUGIN";
    static final String MAGIC_COOKIE_VALUE = "sealed-records-only";
    /** The service name go-plugin registers with the gRPC health service. */
    static final String HEALTH_SERVICE = "plugin";
    private static final int STDERR_LINES_KEPT = 5;
    /** The HTTP/2 window of the connection to the plugin; fixed, as the Go SDK's side is. */
    private static final int FLOW_CONTROL_WINDOW = 1 << 20;

    static {
        // grpc-java finds its load balancers with ServiceLoader, which a repackaged jar (a bundle,
        // a shaded benchmark jar) may not see or may have merged badly: register the one we use.
        LoadBalancerRegistry.getDefaultRegistry().register(new PickFirstLoadBalancerProvider());
    }

    private final Process process;
    private final ManagedChannel channel;
    private final EventLoopGroup eventLoop;
    private final KeystorePluginGrpc.KeystorePluginBlockingStub stub;
    private final PluginSettings settings;
    /** Calls under way on this process; see {@link #enter()} and {@link #retire}. */
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean retiring;

    private PluginProcess(Process process, ManagedChannel channel, EventLoopGroup eventLoop, PluginSettings settings) {
        this.process = process;
        this.channel = channel;
        this.eventLoop = eventLoop;
        this.settings = settings;
        this.stub = KeystorePluginGrpc.newBlockingStub(channel);
    }

    /**
     * Starts the plugin and waits until it serves and has its settings.
     *
     * @param environment the runtime's environment, of which only the configured names are passed
     * @throws PluginStartException saying in one line why the plugin could not be started; no process is left running
     */
    static PluginProcess start(PluginSettings settings, Map<String, String> environment, PluginLog log) {
        ExecutableCheck.verify(settings.executable(), settings.sha256());
        AutoMtls mtls = AutoMtls.generate();
        List<String> command = new ArrayList<>();
        command.add(settings.executable().toString());
        command.addAll(settings.arguments());
        ProcessBuilder builder = new ProcessBuilder(command);
        Map<String, String> env = builder.environment();
        env.clear();
        for (String name : settings.passedEnvironment()) {
            String value = environment.get(name);
            if (value != null) {
                env.put(name, value);
            }
        }
        env.put(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE);
        env.put("PLUGIN_PROTOCOL_VERSIONS", String.valueOf(settings.protocolVersion()));
        env.put("PLUGIN_CLIENT_CERT", mtls.clientCertificatePem());

        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new PluginStartException("the plugin executable " + settings.executable() + " could not be started: "
                    + e.getMessage(), e);
        }
        String prefix = "plugin " + settings.name() + " (pid " + process.pid() + "): ";
        StderrTail stderr = new StderrTail(STDERR_LINES_KEPT);
        pump(process.getErrorStream(), line -> {
            stderr.add(line);
            log.info(prefix + line);
        }, "stderr of " + prefix);
        CompletableFuture<String> firstLine = new CompletableFuture<>();
        pump(process.getInputStream(), line -> {
            if (!firstLine.complete(line)) {
                log.info(prefix + "stdout: " + line);
            }
        }, "stdout of " + prefix);
        process.onExit().thenRun(() -> firstLine.completeExceptionally(new PluginStartException(
                "the plugin exited with code " + process.exitValue() + " before its handshake" + stderr.describe())));

        EventLoopGroup eventLoop = null;
        ManagedChannel channel = null;
        try {
            Handshake handshake = Handshake.parse(awaitHandshake(firstLine, settings, stderr), settings.protocolVersion());
            eventLoop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
            channel = channel(handshake, mtls.clientContext(handshake.serverCertificate()), eventLoop);
            PluginProcess started = new PluginProcess(process, channel, eventLoop, settings);
            started.awaitServing();
            refuseUnlessClientCertificateDemanded(handshake, mtls, eventLoop, settings);
            started.configure();
            log.info(prefix + "serving on " + handshake.network() + " " + handshake.address());
            return started;
        } catch (RuntimeException e) {
            if (channel != null) {
                channel.shutdownNow();
            }
            if (eventLoop != null) {
                eventLoop.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            }
            process.destroyForcibly();
            throw e instanceof PluginStartException ? e : new PluginStartException(e.getMessage(), e);
        }
    }

    private static String awaitHandshake(CompletableFuture<String> firstLine, PluginSettings settings, StderrTail stderr) {
        try {
            String line = firstLine.get(settings.handshakeTimeout().toMillis(), TimeUnit.MILLISECONDS);
            if (!line.contains("|")) {
                throw new PluginStartException("the plugin printed " + Handshake.printable(line)
                        + " on stdout before its handshake line; a plugin must print nothing else first");
            }
            return line;
        } catch (TimeoutException e) {
            throw new PluginStartException("the plugin printed no handshake line within "
                    + settings.handshakeTimeout().toMillis() + " ms" + stderr.describe());
        } catch (ExecutionException e) {
            throw e.getCause() instanceof PluginStartException p ? p
                    : new PluginStartException("reading the plugin's handshake failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PluginStartException("interrupted while waiting for the plugin's handshake");
        }
    }

    private static ManagedChannel channel(Handshake handshake, SslContext tls, EventLoopGroup eventLoop) {
        SocketAddress address;
        NettyChannelBuilder builder;
        if (handshake.network().equals("unix")) {
            address = UnixDomainSocketAddress.of(handshake.address());
            builder = NettyChannelBuilder.forAddress(address).channelType(NioDomainSocketChannel.class);
        } else {
            int colon = handshake.address().lastIndexOf(':');
            if (colon < 0) {
                throw new PluginStartException("the plugin's tcp address " + Handshake.printable(handshake.address())
                        + " has no port");
            }
            address = new InetSocketAddress(handshake.address().substring(0, colon),
                    Integer.parseInt(handshake.address().substring(colon + 1)));
            builder = NettyChannelBuilder.forAddress(address).channelType(NioSocketChannel.class);
        }
        return builder.eventLoopGroup(eventLoop)
                .sslContext(tls)
                .overrideAuthority(AutoMtls.HOST_NAME)
                // Per call on a loopback link: no retry buffering (the host maps a failure itself, and
                // a retry would repeat a compare-and-set), and a fixed window instead of BDP pings.
                .disableRetry()
                .flowControlWindow(FLOW_CONTROL_WINDOW)
                .build();
    }

    /**
     * AutoMTLS protects the plugin only if it refuses callers without the client certificate it
     * was handed: a connection that offers none must fail. (go-plugin's server demands it.)
     */
    private static void refuseUnlessClientCertificateDemanded(Handshake handshake, AutoMtls mtls,
            EventLoopGroup eventLoop, PluginSettings settings) {
        ManagedChannel anonymous = channel(handshake, mtls.anonymousClientContext(handshake.serverCertificate()),
                eventLoop);
        try {
            HealthGrpc.newBlockingStub(anonymous)
                    .withDeadlineAfter(settings.handshakeTimeout().toMillis(), TimeUnit.MILLISECONDS)
                    .check(HealthCheckRequest.newBuilder().setService(HEALTH_SERVICE).build());
        } catch (StatusRuntimeException refused) {
            return; // as it should be: no certificate, no service
        } finally {
            anonymous.shutdownNow();
        }
        throw new PluginStartException("the plugin answers callers that present no client certificate: it does not"
                + " demand the one AutoMTLS hands it (PLUGIN_CLIENT_CERT); refused");
    }

    private void awaitServing() {
        try {
            // The first connection includes the TLS handshake, so it gets the start-up bound, not a call's.
            HealthCheckResponse.ServingStatus status = HealthGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(settings.handshakeTimeout().toMillis(), TimeUnit.MILLISECONDS)
                    .withWaitForReady()
                    .check(HealthCheckRequest.newBuilder().setService(HEALTH_SERVICE).build())
                    .getStatus();
            if (status != HealthCheckResponse.ServingStatus.SERVING) {
                throw new PluginStartException("the plugin's health service reports \"" + HEALTH_SERVICE + "\" as "
                        + status);
            }
        } catch (StatusRuntimeException e) {
            throw new PluginStartException("the plugin does not answer the gRPC health check: " + e.getStatus(), e);
        }
    }

    private void configure() {
        try {
            stub.withDeadlineAfter(settings.callTimeout().toMillis(), TimeUnit.MILLISECONDS)
                    .configure(ConfigureRequest.newBuilder().putAllSettings(settings.pluginSettings()).build());
        } catch (StatusRuntimeException e) {
            throw new PluginStartException("the plugin refused its settings: " + e.getStatus().getCode() + ": "
                    + e.getStatus().getDescription(), e);
        }
    }

    KeystorePluginGrpc.KeystorePluginBlockingStub stub() {
        return stub;
    }

    long pid() {
        return process.pid();
    }

    CompletableFuture<Process> onExit() {
        return process.onExit();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /**
     * Counts a call in, unless this process is being retired (swapped out): the caller then asks
     * the supervisor for the current process again. Every true answer needs one {@link #leave()}.
     */
    boolean enter() {
        inFlight.incrementAndGet();
        if (retiring) {
            inFlight.decrementAndGet();
            return false;
        }
        return true;
    }

    void leave() {
        inFlight.decrementAndGet();
    }

    /**
     * Stops this process once the calls it has let in have finished (or {@code bound} has passed:
     * each call has its own deadline anyway); it lets no new call in meanwhile.
     */
    void retire(Duration bound) {
        retiring = true;
        long deadline = System.nanoTime() + bound.toNanos();
        try {
            while (inFlight.get() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            close();
        }
    }

    /**
     * Stops the plugin: go-plugin's {@code GRPCController/Shutdown}, then a kill if it has not
     * exited within the configured bound.
     */
    @Override
    public void close() {
        long bound = settings.shutdownTimeout().toMillis();
        if (process.isAlive()) {
            try {
                GRPCControllerGrpc.newBlockingStub(channel).withDeadlineAfter(bound, TimeUnit.MILLISECONDS)
                        .shutdown(Empty.getDefaultInstance());
            } catch (StatusRuntimeException alreadyGoing) {
                // The plugin may close the connection as it exits; the wait below decides.
            }
        }
        channel.shutdownNow();
        try {
            if (!process.waitFor(bound, TimeUnit.MILLISECONDS)) {
                process.destroy();
                if (!process.waitFor(bound, TimeUnit.MILLISECONDS)) {
                    process.destroyForcibly().waitFor(bound, TimeUnit.MILLISECONDS);
                }
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            eventLoop.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
        }
    }

    private static void pump(InputStream stream, java.util.function.Consumer<String> lines, String name) {
        Thread thread = new Thread(() -> {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                String line;
                while ((line = reader.readLine()) != null) {
                    lines.accept(line);
                }
            } catch (IOException closed) {
                // The process is gone; nothing more to read.
            }
        }, name);
        thread.setDaemon(true);
        thread.start();
    }

    /** The last few stderr lines, to say why a plugin failed to start. */
    private static final class StderrTail {
        private final int keep;
        private final java.util.ArrayDeque<String> lines = new java.util.ArrayDeque<>();

        StderrTail(int keep) {
            this.keep = keep;
        }

        synchronized void add(String line) {
            if (lines.size() == keep) {
                lines.removeFirst();
            }
            lines.addLast(line);
        }

        synchronized String describe() {
            return lines.isEmpty() ? "" : "; its stderr ended with: " + Handshake.printable(String.join(" / ", lines));
        }
    }
}
